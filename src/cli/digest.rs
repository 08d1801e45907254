//! `canvass digest`: how deliveries went (`--status`) and what the next digest will post
//! (`--dry-run`).

use canvass::app::App;
use canvass::render::Target;

/// Without `--dry-run` (or with `--status`) the deliveries; with `--dry-run` the next digest.
pub(super) async fn digest(app: &App, dry_run: bool, status: bool) -> anyhow::Result<()> {
    if status || !dry_run {
        let rows = app.store.deliveries().await?;
        if rows.is_empty() {
            out!("no digest deliveries recorded yet");
        }
        for d in rows {
            out!("{}", delivery_line(&d));
            // Each part when the delivery is partial or took more than one attempt,
            // so an operator sees what reached the chat and what did not.
            if d.status != "delivered" || d.attempts > 1 {
                for p in &d.parts {
                    out!("{}", part_line(p));
                }
            }
        }
    }
    if dry_run {
        let mut brief = app.service.digest_now(app.service.now()).await?;
        if let Some(n) = app.service.narrator() {
            canvass::reporting::narrate(n, &app.store, brief.reports.iter_mut().collect()).await;
        }
        out!("{}", app.renderer.digest(Target::Plain, &brief)?);
    }
    Ok(())
}

/// One delivery for `digest --status`; "partial" when some parts arrived and others did not.
fn delivery_line(d: &canvass::store::Delivery) -> String {
    let some_arrived = d.parts.iter().any(|p| p.status == "delivered");
    let status = match d.status.as_str() {
        "failed" if some_arrived => "partial, missing parts will be retried".to_string(),
        "uncertain" if some_arrived => "partial, some parts uncertain".to_string(),
        "failed" => format!(
            "failed, retry at {}",
            d.next_attempt_at.format("%Y-%m-%d %H:%M UTC")
        ),
        s => s.to_string(),
    };
    format!(
        "{}  {:<28} {}{} attempts {}{}{}",
        d.period,
        d.destination,
        status,
        if d.late { " (late)" } else { "" },
        d.attempts,
        d.delivered_at
            .map(|t| format!(", delivered {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default(),
        d.last_error
            .as_ref()
            .map(|e| format!(", last error: {e}"))
            .unwrap_or_default(),
    )
}

/// One part of a delivery for `digest --status`.
fn part_line(p: &canvass::store::PartStatus) -> String {
    let what = match p.status.as_str() {
        "delivered" => "delivered",
        "failed" => "failed, will be retried",
        "uncertain" => "uncertain, not resent",
        "pending" => "not sent yet",
        other => other,
    };
    format!(
        "    {:<20} {what}, sent {} {}{}{}",
        p.label,
        p.attempts,
        if p.attempts == 1 { "time" } else { "times" },
        p.sent_at
            .map(|t| format!(", at {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default(),
        p.last_error
            .as_ref()
            .filter(|_| p.status != "delivered")
            .map(|e| format!(": {e}"))
            .unwrap_or_default(),
    )
}
