//! The weekly digest: its schedule, the brief it posts, and delivery bookkeeping that posts
//! exactly once per period and destination.

pub mod compose;
pub mod runner;
pub mod schedule;

pub use runner::{Runner, Sink};
