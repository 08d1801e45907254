//! The closer: edits posted poll messages to their final result once their survey closed by
//! its `closes_at`, at start (a restart after the deadline) and when the next deadline arrives.
//! Which messages show their final state is stored (`postings.finalised_at`, recorded by the
//! refreshers after the edit), so each is finalised once, across restarts. Time comes from the
//! bot's clock.

use crate::core::event::Platform;
use crate::core::ids::SurveyKey;
use crate::platform::refresh::Handle;
use crate::service::Service;
use std::collections::HashMap;
use std::time::Duration;
use tokio::time::Instant;

/// How often the closer looks again without a nearer deadline, and how long a survey it
/// handed to the refresher waits before it is handed again (its edit failed).
const RECHECK: Duration = Duration::from_secs(30);
/// How often one survey is handed to the refresher in one run before the closer gives up
/// (its message was deleted, say); the next start tries again.
const MAX_TRIES: u32 = 10;

/// Starts the closer for `platform`'s messages; abort the handle when the adapter stops.
pub fn spawn(
    service: Service,
    platform: Platform,
    refresher: Handle,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tried: HashMap<SurveyKey, (u32, Instant)> = HashMap::new();
        // A new posting may carry a nearer deadline.
        let mut posted = service.postings_recorded();
        loop {
            let wait = match service.closing_polls(platform).await {
                Ok((due, next)) => {
                    for key in due {
                        let t = tried.entry(key).or_insert((0, Instant::now()));
                        if t.0 == 0 || (t.0 < MAX_TRIES && t.1.elapsed() >= RECHECK) {
                            t.0 += 1;
                            t.1 = Instant::now();
                            tracing::info!(
                                survey = %key,
                                platform = platform.as_str(),
                                "poll closed: showing its final result"
                            );
                            refresher.mark(key);
                        }
                    }
                    next.map(|t| (t - service.now()).to_std().unwrap_or_default())
                        .unwrap_or(RECHECK)
                        .clamp(Duration::from_millis(50), RECHECK)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the closer could not read the posted polls");
                    RECHECK
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                r = posted.changed() => if r.is_err() {
                    tokio::time::sleep(wait).await;
                },
            }
        }
    })
}
