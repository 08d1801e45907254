//! Loads a survey's answers from the store and runs the insight engine on them; adds the
//! optional checked narrative outside any transaction. Used by the service, the digest and the
//! command line (the service calls it as `crate::reporting`).

use crate::core::answer::AnswerValue;
use crate::insight::{self, Previous, Report, Response};
use crate::narrative::{Narrator, Outcome};
use crate::store::{AnswerRow, Store, StoreError, StoredSurvey};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Groups current answer rows into one response per respondent. The digest's "as of" views
/// use it; reports read `Store::current_responses`, which must give the same responses
/// (tests/integration/read_path.rs compares them).
pub fn responses(rows: &[AnswerRow]) -> Vec<Response> {
    let mut by: BTreeMap<i64, Response> = BTreeMap::new();
    let mut ids = insight::Interner::default();
    for row in rows {
        let r = by.entry(row.respondent).or_insert_with(|| Response {
            respondent: row.respondent,
            answers: Default::default(),
            segments: row.segments.iter().map(|s| ids.get(s)).collect(),
            new_member: row.new_member,
            first_at: row.answered_at,
            seconds: None,
            locale: None,
        });
        if row.locale.is_some() {
            r.locale = row.locale.clone();
        }
        r.answers
            .insert(ids.get(&row.question_id), row.value.clone());
        if let Some(c) = &row.chat_segment {
            r.segments.insert(ids.get(c));
        }
        r.first_at = r.first_at.min(row.answered_at);
        if let Some(shown) = row.shown_at {
            let secs = (row.answered_at - shown).num_milliseconds().max(0) as f64 / 1000.0;
            r.seconds = Some(r.seconds.unwrap_or(0.0) + secs);
        }
    }
    by.into_values().collect()
}

/// One survey's report from its current responses, built by `engine`: `insight::analyse`,
/// or `insight::baseline` for a previous run that is only compared against.
async fn report_with(
    store: &Store,
    s: &StoredSurvey,
    segment: Option<&str>,
    min_segment: usize,
    now: DateTime<Utc>,
    previous: Option<Previous<'_>>,
    engine: fn(&insight::Input<'_>) -> Report,
) -> Result<Report, StoreError> {
    // Grouped per respondent in the store: the same responses as `responses` over
    // `current_answers`, without a row per answer crossing from SQLite.
    let started = std::time::Instant::now();
    let rs = store.current_responses(s.key).await?;
    let read = started.elapsed();
    let report = engine(&insight::Input {
        survey: &s.survey,
        status: s.effective_status(now),
        responses: &rs,
        min_segment,
        segment,
        previous,
        members_reached: None,
    });
    tracing::debug!(
        survey = %s.survey.id,
        respondents = rs.len(),
        read_ms = read.as_millis(),
        analyse_ms = (started.elapsed() - read).as_millis(),
        "report built"
    );
    Ok(report)
}

/// The report for a survey, compared with the survey it follows (a recurring survey's
/// previous run), if configured.
pub async fn report(
    store: &Store,
    s: &StoredSurvey,
    segment: Option<&str>,
    min_segment: usize,
    now: DateTime<Utc>,
) -> Result<Report, StoreError> {
    let before = match &s.survey.follows {
        Some(id) => match store.survey_by_slug(id.as_str()).await? {
            Some(p) if p.key != s.key => Some((
                p.survey.title.clone(),
                report_with(
                    store,
                    &p,
                    segment,
                    min_segment,
                    now,
                    None,
                    insight::baseline,
                )
                .await?,
            )),
            _ => None,
        },
        None => None,
    };
    let previous = before.as_ref().map(|(label, report)| Previous {
        label: label.clone(),
        report,
    });
    report_with(
        store,
        s,
        segment,
        min_segment,
        now,
        previous,
        insight::analyse,
    )
    .await
}

/// The members' current open-text answers to a survey: the only passages a narrative may
/// quote. Forgotten members' answers are gone from here too.
pub async fn answer_texts(store: &Store, survey: &str) -> Result<Vec<String>, StoreError> {
    let Some(s) = store.survey_by_slug(survey).await? else {
        return Ok(Vec::new());
    };
    Ok(store
        .current_answers(s.key)
        .await?
        .into_iter()
        .filter_map(|r| match r.value {
            AnswerValue::Text(t) => Some(t),
            _ => None,
        })
        .collect())
}

/// Adds a checked narrative to each report, all at once so several reports cost one time
/// budget, not one each, and returns the outcomes in report order. Call it outside any
/// transaction: it waits on the network.
pub async fn narrate(
    narrator: &Arc<Narrator>,
    store: &Store,
    reports: Vec<&mut Report>,
) -> Vec<Option<Outcome>> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, r) in reports.iter().enumerate() {
        let (n, store, report) = (narrator.clone(), store.clone(), (**r).clone());
        tasks.spawn(async move {
            let answers = match answer_texts(&store, &report.survey.id).await {
                Ok(a) => a,
                Err(e) => {
                    // Without the answers no quote can pass; the numbers still can.
                    tracing::error!(error = %e, "cannot read answers for the narrative check");
                    Vec::new()
                }
            };
            (i, n.narrate(&report, answers).await)
        });
    }
    let mut reports = reports;
    let mut outcomes = vec![None; reports.len()];
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok((i, outcome)) => {
                if let Some(r) = reports.get_mut(i) {
                    r.narrative = outcome.narrative.clone();
                }
                if let Some(o) = outcomes.get_mut(i) {
                    *o = Some(outcome);
                }
            }
            Err(e) => tracing::error!(error = %e, "narrative task failed"),
        }
    }
    outcomes
}
