//! Integration tests: the app booted on a temp SQLite file, driven through the core and the
//! console adapter, asserting on replies and rows.

mod support;

#[path = "integration/abuse.rs"]
mod abuse;
#[path = "integration/answering.rs"]
mod answering;
#[path = "integration/bad_input.rs"]
mod bad_input;
#[path = "integration/bench.rs"]
mod bench;
#[path = "integration/console.rs"]
mod console;
#[path = "integration/digest.rs"]
mod digest;
#[path = "integration/discord.rs"]
mod discord;
#[path = "integration/fake_discord.rs"]
mod fake_discord;
#[path = "integration/fake_telegram.rs"]
mod fake_telegram;
#[path = "integration/faults.rs"]
mod faults;
#[path = "integration/insights.rs"]
mod insights;
#[path = "integration/locales.rs"]
mod locales;
#[path = "integration/narrative.rs"]
mod narrative;
#[path = "integration/privacy.rs"]
mod privacy;
#[path = "integration/report_formats.rs"]
mod report_formats;
#[path = "integration/telegram.rs"]
mod telegram;
#[path = "integration/telegram_delivery.rs"]
mod telegram_delivery;
#[path = "integration/transfer.rs"]
mod transfer;
