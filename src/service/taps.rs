//! The set-based path of the group commit for its common case: consecutive taps on posted
//! inline polls. A run of them is claimed, looked up and written in four round trips for the
//! whole run (`store/taps.rs`) instead of about eleven round trips to SQLite per tap;
//! the decisions are the per-event path's (`buttons.rs`, `on_inline`), taken in memory.
//! Everything else, and a whole run whose statements failed, goes through the per-event path.

use super::*;
use crate::store::{TapKey, TapState, TapWrite};

/// A tap the set-based path applies: the button of an open, named (not anonymous) inline
/// poll posted in the group chat it came from, whose results are not shown after each vote.
pub(super) struct Tap<'a> {
    pub(super) ev: &'a Inbound,
    pub(super) now: DateTime<Utc>,
    /// The poll, as the transaction read it when the tap was taken into its run.
    pub(super) survey: StoredSurvey,
    pub(super) input: Input,
}

impl Service {
    /// `work` as a tap of the set-based path, or `None` for the per-event path. Reads only
    /// what the transaction caches (the survey and where it was posted); a store error here
    /// leaves the event to the per-event path, which meets it again and rolls it back alone.
    pub(super) async fn as_tap<'a>(
        &self,
        tx: &mut Tx,
        work: &'a Work,
        now: DateTime<Utc>,
    ) -> Option<Tap<'a>> {
        let Work::Event {
            ev,
            claim_only: false,
        } = work
        else {
            return None;
        };
        let Body::Button(raw) = &ev.body else {
            return None;
        };
        if ev.chat.kind != ChatKind::Group {
            return None;
        }
        let payload = Payload::decode(raw).ok()?;
        let input = match payload.action {
            Action::Choose { question: 0, value } => Input::Choose(value),
            Action::Undo { question: 0 } => Input::Undo,
            Action::Done { question: 0 } => Input::Done,
            Action::Skip { question: 0 } => Input::Skip,
            Action::Pair {
                question: 0,
                card,
                pick,
            } => Input::Pair { card, pick },
            _ => return None,
        };
        let s = tx.survey_by_key(payload.survey).await.ok()??;
        let usual = !s.survey.anonymous
            && s.survey.results != ResultsVisibility::AfterVote
            && s.effective_status(now) == Status::Open
            && s.survey.is_inline_poll()
            && s.survey.question(0).is_some();
        if !usual
            || !tx
                .posted_in(s.key, ev.actor.platform, &ev.chat.id)
                .await
                .ok()?
        {
            return None;
        }
        Some(Tap {
            ev,
            now,
            survey: s,
            input,
        })
    }

    /// Applies a run of taps. `Ok(None)`: a statement failed and the run was rolled back, so
    /// the caller applies its events one at a time; `Err`: not even that rollback worked.
    pub(super) async fn apply_taps(
        &self,
        tx: &mut Tx,
        taps: &[Tap<'_>],
    ) -> Result<Option<Vec<Handled>>, StoreError> {
        match self.try_taps(tx, taps).await {
            Ok(done) => {
                self.set_based_taps
                    .fetch_add(taps.len() as u64, std::sync::atomic::Ordering::Relaxed);
                Ok(Some(done))
            }
            Err(e) => {
                tracing::warn!(error = %e, taps = taps.len(), "set-based taps failed; applying them one by one");
                tx.rollback_taps().await?;
                Ok(None)
            }
        }
    }

    async fn try_taps(&self, tx: &mut Tx, taps: &[Tap<'_>]) -> Result<Vec<Handled>, StoreError> {
        let ids: Vec<(&str, DateTime<Utc>)> = taps
            .iter()
            .map(|t| (t.ev.event_id.as_str(), t.now))
            .collect();
        let claimed = tx.claim_taps(&ids).await?;
        let mut live = Vec::with_capacity(taps.len());
        let mut keys = Vec::with_capacity(taps.len());
        for ((i, t), new) in taps.iter().enumerate().zip(&claimed) {
            // `as_tap` took only polls with a first question.
            if let (true, Some(q)) = (*new, t.survey.survey.question(0)) {
                live.push((i, t));
                keys.push(TapKey {
                    platform: t.ev.actor.platform.as_str(),
                    user_id: &t.ev.actor.user_id,
                    survey: t.survey.key,
                    question: q.id.as_str(),
                });
            }
        }
        let states = tx.tap_states(&keys).await?;
        // Decide every tap in memory first: what it writes and what its member is told.
        let mut decided = Vec::with_capacity(live.len());
        for ((_, t), state) in live.iter().zip(&states) {
            decided.push(self.decide(t, state));
        }
        let writes: Vec<TapWrite<'_>> = decided
            .iter()
            .zip(&live)
            .zip(&states)
            .filter_map(|((d, (_, t)), state)| d.write.as_ref().map(|w| w.as_write(t, state)))
            .collect();
        tx.write_taps(&writes).await?;
        let mut out: Vec<Handled> = taps.iter().map(|_| Handled::Duplicate).collect();
        for ((i, _), d) in live.iter().zip(decided) {
            if let Some(slot) = out.get_mut(*i) {
                *slot = Handled::Replies(d.replies);
            }
        }
        Ok(out)
    }

    /// What `on_inline` does with one tap, given what its member has stored.
    fn decide(&self, t: &Tap<'_>, state: &TapState) -> Decided {
        let (ev, s) = (t.ev, &t.survey);
        let chosen = state
            .member
            .as_ref()
            .and_then(|m| m.locale_override.clone());
        let locale = self.resolve_locale(chosen.as_deref(), ev.actor.locale.as_deref());
        let worded = self.localised(&s.survey, &locale);
        let survey = worded.as_ref().unwrap_or(&s.survey);
        let Some(q) = survey.question(0) else {
            return Decided::replies(vec![Outbound::Toast(stale())], &locale);
        };
        let outcome = match interact::apply(
            q,
            Context {
                current: state.current.as_ref(),
                draft: state.draft.clone(),
                mode: Mode::Inline,
                seed: 0,
            },
            t.input.clone(),
        ) {
            Ok(o) => o,
            Err(e) => return Decided::replies(vec![Outbound::Toast(answer_error(&e))], &locale),
        };
        let ack = ack_msg(q, &outcome);
        if outcome.commit.is_none() && !outcome.retract && outcome.draft == state.draft {
            return Decided::replies(vec![Outbound::Toast(ack)], &locale);
        }
        let persona = state.member.as_ref().and_then(|m| m.persona.as_deref());
        let write = Write {
            segments: self.member_segments(&ev.actor, persona),
            new_member: ev
                .actor
                .joined_at
                .is_some_and(|j| t.now - j < chrono::Duration::days(7)),
            chat_segment: self.chat_segment(ev),
            question: q.id.to_string(),
            draft: (outcome.draft != state.draft).then(|| outcome.draft.clone()),
            locale: locale.clone(),
            retract: outcome.retract,
            answer: outcome.commit.clone(),
        };
        let mut out = vec![Outbound::Toast(ack)];
        if outcome.commit.is_some() || outcome.retract {
            out.push(Outbound::RefreshPolls { survey: s.key });
        }
        let mut d = Decided::replies(out, &locale);
        d.write = Some(write);
        d
    }
}

/// One tap decided: its replies (in its member's locale) and what it writes, if anything.
struct Decided {
    replies: Vec<Outbound>,
    write: Option<Write>,
}

impl Decided {
    fn replies(mut out: Vec<Outbound>, locale: &str) -> Self {
        for o in &mut out {
            o.localise(locale);
        }
        Self {
            replies: out,
            write: None,
        }
    }
}

/// The owned part of a tap's `TapWrite`.
struct Write {
    segments: Vec<String>,
    new_member: bool,
    chat_segment: Option<String>,
    question: String,
    draft: Option<crate::core::interact::Draft>,
    locale: String,
    retract: bool,
    answer: Option<AnswerValue>,
}

impl Write {
    fn as_write<'a>(&'a self, t: &Tap<'a>, before: &'a TapState) -> TapWrite<'a> {
        let actor = &t.ev.actor;
        TapWrite {
            platform: actor.platform.as_str(),
            user_id: &actor.user_id,
            display_name: actor.display_name.as_deref(),
            platform_locale: actor.locale.as_deref(),
            survey: t.survey.key,
            question: &self.question,
            segments: &self.segments,
            new_member: self.new_member,
            chat_segment: self.chat_segment.as_deref(),
            answer: self.answer.as_ref(),
            retract: self.retract,
            draft: self.draft.as_ref(),
            locale: &self.locale,
            now: t.now,
            before,
        }
    }
}
