//! The platform-neutral core: surveys, answers, the answering flows and commands. Pure code:
//! no I/O, and no platform, SQL or template crates (see ARCHITECTURE.md).

pub mod answer;
pub mod cells;
pub mod command;
pub mod flow;
pub mod ids;
pub mod import;
pub mod interact;
pub mod pairs;
pub mod payload;
pub mod survey;
pub mod usage;
