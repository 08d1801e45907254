//! Builds a period's brief from the store. The period is (previous slot, slot]: a survey open
//! during it that got answers in it is analysed as of the slot and compared with the last
//! digest delivered before the slot (no comparison when there was none), under one BH
//! correction; a survey open during it without answers in it is named as quiet, without
//! numbers. `preview` is the brief the next scheduled digest will post, as of now.

use crate::config::DigestConfig;
use crate::core::survey::Status;
use crate::insight::digest::{Brief, Cadence, correct_across};
use crate::insight::{self, Previous, Report};
use crate::store::{Reader, StoreError, StoredSurvey};
use chrono::{DateTime, Utc};

/// The period a brief covers: its key, after when (`start`, exclusive), up to which slot
/// (inclusive), whether it is late, what the change lines compare with, and its cadence.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub period: &'a str,
    pub start: DateTime<Utc>,
    pub slot: DateTime<Utc>,
    pub late: bool,
    /// The slot of the last digest delivered before this one; None: no "since the last
    /// digest" line.
    pub since: Option<DateTime<Utc>>,
    pub cadence: Cadence,
}

/// The brief the next scheduled digest will post, with the answers given so far: the period
/// from the latest slot (exclusive) to now, compared with the last digest delivered before
/// the next slot, headed with the next slot. Without a schedule: the last seven days, weekly.
pub async fn preview<W: Fn(StoredSurvey) -> StoredSurvey + ?Sized>(
    reader: &Reader,
    cfg: &DigestConfig,
    schedule: Option<&super::schedule::Schedule>,
    min_segment: usize,
    now: DateTime<Utc>,
    word: &W,
) -> Result<Brief, StoreError> {
    let next = schedule.and_then(|s| s.next_after(now));
    let start = schedule
        .and_then(|s| s.latest(now))
        .unwrap_or(now - chrono::Duration::days(7));
    let period = match (schedule, next) {
        (Some(s), Some(next)) => s.period_key(next),
        _ => now.format("%Y-%m-%d %H:%M UTC").to_string(),
    };
    let since = reader.last_delivered_slot(next.unwrap_or(now)).await?;
    compose(
        reader,
        cfg,
        min_segment,
        Window {
            period: &period,
            start,
            slot: now,
            late: false,
            since,
            cadence: schedule.map(|s| s.cadence()).unwrap_or_default(),
        },
        word,
    )
    .await
}

/// Rewords a stored survey for the team's locale (from `bot.toml` translations).
pub type Wording = dyn Fn(StoredSurvey) -> StoredSurvey + Send + Sync;

/// Surveys the digest covers: configured ones (or all) that were open at some point of the
/// period; those with answers in it get a section, the others are named as quiet. Each survey's history is read while the previous one is
/// analysed on a blocking thread, so the store and the engine use both cores.
pub async fn compose<W: Fn(StoredSurvey) -> StoredSurvey + ?Sized>(
    reader: &Reader,
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
        since,
        cadence,
    } = window;
    let mut sections = Vec::new();
    let mut pending: Option<tokio::task::JoinHandle<Section>> = None;
    for s in reader.surveys().await? {
        if !cfg.surveys.is_empty() && !cfg.surveys.iter().any(|id| id == s.survey.id.as_str()) {
            continue;
        }
        // Open at some point of (start, slot]: posted (a stored draft never was), not closed
        // before the period, and its schedule (if any) overlapping the period.
        let active = s.created_at <= slot
            && s.status != Status::Draft
            && s.closed_at.is_none_or(|c| c >= start)
            && s.survey.opens_at.is_none_or(|o| o <= slot)
            && s.survey.closes_at.is_none_or(|c| c > start);
        if !active {
            continue;
        }
        // Quiet when no answer current at the slot was given after `start`. Otherwise the
        // two views (as of the slot, as of the last digest) are read grouped per respondent
        // in SQLite, never as a row per answer.
        let answers = reader.answers_given(s.key, start, slot).await?;
        let s = word(s);
        let section = if answers == 0 {
            None
        } else {
            // Both views are read at once, each in its own read transaction, on the store's
            // two read connections: SQLite builds one while the other is decoded.
            let before = async {
                match since {
                    Some(t) => reader.responses_as_of(s.key, t).await,
                    None => Ok(Vec::new()),
                }
            };
            Some(tokio::try_join!(
                reader.responses_as_of(s.key, slot),
                before
            )?)
        };
        if let Some(p) = pending.take() {
            sections.extend(join(p).await);
        }
        pending = Some(tokio::task::spawn_blocking(move || match section {
            None => Section::Quiet(s.survey.title.clone()),
            Some((now, before)) => analyse(&s, &now, &before, min_segment, slot, answers),
        }));
    }
    if let Some(p) = pending.take() {
        sections.extend(join(p).await);
    }
    let (mut reports, mut answers, mut quiet_surveys) = (Vec::new(), 0, Vec::new());
    for s in sections {
        match s {
            Section::Answered(r, n) => {
                reports.push(*r);
                answers += n;
            }
            Section::Quiet(title) => quiet_surveys.push(title),
        }
    }
    let respondents = reports.iter().map(|r| r.survey.respondents).sum();
    let tests = correct_across(&mut reports);
    Ok(Brief {
        period: period.to_string(),
        late,
        reports,
        respondents,
        tests,
        cadence,
        answers,
        quiet_surveys,
    })
}

/// One survey's part of a brief.
enum Section {
    /// Answered during the period: its report as of the slot, and how many answers the
    /// period brought.
    Answered(Box<Report>, usize),
    /// Open during the period but not answered in it: its title.
    Quiet(String),
}

async fn join(task: tokio::task::JoinHandle<Section>) -> Option<Section> {
    match task.await {
        Ok(r) => Some(r),
        Err(e) => {
            // A panic in the engine loses one survey's section, not the digest.
            tracing::error!(error = %e, "a digest section failed; it is left out");
            None
        }
    }
}

/// One survey's section of a period that brought `answers`: the report as of the slot
/// (`now_rs`), compared with the view as of the last digest (`before_rs`, empty when there
/// was none or nobody had answered by then).
fn analyse(
    s: &StoredSurvey,
    now_rs: &[insight::Response],
    before_rs: &[insight::Response],
    min_segment: usize,
    slot: DateTime<Utc>,
    answers: usize,
) -> Section {
    let status = s.survey.effective_status(s.status, slot);
    let before = (!before_rs.is_empty()).then(|| {
        insight::baseline(&insight::Input {
            survey: &s.survey,
            status,
            responses: before_rs,
            min_segment,
            segment: None,
            previous: None,
            members_reached: None,
        })
    });
    let report = insight::analyse(&insight::Input {
        survey: &s.survey,
        status,
        responses: now_rs,
        min_segment,
        segment: None,
        previous: before.as_ref().map(|r| Previous {
            label: "the last digest".into(),
            report: r,
        }),
        members_reached: None,
    });
    Section::Answered(Box::new(report), answers)
}
