//! Captures the log lines a test's own thread writes, and waits for one to appear.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Log text written while a test runs on the current thread; each write wakes `wait_for`.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<(Mutex<Vec<u8>>, Notify)>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.0.lock() {
            v.extend_from_slice(buf);
        }
        self.0.1.notify_waiters();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub(crate) fn text(&self) -> String {
        self.0
            .0
            .lock()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    }

    /// Captures this thread's log events that `filter` (an `EnvFilter` directive such as
    /// `"warn"` or `"canvass=warn"`) lets through; a current-thread runtime runs every task
    /// here.
    pub(crate) fn capture(filter: &str) -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// The log text once it contains `needle`, woken by each write; fails after `limit`.
    pub(crate) async fn wait_for(&self, needle: &str, limit: Duration) -> String {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // Registered before the check, so a write in between still wakes it.
            let written = self.0.1.notified();
            let text = self.text();
            if text.contains(needle) {
                return text;
            }
            let woken = tokio::time::timeout_at(deadline, written).await.is_ok();
            assert!(woken, "the log never said {needle:?}: {}", self.text());
        }
    }
}
