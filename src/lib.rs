//! canvass: polls and surveys for communities on Discord and Telegram, turned into
//! decision-ready product insight. See ARCHITECTURE.md for the map.

pub mod app;
pub mod bench;
pub mod bot;
pub mod config;
pub mod core;
pub mod digest;
pub mod insight;
pub mod locale;
pub mod narrative;
pub mod operate;
pub mod platform;
pub mod privacy;
pub mod render;
pub mod store;
pub mod transfer;
