//! Builds a period's brief from the store: the surveys open or closed during the period, each
//! analysed as of the slot and compared with the previous slot, under one BH correction.

use crate::bot::insights::responses;
use crate::config::DigestConfig;
use crate::core::survey::Status;
use crate::insight::digest::{Brief, correct_across};
use crate::insight::{self, Previous, Report};
use crate::store::{AnswerRow, Store, StoreError, StoredSurvey};
use chrono::{DateTime, Utc};

/// The period a brief covers: its key, from when, up to which slot, and whether it is late.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub period: &'a str,
    pub start: DateTime<Utc>,
    pub slot: DateTime<Utc>,
    pub late: bool,
}

/// Rewords a stored survey for the team's locale (from `bot.toml` translations).
pub type Wording = dyn Fn(StoredSurvey) -> StoredSurvey + Send + Sync;

/// Surveys the digest covers: configured ones (or all) that were open at some point of the
/// period and have answers by its end. Each survey's history is read while the previous one is
/// analysed on a blocking thread, so the store and the engine use both cores.
pub async fn compose<W: Fn(StoredSurvey) -> StoredSurvey + ?Sized>(
    store: &Store,
    cfg: &DigestConfig,
    min_segment: usize,
    window: Window<'_>,
    word: &W,
) -> Result<Brief, StoreError> {
    let Window {
        period,
        start,
        slot,
        late,
    } = window;
    let mut reports = Vec::new();
    let mut pending: Option<tokio::task::JoinHandle<Option<Report>>> = None;
    for s in store.surveys().await? {
        if !cfg.surveys.is_empty() && !cfg.surveys.iter().any(|id| id == s.survey.id.as_str()) {
            continue;
        }
        let active = s.created_at <= slot
            && s.closed_at.is_none_or(|c| c >= start)
            && s.survey
                .effective_status(Status::Open, start.max(s.created_at))
                != Status::Draft;
        if !active {
            continue;
        }
        let history = store.answer_history(s.key).await?;
        let s = word(s);
        if let Some(p) = pending.take() {
            reports.extend(join(p).await);
        }
        pending = Some(tokio::task::spawn_blocking(move || {
            analyse(&s, &history, min_segment, start, slot)
        }));
    }
    if let Some(p) = pending.take() {
        reports.extend(join(p).await);
    }
    let respondents = reports.iter().map(|r| r.survey.respondents).sum();
    let tests = correct_across(&mut reports);
    Ok(Brief {
        period: period.to_string(),
        late,
        reports,
        respondents,
        tests,
    })
}

async fn join(task: tokio::task::JoinHandle<Option<Report>>) -> Option<Report> {
    match task.await {
        Ok(r) => r,
        Err(e) => {
            // A panic in the engine loses one survey's section, not the digest.
            tracing::error!(error = %e, "a digest section failed; it is left out");
            None
        }
    }
}

/// One survey's section: the report as of the slot, compared with the view as of the period
/// start. None when it had no answers by the slot.
fn analyse(
    s: &StoredSurvey,
    history: &[(AnswerRow, Option<DateTime<Utc>>)],
    min_segment: usize,
    start: DateTime<Utc>,
    slot: DateTime<Utc>,
) -> Option<Report> {
    // One read of the history gives both views: as of the slot and as of the period start.
    let as_of = |t: DateTime<Utc>| {
        history
            .iter()
            .filter(|(row, gone)| row.answered_at <= t && gone.is_none_or(|g| g > t))
            .map(|(row, _)| row.clone())
            .collect::<Vec<_>>()
    };
    let now_rows = as_of(slot);
    if now_rows.is_empty() {
        return None;
    }
    let now_rs = responses(&now_rows);
    drop(now_rows);
    let before_rs = responses(&as_of(start));
    let status = s.survey.effective_status(s.status, slot);
    let before = (!before_rs.is_empty()).then(|| {
        insight::analyse(&insight::Input {
            survey: &s.survey,
            status,
            responses: &before_rs,
            min_segment,
            segment: None,
            previous: None,
            members_reached: None,
        })
    });
    Some(insight::analyse(&insight::Input {
        survey: &s.survey,
        status,
        responses: &now_rs,
        min_segment,
        segment: None,
        previous: before.as_ref().map(|r| Previous {
            label: "the last digest".into(),
            report: r,
        }),
        members_reached: None,
    }))
}
