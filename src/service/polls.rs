//! Polls posted in a chat: `/poll`, `/post`, the posted message and its tallies, and which
//! closed polls still wait for their final edit.

use super::*;
use crate::core::usage::Problem;

impl Service {
    /// The current message of a posted survey (counter, status, buttons), for refreshing.
    pub async fn poll_view(&self, key: SurveyKey) -> Result<Option<(Msg, Keyboard)>, ServiceError> {
        let Some(s) = self.store.survey_by_key(key).await? else {
            return Ok(None);
        };
        let team = &self.cfg.team.locale;
        let s = self.worded(s, team);
        let status = s.effective_status(self.clock.now());
        let (n, results) = self.poll_results(key, &s.survey, status, team).await?;
        let (msg, kb) = views::posted(key, &s.survey, status, n, results, team);
        Ok(Some(in_locale(msg, kb, team)))
    }

    /// For the closer: the surveys with a message on `platform` not yet edited to its final
    /// state that are closed now, and the earliest `closes_at` among the others.
    pub async fn closing_polls(
        &self,
        platform: Platform,
    ) -> Result<(Vec<SurveyKey>, Option<DateTime<Utc>>), ServiceError> {
        let now = self.clock.now();
        let mut due = Vec::new();
        let mut next: Option<DateTime<Utc>> = None;
        for key in self.store.unfinalised_postings(platform).await? {
            let Some(s) = self.store.survey_by_key(key).await? else {
                continue;
            };
            if s.effective_status(now) == Status::Closed {
                due.push(key);
            } else if let Some(c) = s.survey.closes_at {
                next = Some(next.map_or(c, |n| n.min(c)));
            }
        }
        Ok((due, next))
    }

    /// How many people answered a posted survey, and the tallies of an inline poll when
    /// members may see them (`results = "live"`, or closed). Both come from one read of the
    /// current answers when there are tallies: two reads could straddle a commit of a burst
    /// and show counts that do not add up to the people beside them.
    pub(super) async fn poll_results(
        &self,
        key: SurveyKey,
        survey: &crate::core::survey::Survey,
        status: Status,
        locale: &str,
    ) -> Result<(i64, Option<Value>), ServiceError> {
        let q = match survey.questions.first() {
            Some(q) if survey.is_inline_poll() && views::results_visible(survey, status) => q,
            _ => return Ok((self.store.respondent_count(key).await?, None)),
        };
        let rows = self.store.current_answers(key).await?;
        let answers: Vec<_> = rows
            .iter()
            .filter(|r| r.question_id == q.id.as_str())
            .map(|r| &r.value)
            .collect();
        Ok((
            views::people(&rows),
            Some(views::tallies(q, &answers, locale)),
        ))
    }

    pub(super) async fn quick_poll(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        question: &str,
        options: Vec<String>,
        flags: PollFlags,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let now = cx.now;
        let closes_at = flags.closes.map(|d| d.resolve(now));
        if closes_at.is_some_and(|c| c <= now) {
            return Ok(vec![reply(err(
                "usage",
                usage_data(Problem::DeadlinePassed),
            ))]);
        }
        let longest = chrono::Duration::days(crate::core::command::MAX_POLL_DAYS);
        if closes_at.is_some_and(|c| c > now + longest) {
            return Ok(vec![reply(err(
                "usage",
                usage_data(Problem::PollTooFar {
                    max_days: crate::core::command::MAX_POLL_DAYS,
                }),
            ))]);
        }
        let build = || -> Result<Survey, crate::core::survey::DefinitionError> {
            let options = make_choices(options.into_iter().map(|l| (None, l)).collect())?;
            let kind = match flags.max {
                Some(max) if max > 1 => QuestionKind::Multi {
                    options,
                    max_choices: max,
                },
                _ => QuestionKind::Single { options },
            };
            let q = Question::new(
                QuestionId::parse("q")
                    .map_err(|e| crate::core::survey::DefinitionError::new("id", e.to_string()))?,
                question,
                kind,
                false,
            )?;
            let title: String = question.chars().take(120).collect();
            Survey {
                id: SurveyId::parse("poll")
                    .map_err(|e| crate::core::survey::DefinitionError::new("id", e.to_string()))?,
                title,
                intro: None,
                questions: vec![q],
                anonymous: flags.anonymous,
                opens_at: None,
                closes_at,
                results: flags.results.unwrap_or_default(),
                follows: None,
                headline: None,
            }
            .validated()
        };
        let mut survey = match build() {
            Ok(s) => s,
            Err(e) => {
                return Ok(vec![reply(err(
                    "usage",
                    usage_data(Problem::BadPoll {
                        detail: e.to_string(),
                    }),
                ))]);
            }
        };
        // A readable, unique id: the question's first words plus a counter if taken.
        let base: String = slugify(question, "poll").chars().take(30).collect();
        let base = base.trim_end_matches('-').to_string();
        let mut slug = base.clone();
        let mut n = 2;
        while tx.slug_taken(&slug).await? {
            slug = format!("{base}-{n}");
            n += 1;
        }
        survey.id = match SurveyId::parse(&slug) {
            Ok(id) => id,
            Err(_) => return Ok(vec![reply(err("try_again", json!({})))]),
        };
        let key = tx
            .insert_survey(&survey, Status::Open, "command", now)
            .await?;
        tracing::info!(survey = %survey.id, "quick poll created");
        self.post(tx, cx, key, &survey).await
    }

    pub(super) async fn post(
        &self,
        tx: &mut Tx,
        cx: &Ctx<'_>,
        key: SurveyKey,
        survey: &Survey,
    ) -> Result<Vec<Outbound>, ServiceError> {
        let (ev, now) = (cx.ev, cx.now);
        tx.reserve_posting(key, ev.actor.platform, &ev.chat.id, now)
            .await?;
        // A group message is read by everyone: it speaks the team's locale, like its refreshes.
        let team = self.cfg.team.locale.clone();
        let worded = self
            .localised(survey, &team)
            .unwrap_or_else(|| survey.clone());
        let (n, results) = self.poll_results(key, &worded, Status::Open, &team).await?;
        let (msg, keyboard) = views::posted(key, &worded, Status::Open, n, results, &team);
        let (msg, keyboard) = in_locale(msg, keyboard, &team);
        Ok(vec![Outbound::PostPoll {
            survey: key,
            msg,
            keyboard,
        }])
    }
}

/// The `/poll` flags besides the question and options.
pub(super) struct PollFlags {
    pub(super) max: Option<usize>,
    pub(super) anonymous: bool,
    pub(super) results: Option<ResultsVisibility>,
    pub(super) closes: Option<command::Deadline>,
}

/// The `error` template's data for a `/poll` usage problem.
fn usage_data(problem: Problem) -> Value {
    let mut data = problem.data();
    data["command"] = json!("poll");
    data
}
