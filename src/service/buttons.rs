//! Button taps: private flow steps and votes on a poll posted in a group.

use super::*;

impl Service {
    pub(super) async fn on_button(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        raw: &str,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        let payload = match Payload::decode(raw) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "refused button payload");
                return Ok(vec![Outbound::Toast(stale())]);
            }
        };
        let Some(s) = self.survey_by_key(tx, payload.survey, cx.locale()).await? else {
            tracing::warn!(survey = %payload.survey, "button for unknown survey");
            return Ok(vec![Outbound::Toast(stale())]);
        };
        let (question, input) = match payload.action {
            Action::Take => return self.start_flow(tx, cx, &s).await,
            Action::Persona { value } => return self.on_persona(tx, cx, &s, value).await,
            Action::Choose { question, value } => (question, Input::Choose(value)),
            Action::Undo { question } => (question, Input::Undo),
            Action::Done { question } => (question, Input::Done),
            Action::Skip { question } => (question, Input::Skip),
            Action::Pair {
                question,
                card,
                pick,
            } => (question, Input::Pair { card, pick }),
        };
        let question = usize::from(question);
        if s.effective_status(now) != Status::Open {
            return Ok(vec![Outbound::Toast(err(
                "survey_closed",
                json!({ "title": s.survey.title }),
            ))]);
        }
        if ev.chat.kind == ChatKind::Group {
            return self.on_inline(tx, cx, &s, question, input).await;
        }
        let Some(rid) = self.respondent(tx, &s, &ev.actor, false, now).await? else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        let Some(state) = tx.flow(rid).await? else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        self.flow_step(tx, &s, rid, state, question, input, cx.locale(), now)
            .await
    }

    pub(super) async fn on_inline(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        s: &StoredSurvey,
        question: usize,
        input: Input,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        // A tap must come from a chat where this poll was posted: payloads can be forged.
        let posted_here = tx.posted_in(s.key, ev.actor.platform, &ev.chat.id).await?;
        let Some(q) = s.survey.question(question) else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        if !posted_here || !s.survey.is_inline_poll() || question != 0 {
            tracing::warn!(survey = %s.key, "tap refused: poll not posted in this chat");
            return Ok(vec![Outbound::Toast(stale())]);
        }
        // Look the member up without creating anything: a refused tap must leave no trace.
        let existing = self.respondent(tx, s, &ev.actor, false, now).await?;
        let (current, draft) = match existing {
            Some(rid) => (
                tx.current_answer(rid, q.id.as_str()).await?,
                tx.draft(rid, q.id.as_str()).await?,
            ),
            None => (None, Default::default()),
        };
        // Inline questions have no per-member schedule, so the seed does not matter here.
        let outcome = match interact::apply(
            q,
            Context {
                current: current.as_ref(),
                draft: draft.clone(),
                mode: Mode::Inline,
                seed: 0,
            },
            input,
        ) {
            Ok(o) => o,
            Err(e) => return Ok(vec![Outbound::Toast(answer_error(&e))]),
        };
        if outcome.commit.is_none() && !outcome.retract && outcome.draft == draft {
            let ack = ack_msg(q, &outcome);
            let ack = if current.is_some() {
                self.with_tally(tx, s, q, ack, cx.locale()).await?
            } else {
                ack
            };
            return Ok(vec![Outbound::Toast(ack)]);
        }
        let Some(rid) = self.respondent(tx, s, &ev.actor, true, now).await? else {
            return Ok(vec![Outbound::Toast(try_again())]);
        };
        let chat = self.chat_segment(ev);
        if let Some(v) = &outcome.commit {
            tx.write_answer(
                rid,
                q.id.as_str(),
                v,
                chat.as_deref(),
                None,
                Some(cx.locale()),
                now,
            )
            .await?;
        } else if outcome.retract {
            tx.retract_answer(rid, q.id.as_str(), now).await?;
        }
        if outcome.draft != draft {
            tx.set_draft(rid, q.id.as_str(), &outcome.draft, now)
                .await?;
        }
        let mut ack = ack_msg(q, &outcome);
        if outcome.commit.is_some() || (current.is_some() && !outcome.retract) {
            ack = self.with_tally(tx, s, q, ack, cx.locale()).await?;
        }
        let mut out = vec![Outbound::Toast(ack)];
        if outcome.commit.is_some() || outcome.retract {
            out.push(Outbound::RefreshPolls { survey: s.key });
        }
        Ok(out)
    }

    /// With `results = "after_vote"`, a member who has an answer sees the tally in the private
    /// acknowledgement of their tap (counts and shares only, never who voted).
    pub(super) async fn with_tally(
        &self,
        tx: &mut Tx,
        s: &StoredSurvey,
        q: &Question,
        mut ack: Msg,
        locale: &str,
    ) -> Result<Msg, ServiceError> {
        if s.survey.results != ResultsVisibility::AfterVote {
            return Ok(ack);
        }
        let answers = tx.question_answers(s.key, q.id.as_str()).await?;
        let refs: Vec<&AnswerValue> = answers.iter().collect();
        ack.data["results"] = views::tallies(q, &refs, locale);
        Ok(ack)
    }
}
