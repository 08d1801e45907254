//! The source of the current time, shared by the bot and the digest; tests inject a fixed or
//! stepping clock.

use chrono::{DateTime, Utc};

/// Source of the current time; tests inject a fixed or stepping clock.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
