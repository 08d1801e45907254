//! Members and respondents: segments, anonymous keys, unfinished flows, `/mydata` and `/forgetme`.

use super::*;

impl Service {
    /// Segments that describe the member (not the chat): mapped roles and persona.
    pub(super) fn member_segments(&self, actor: &Actor, persona: Option<&str>) -> Vec<String> {
        let mut segs: Vec<String> = actor
            .roles
            .iter()
            .filter_map(|r| self.cfg.segments.roles.get(r).cloned())
            .collect();
        // "Prefer not to say" is no group: such members count only in the overall numbers.
        let persona = persona.filter(|p| *p != views::PERSONA_DECLINED_ID);
        if let (Some(p), Some(pc)) = (persona, &self.cfg.persona) {
            let label = pc
                .question
                .kind
                .options()
                .iter()
                .find(|o| o.id.as_str() == p)
                .map(|o| o.label.clone())
                .unwrap_or_else(|| p.to_string());
            segs.push(format!("persona: {label}"));
        }
        segs.sort();
        segs.dedup();
        segs
    }

    pub(super) fn chat_segment(&self, ev: &Inbound) -> Option<String> {
        match ev.chat.kind {
            ChatKind::Private => None,
            ChatKind::Group => Some(
                self.cfg
                    .segments
                    .chats
                    .get(&ev.chat.id)
                    .cloned()
                    .unwrap_or_else(|| {
                        format!("chat: {}", ev.chat.title.as_deref().unwrap_or(&ev.chat.id))
                    }),
            ),
        }
    }

    /// The respondent for this actor and survey, created if `create`. Anonymous surveys never
    /// create a member row: only the salted hash is stored.
    pub(super) async fn respondent(
        &self,
        tx: &mut Tx,
        s: &StoredSurvey,
        actor: &Actor,
        create: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, ServiceError> {
        let platform = actor.platform.as_str();
        let (who, persona) = if s.survey.anonymous {
            let persona = tx
                .find_member(platform, &actor.user_id)
                .await?
                .and_then(|m| m.persona);
            (
                Who::Anon(tx.anon_key(s.key, platform, &actor.user_id).await?),
                persona,
            )
        } else if create {
            let m = tx.upsert_member(actor, now).await?;
            (Who::Member(m.id), m.persona)
        } else {
            match tx.find_member(platform, &actor.user_id).await? {
                Some(m) => (Who::Member(m.id), m.persona),
                None => return Ok(None),
            }
        };
        if !create {
            return Ok(tx.find_respondent(s.key, &who).await?);
        }
        let segs = self.member_segments(actor, persona.as_deref());
        let new_member = actor
            .joined_at
            .is_some_and(|j| now - j < chrono::Duration::days(7));
        Ok(Some(
            tx.respondent(s.key, &who, platform, &segs, new_member, now)
                .await?,
        ))
    }

    /// Unfinished private flows of this actor, most recent first.
    pub(super) async fn active_flows(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, SurveyKey, flow::FlowState, DateTime<Utc>)>, ServiceError> {
        let platform = actor.platform.as_str();
        let member = tx
            .find_member(platform, &actor.user_id)
            .await?
            .map(|m| m.id);
        let mut anon = Vec::new();
        for s in self.store.surveys().await? {
            if s.survey.anonymous && s.effective_status(now) == Status::Open {
                anon.push((s.key, tx.anon_key(s.key, platform, &actor.user_id).await?));
            }
        }
        Ok(tx.active_flows(member, &anon).await?)
    }

    /// `/mydata`: everything stored about the member, read from committed data.
    pub(super) async fn my_data(&self, cx: &Ctx<'_>) -> Result<Vec<Outbound>, ServiceError> {
        let ev = cx.ev;
        let data = self
            .store
            .member_data(ev.actor.platform.as_str(), &ev.actor.user_id)
            .await?;
        let mut surveys = std::collections::BTreeMap::new();
        if let Some(d) = &data {
            let slugs = d.answers.iter().map(|a| &a.0);
            for slug in slugs.chain(d.flow_drafts.iter().map(|f| &f.0)) {
                if !surveys.contains_key(slug) {
                    if let Some(s) = self.store.survey_by_slug(slug).await? {
                        surveys.insert(slug.clone(), self.worded(s, cx.locale()).survey);
                    }
                }
            }
        }
        // The persona is stored as its option id; members see its label.
        let declined =
            data.as_ref().and_then(|d| d.persona.as_deref()) == Some(views::PERSONA_DECLINED_ID);
        let persona = data
            .as_ref()
            .and_then(|d| d.persona.as_deref())
            .filter(|_| !declined)
            .map(|id| {
                self.cfg
                    .persona
                    .as_ref()
                    .map(|p| p.worded(cx.locale()))
                    .and_then(|q| {
                        q.kind
                            .options()
                            .iter()
                            .find(|o| o.id.as_str() == id)
                            .map(|o| o.label.clone())
                    })
                    .unwrap_or_else(|| id.to_string())
            });
        Ok(vec![Outbound::Private {
            msg: Msg::new(
                "mydata",
                mydata_json(data, persona, declined, &surveys, cx.locale()),
            ),
            keyboard: Keyboard::default(),
        }])
    }

    /// `/forgetme`: deletes the member's rows; open posted polls are refreshed to the lower count.
    pub(super) async fn forget_me(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        let deleted = tx
            .forget_member(ev.actor.platform.as_str(), &ev.actor.user_id)
            .await?;
        let (surveys, total) = match &deleted {
            Some(rows) => (
                rows.iter()
                    .map(|(_, t, n)| json!({ "title": t, "answers": n }))
                    .collect::<Vec<_>>(),
                rows.iter().map(|(_, _, n)| n).sum::<i64>(),
            ),
            None => (Vec::new(), 0),
        };
        tracing::info!(answers = total, "member data deleted on request");
        let mut out = vec![Outbound::Private {
            msg: Msg::new(
                "forgotten",
                json!({ "known": deleted.is_some(), "surveys": surveys, "total": total }),
            ),
            keyboard: Keyboard::default(),
        }];
        // The deleted answers no longer count: open posted polls show the lower number.
        // A closed poll keeps its final result: editing it would show, by difference,
        // how this member voted in every poll.
        for (key, ..) in deleted.iter().flatten() {
            let open = self
                .store
                .survey_by_key(*key)
                .await?
                .is_some_and(|s| s.effective_status(now) == Status::Open);
            if open {
                out.push(Outbound::RefreshPolls { survey: *key });
            }
        }
        Ok(out)
    }
}

fn mydata_json(
    data: Option<crate::store::MemberData>,
    persona: Option<String>,
    persona_declined: bool,
    surveys: &std::collections::BTreeMap<String, Survey>,
    locale: &str,
) -> Value {
    let describe = |slug: &str, q: &str, v: &AnswerValue| {
        surveys
            .get(slug)
            .and_then(|s| s.questions.iter().find(|x| x.id.as_str() == q))
            .map(|q| v.describe(q))
            .unwrap_or_else(|| serde_json::to_string(v).unwrap_or_default())
    };
    let nf = crate::locale::Numbers::for_locale(locale);
    let day = |t: &DateTime<Utc>| nf.datetime(t);
    match data {
        None => json!({ "known": false, "answers": [], "flows": [] }),
        Some(d) => json!({
            "known": true,
            "platform": d.platform,
            "user_id": d.user_id,
            "display_name": d.display_name,
            "locale": d.locale,
            "locale_override": d.locale_override,
            "persona": persona,
            "persona_declined": persona_declined,
            "first_seen_at": d.first_seen_at.as_ref().map(day),
            "surveys": d.surveys.iter().map(|p| json!({
                "title": p.title, "segments": p.segments, "new_member": p.new_member,
                "since": p.since.as_ref().map(day),
            })).collect::<Vec<_>>(),
            "answers": d.answers.iter().zip(&d.answer_context)
                .map(|((slug, title, q, v, at, current), (chat, shown))| json!({
                "survey": slug, "title": title, "question": q,
                "answer": describe(slug, q, v),
                "at": day(at),
                "current": current,
                "chat": chat,
                "shown_at": shown.as_ref().map(day),
            })).collect::<Vec<_>>(),
            "drafts": d.drafts.iter().map(|(t, q)| json!({ "title": t, "question": q }))
                .chain(d.flow_drafts.iter().map(|(slug, t, i)| json!({
                    "title": t,
                    "question": surveys.get(slug).and_then(|s| s.questions.get(*i))
                        .map(|q| q.id.to_string()).unwrap_or_else(|| (i + 1).to_string()),
                })))
                .collect::<Vec<_>>(),
            "flows": d.flows,
            "pending_persona": d.pending_persona,
        }),
    }
}
