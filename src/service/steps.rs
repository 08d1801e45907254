//! The private multi-question flow (`core::flow` driven by the store): starting a survey, the persona question, each step.

use super::*;

impl Service {
    pub(super) async fn start_flow(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        s: &StoredSurvey,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        let to_member = |msg: Msg, keyboard: Keyboard| {
            if ev.chat.kind == ChatKind::Private {
                Outbound::Reply { msg, keyboard }
            } else {
                Outbound::Private { msg, keyboard }
            }
        };
        match s.effective_status(now) {
            Status::Open => {}
            Status::Closed => {
                return Ok(vec![to_member(
                    err("survey_closed", json!({ "title": s.survey.title })),
                    Keyboard::default(),
                )]);
            }
            Status::Draft if !self.team_view(ev) => {
                return Ok(vec![to_member(
                    unknown_survey(&s.survey.id),
                    Keyboard::default(),
                )]);
            }
            Status::Draft => {
                return Ok(vec![to_member(
                    err(
                        "not_open_yet",
                        json!({ "title": s.survey.title, "opens_at": Value::Null }),
                    ),
                    Keyboard::default(),
                )]);
            }
        }
        // Ask the persona question once, before the member's first non-anonymous survey.
        if let (Some(p), false) = (&self.cfg.persona, s.survey.anonymous) {
            let m = tx.upsert_member(&ev.actor, now).await?;
            if m.persona.is_none() {
                tx.set_pending_persona(m.id, s.key, now).await?;
                let (msg, kb) = views::persona(s.key, &p.worded(cx.locale()));
                return Ok(vec![to_member(msg, kb)]);
            }
        }
        let Some(rid) = self.respondent(tx, s, &ev.actor, true, now).await? else {
            return Ok(vec![to_member(try_again(), Keyboard::default())]);
        };
        let step = flow::start(tx.flow(rid).await?, now);
        tx.set_flow(rid, &step.state, now).await?;
        let mut out = Vec::new();
        if step.state.index == 0 {
            out.push(to_member(
                Msg::new(
                    "flow_intro",
                    json!({ "title": s.survey.title, "intro": s.survey.intro,
                            "questions": s.survey.questions.len(), "anonymous": s.survey.anonymous }),
                ),
                Keyboard::default(),
            ));
        }
        let (msg, kb) = self.ask_view(tx, s, rid, &step.state).await?;
        out.push(to_member(msg, kb));
        Ok(out)
    }

    pub(super) async fn ask_view(
        &self,
        tx: &mut Tx,
        s: &StoredSurvey,
        rid: i64,
        state: &flow::FlowState,
    ) -> Result<(Msg, Keyboard), ServiceError> {
        let Some(q) = s.survey.question(state.index) else {
            return Ok((
                Msg::new("flow_done", json!({ "title": s.survey.title })),
                Keyboard::default(),
            ));
        };
        let current = tx
            .current_answer(rid, q.id.as_str())
            .await?
            .map(|v| v.describe(q));
        let seed = views::member_seed(&s.survey, q, &rid.to_string());
        Ok(views::ask(
            s.key,
            &s.survey,
            state.index,
            &state.draft,
            current,
            seed,
        ))
    }

    pub(super) async fn on_private_text(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        text: &str,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        let flows = self.active_flows(tx, &ev.actor, now).await?;
        let Some((rid, sid, state, _)) = flows.into_iter().next() else {
            return Ok(vec![reply(Msg::new("no_flow", json!({})))]);
        };
        let Some(s) = self.survey_by_key(tx, sid, cx.locale()).await? else {
            return Ok(vec![reply(stale())]);
        };
        let Some(q) = s.survey.question(state.index) else {
            return Ok(vec![reply(stale())]);
        };
        let Some(input) = flow::text_input(q, text) else {
            return Ok(vec![reply(err("use_buttons", json!({})))]);
        };
        let qi = state.index;
        self.flow_step(tx, &s, rid, state, qi, input, cx.locale(), now)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn flow_step(
        &self,
        tx: &mut Tx,
        s: &StoredSurvey,
        rid: i64,
        state: flow::FlowState,
        question: usize,
        input: Input,
        locale: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outbound>, ServiceError> {
        if s.effective_status(now) != Status::Open {
            return Ok(vec![Outbound::Toast(err(
                "survey_closed",
                json!({ "title": s.survey.title }),
            ))]);
        }
        let Some(q) = s.survey.question(question) else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        let current = tx.current_answer(rid, q.id.as_str()).await?;
        let seed = views::member_seed(&s.survey, q, &rid.to_string());
        let shown_at = state.shown_at;
        let step = match flow::advance(
            &s.survey,
            state,
            question,
            input,
            current.as_ref(),
            seed,
            now,
        ) {
            Ok(step) => step,
            Err(FlowError::Answer(e)) => return Ok(vec![Outbound::Toast(answer_error(&e))]),
            Err(FlowError::NotCurrent | FlowError::AlreadyFinished) => {
                return Ok(vec![Outbound::Toast(stale())]);
            }
        };
        let mut out = Vec::new();
        if let Some((_, outcome)) = &step.answered {
            if let Some(v) = &outcome.commit {
                tx.write_answer(rid, q.id.as_str(), v, None, shown_at, Some(locale), now)
                    .await?;
            }
            out.push(Outbound::Toast(ack_msg(q, outcome)));
        }
        tx.set_flow(rid, &step.state, now).await?;
        match step.next {
            Next::Ask(_) | Next::Stay(_) => {
                let (msg, kb) = self.ask_view(tx, s, rid, &step.state).await?;
                out.push(Outbound::Reply { msg, keyboard: kb });
            }
            Next::Finished => out.push(reply(Msg::new(
                "flow_done",
                json!({ "title": s.survey.title, "id": s.survey.id.as_str(),
                        "anonymous": s.survey.anonymous,
                        "results_after_close": matches!(s.survey.results,
                            ResultsVisibility::AfterClose | ResultsVisibility::AfterVote) }),
            ))),
        }
        Ok(out)
    }

    pub(super) async fn on_persona(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        s: &StoredSurvey,
        value: u8,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        let Some(p) = &self.cfg.persona else {
            return Ok(vec![Outbound::Toast(stale())]);
        };
        // Translations keep the options' order, so the index picks the same option.
        let worded = p.worded(cx.locale());
        let (id, ack) = if value == views::PERSONA_DECLINED {
            (
                views::PERSONA_DECLINED_ID.to_string(),
                json!({ "kind": "persona_declined" }),
            )
        } else {
            let Some(choice) = worded.kind.options().get(usize::from(value)) else {
                return Ok(vec![Outbound::Toast(stale())]);
            };
            (
                choice.id.to_string(),
                json!({ "kind": "persona", "answer": choice.label }),
            )
        };
        let m = tx.upsert_member(&ev.actor, now).await?;
        tx.set_persona(m.id, &id).await?;
        let pending = tx.take_pending_persona(m.id).await?;
        let mut out = vec![Outbound::Toast(Msg::new("ack", ack))];
        let target = match pending {
            Some(k) => self.survey_by_key(tx, k, cx.locale()).await?,
            None => Some(s.clone()),
        };
        if let Some(t) = target {
            out.extend(self.start_flow(tx, cx, &t).await?);
        }
        Ok(out)
    }
}
