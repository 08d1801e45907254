//! The digest: its schedule, the brief it posts, and delivery bookkeeping that posts each part
//! of it at most once per period and destination.

pub mod compose;
pub mod ledger;
pub mod runner;

/// Pure, so it lives in `crates/canvass-core`; re-exported under its old path.
pub use canvass_core::schedule;
pub use ledger::{BoxError, DigestError, Ledger};
pub use runner::{Part, Runner, SendError, Sink, SinkError, Tick};
