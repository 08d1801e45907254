//! Chat commands: parsing, the team check, and the read-only commands run outside the writer.

use super::*;

impl Service {
    pub(super) async fn on_text(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        text: &str,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let ev = cx.ev;
        match command::parse(text) {
            Err(CommandError::Unknown(name)) => {
                Ok(vec![reply(err("unknown_command", json!({ "name": name })))])
            }
            Err(CommandError::Usage { command, problem }) => {
                let mut data = problem.data();
                data["command"] = json!(command);
                let out = vec![reply(err("usage", data))];
                // A team command's mistake is team output too: private outside team chats.
                let team = command::TEAM_COMMANDS.contains(&command);
                Ok(if team && !self.team_output_here(ev) {
                    out.into_iter().map(Outbound::privately).collect()
                } else {
                    out
                })
            }
            Ok(Some(cmd)) => {
                if cmd.needs_team() && !self.is_team(&ev.actor) {
                    tracing::info!(command = cmd.name(), "refused: not product team");
                    return Ok(vec![reply(err(
                        "not_team",
                        json!({ "command": cmd.name() }),
                    ))]);
                }
                let out = self.on_command(tx, cx, cmd.clone()).await?;
                Ok(self.route_team(ev, &cmd, out))
            }
            Ok(None) if ev.chat.kind == ChatKind::Private => {
                self.on_private_text(tx, cx, text).await
            }
            // Group chatter is none of our business.
            Ok(None) => Ok(Vec::new()),
        }
    }

    pub(super) async fn on_command(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        cmd: Command,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        let team = self.is_team(&ev.actor);
        match cmd {
            Command::Help => Ok(vec![reply(Msg::new(
                "help",
                json!({ "team": team, "platform": ev.actor.platform.as_str() }),
            ))]),
            Command::Start(None) => {
                let surveys = self.open_surveys(now, cx.locale()).await?;
                Ok(vec![reply(Msg::new(
                    "welcome",
                    json!({ "team": team, "surveys": surveys }),
                ))])
            }
            Command::Start(Some(id)) => {
                let Some(s) = self.survey_by_slug(tx, id.as_str(), cx.locale()).await? else {
                    return Ok(vec![reply(unknown_survey(&id))]);
                };
                // A draft's title is the team's until it opens: to anyone else it does not exist.
                if s.effective_status(now) == Status::Draft && !self.team_view(ev) {
                    return Ok(vec![reply(unknown_survey(&id))]);
                }
                if ev.chat.kind == ChatKind::Group {
                    let kb = Keyboard {
                        rows: vec![vec![Button {
                            label: Label::Template(Msg::new("button_take", json!({}))),
                            action: ButtonAction::DeepLink {
                                survey: s.survey.id.to_string(),
                            },
                        }]],
                    };
                    return Ok(vec![Outbound::Reply {
                        msg: Msg::new("go_private", json!({ "title": s.survey.title })),
                        keyboard: kb,
                    }]);
                }
                self.start_flow(tx, cx, &s).await
            }
            Command::Cancel => {
                let flows = self.active_flows(tx, &ev.actor, now).await?;
                match flows.first() {
                    Some((rid, sid, state, _)) => {
                        let mut state = state.clone();
                        state.finished = true;
                        tx.set_flow(*rid, &state, now).await?;
                        let (title, id) = self
                            .survey_by_key(tx, *sid, cx.locale())
                            .await?
                            .map(|s| (s.survey.title, s.survey.id.to_string()))
                            .unwrap_or_default();
                        Ok(vec![reply(Msg::new(
                            "cancelled",
                            json!({ "title": title, "id": id }),
                        ))])
                    }
                    None => {
                        // The persona question asked before a survey counts as that survey.
                        let member = tx
                            .find_member(ev.actor.platform.as_str(), &ev.actor.user_id)
                            .await?;
                        let pending = match member {
                            Some(m) => tx.take_pending_persona(m.id).await?,
                            None => None,
                        };
                        match pending {
                            Some(sid) => {
                                let (title, id) = self
                                    .survey_by_key(tx, sid, cx.locale())
                                    .await?
                                    .map(|s| (s.survey.title, s.survey.id.to_string()))
                                    .unwrap_or_default();
                                Ok(vec![reply(Msg::new(
                                    "cancelled",
                                    json!({ "title": title, "id": id }),
                                ))])
                            }
                            None => Ok(vec![reply(err("nothing_to_cancel", json!({})))]),
                        }
                    }
                }
            }
            Command::MyData => self.my_data(cx).await,
            Command::ForgetMe => self.forget_me(tx, cx).await,
            Command::Surveys => self.read_command(cx, Command::Surveys).await,
            Command::Show(id) => {
                let s = self.survey_by_slug(tx, id.as_str(), cx.locale()).await?;
                match s {
                    // A closed survey stays visible: members see that it closed, and its
                    // result when they may.
                    Some(s) if self.team_view(ev) || s.effective_status(now) != Status::Draft => {
                        // Members see tallies of polls answered in the open only: a survey
                        // taken privately shows none (one respondent's tally is their answers).
                        // With tallies, the count of people comes from the same read.
                        let tallied = (s.survey.is_inline_poll() || self.team_view(ev))
                            && views::results_visible(&s.survey, s.effective_status(now));
                        let rows = match tallied {
                            true => Some(self.store.current_answers(s.key).await?),
                            false => None,
                        };
                        let n = match &rows {
                            Some(rows) => views::people(rows),
                            None => self.store.respondent_count(s.key).await?,
                        };
                        let mut data = survey_json(&s, n, now, cx.locale(), self.team_view(ev));
                        if let Some(rows) = rows {
                            for (q, v) in s
                                .survey
                                .questions
                                .iter()
                                .zip(data["questions"].as_array_mut().into_iter().flatten())
                            {
                                if matches!(
                                    q.kind,
                                    QuestionKind::Pairwise { .. } | QuestionKind::OpenText { .. }
                                ) {
                                    continue;
                                }
                                let answers: Vec<&AnswerValue> = rows
                                    .iter()
                                    .filter(|r| r.question_id == q.id.as_str())
                                    .map(|r| &r.value)
                                    .collect();
                                v["tally"] = views::tallies(q, &answers, cx.locale());
                            }
                        }
                        Ok(vec![reply(Msg::new("survey", data))])
                    }
                    _ => Ok(vec![reply(unknown_survey(&id))]),
                }
            }
            Command::Poll {
                question,
                options,
                max,
                anonymous,
                results,
                closes,
            } => {
                let flags = PollFlags {
                    max,
                    anonymous,
                    results,
                    closes,
                };
                self.quick_poll(tx, cx, &question, options, flags).await
            }
            Command::Post(id) => {
                let Some(s) = tx.survey_by_slug(id.as_str()).await? else {
                    return Ok(vec![reply(unknown_survey(&id))]);
                };
                match s.effective_status(now) {
                    Status::Closed => {
                        return Ok(vec![reply(err(
                            "survey_closed",
                            json!({ "title": s.survey.title }),
                        ))]);
                    }
                    Status::Draft if s.survey.opens_at.is_some_and(|o| now < o) => {
                        return Ok(vec![reply(err(
                            "not_open_yet",
                            json!({ "title": s.survey.title, "opens_at": views::when(s.survey.opens_at, cx.locale()) }),
                        ))]);
                    }
                    Status::Draft => tx.set_status(s.key, Status::Open, now).await?,
                    Status::Open => {}
                }
                self.post(tx, cx, s.key, &s.survey).await
            }
            Command::Close(id) => {
                let Some(s) = self.survey_by_slug(tx, id.as_str(), cx.locale()).await? else {
                    return Ok(vec![reply(unknown_survey(&id))]);
                };
                if s.status == Status::Closed {
                    return Ok(vec![reply(err(
                        "survey_closed",
                        json!({ "title": s.survey.title }),
                    ))]);
                }
                tx.set_status(s.key, Status::Closed, now).await?;
                let n = self.store.respondent_count(s.key).await?;
                Ok(vec![
                    reply(Msg::new(
                        "closed",
                        json!({ "title": s.survey.title, "id": s.survey.id.as_str(), "respondents": n }),
                    )),
                    Outbound::RefreshPolls { survey: s.key },
                ])
            }
            cmd @ (Command::Insights { .. } | Command::Export(_) | Command::Digest) => {
                self.read_command(cx, cmd).await
            }
            Command::Language(choice) => self.on_language(tx, cx, choice).await,
        }
    }

    /// The survey list, reports, exports and the digest read only committed data and can take seconds, so they
    /// run outside the writer's transaction and never hold up members' answers.
    pub(super) async fn read_command(
        &self,
        cx: &Ctx<'_>,
        cmd: Command,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        let team = self.team_view(ev);
        match cmd {
            Command::Surveys => {
                let all: Vec<(StoredSurvey, i64)> = self
                    .store
                    .list_surveys()
                    .await?
                    .into_iter()
                    .map(|(s, n)| (self.worded(s, cx.locale()), n))
                    .collect();
                let list: Vec<Value> = all
                    .iter()
                    .filter(|(s, _)| team || s.effective_status(now) == Status::Open)
                    .map(|(s, n)| {
                        json!({
                            "id": s.survey.id.as_str(),
                            "title": s.survey.title,
                            "status": s.effective_status(now).as_str(),
                            "respondents": n,
                            "questions": s.survey.questions.len(),
                            "anonymous": s.survey.anonymous,
                        })
                    })
                    .collect();
                Ok(vec![reply(Msg::new(
                    "surveys",
                    json!({ "team": team, "surveys": list }),
                ))])
            }
            Command::Insights { survey, segment } => {
                let Some(s) = self.store.survey_by_slug(survey.as_str()).await? else {
                    return Ok(vec![reply(unknown_survey(&survey))]);
                };
                // Team output: worded in the team's locale.
                let s = self.worded(s, &self.cfg.team.locale);
                let report = crate::reporting::report(
                    &self.store,
                    &s,
                    segment.as_deref(),
                    self.cfg.segments.min_size,
                    now,
                )
                .await?;
                let chart_png = (self.charts)(&report);
                Ok(vec![Outbound::Report {
                    report: Box::new(report),
                    chart_png,
                    to: To::Chat,
                }])
            }
            Command::Export(survey) => {
                let Some(s) = self.store.survey_by_slug(survey.as_str()).await? else {
                    return Ok(vec![reply(unknown_survey(&survey))]);
                };
                let bytes = match crate::transfer::export_csv(&self.store, survey.as_str()).await {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::error!(error = %e, "export failed");
                        return Ok(vec![reply(try_again())]);
                    }
                };
                let n = self.store.respondent_count(s.key).await?;
                Ok(vec![Outbound::File {
                    name: format!("{}.csv", s.survey.id),
                    mime: "text/csv",
                    bytes,
                    caption: Msg::new(
                        "export_caption",
                        json!({ "title": s.survey.title, "id": s.survey.id.as_str(),
                                "respondents": n, "anonymous": s.survey.anonymous }),
                    ),
                    to: To::Chat,
                }])
            }
            Command::Digest => {
                let brief = self.digest_now(now).await?;
                let chart_png = brief.reports.iter().find_map(|r| (self.charts)(r));
                Ok(vec![Outbound::Digest {
                    brief: Box::new(brief),
                    chart_png,
                    to: To::Chat,
                }])
            }
            _ => Ok(Vec::new()),
        }
    }

    /// `/digest`: the brief the next scheduled digest will post, with the answers so far (the
    /// period from the latest slot to now, compared with the last digest delivered); without
    /// `[digest]`, the last seven days on a weekly cadence. `canvass digest --dry-run` is the same.
    pub async fn digest_now(
        &self,
        now: DateTime<Utc>,
    ) -> Result<crate::insight::digest::Brief, ServiceError> {
        let default = crate::config::DigestConfig {
            schedule: "mon 09:00".into(),
            timezone: "UTC".into(),
            telegram_chats: Vec::new(),
            discord_channels: Vec::new(),
            surveys: Vec::new(),
        };
        let cfg = self.cfg.digest.clone().unwrap_or(default);
        let schedule =
            self.cfg.digest.as_ref().and_then(|d| {
                crate::digest::schedule::Schedule::parse(&d.schedule, &d.timezone).ok()
            });
        Ok(crate::digest::compose::preview(
            &self.store.reader(),
            &cfg,
            schedule.as_ref(),
            self.cfg.segments.min_size,
            now,
            &|s| self.worded(s, &self.cfg.team.locale),
        )
        .await?)
    }

    pub(super) async fn open_surveys(
        &self,
        now: DateTime<Utc>,
        locale: &str,
    ) -> Result<Vec<Value>, ServiceError> {
        Ok(self
            .store
            .surveys()
            .await?
            .into_iter()
            .filter(|s| s.effective_status(now) == Status::Open)
            .map(|s| self.worded(s, locale))
            .map(|s| json!({ "id": s.survey.id.as_str(), "title": s.survey.title }))
            .collect())
    }
}

/// `/survey ID`. Question types and option ids are for the team; members see texts and labels.
fn survey_json(s: &StoredSurvey, n: i64, now: DateTime<Utc>, locale: &str, team: bool) -> Value {
    json!({
        "team": team,
        "id": s.survey.id.as_str(),
        "title": s.survey.title,
        "intro": s.survey.intro,
        "status": s.effective_status(now).as_str(),
        "anonymous": s.survey.anonymous,
        "respondents": n,
        "results": s.survey.results.as_str(),
        "closed": s.effective_status(now) == Status::Closed,
        "opens_at": views::when(s.survey.opens_at, locale),
        "closes_at": views::when(s.survey.closes_at, locale),
        "questions": s.survey.questions.iter().map(|q| json!({
            "id": q.id.as_str(),
            "text": q.text,
            "type": q.kind.type_name(),
            "optional": q.optional,
            "options": q.kind.options().iter().map(|o| json!({"id": o.id.as_str(), "label": o.label})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}
