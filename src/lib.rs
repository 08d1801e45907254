//! canvass: polls and surveys for communities on Discord and Telegram, turned into
//! decision-ready product insight. See ARCHITECTURE.md for the map.

pub mod app;
pub mod bench;
pub(crate) mod clock;
pub mod digest;
pub(crate) mod narrative;
pub mod operate;
pub mod platform;
pub mod privacy;
pub mod render;
pub mod reporting;
pub mod service;
pub mod store;
pub mod transfer;

// The pure layer and the config are crates of their own (`crates/`), so the compiler keeps
// platform, SQL and template crates out of them; here they keep their old paths.

/// The pure domain from `crates/canvass-core`, with the adapter boundary at its old path
/// `core::event`.
pub mod core {
    pub use canvass_core::core::*;
    pub use canvass_core::event;
}
/// `bot.toml`, from `crates/canvass-config`.
pub use canvass_config as config;
pub use canvass_core::{insight, locale};
