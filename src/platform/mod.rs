//! Platform adapters: translate platform input into core events and render core replies
//! back. Nothing else happens here.

pub mod closer;
pub mod console;
pub mod discord;
pub mod refresh;
pub mod telegram;
