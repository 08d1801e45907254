//! Integration tests: the app booted on a temp SQLite file, driven through the core and the
//! console adapter, asserting on replies and rows.

mod support;

// The `demo_report` example's body, run by `promises::the_demo_report_example_writes_every_format_for_240_respondents`.
#[path = "../examples/demo_report.rs"]
#[allow(dead_code)]
mod demo_report;

#[path = "integration/abuse.rs"]
mod abuse;
#[path = "integration/anonymity.rs"]
mod anonymity;
#[path = "integration/answering.rs"]
mod answering;
#[path = "integration/bad_input.rs"]
mod bad_input;
#[path = "integration/bench.rs"]
mod bench;
#[path = "integration/bulk_import.rs"]
mod bulk_import;
#[path = "integration/console.rs"]
mod console;
#[path = "integration/deploy.rs"]
mod deploy;
#[path = "integration/digest.rs"]
mod digest;
#[path = "integration/digest_delivery.rs"]
mod digest_delivery;
#[path = "integration/discord.rs"]
mod discord;
#[path = "integration/discord_delivery.rs"]
mod discord_delivery;
#[path = "integration/discord_polls.rs"]
mod discord_polls;
#[path = "integration/disk_faults.rs"]
mod disk_faults;
#[path = "integration/fake_discord.rs"]
mod fake_discord;
#[path = "integration/fake_telegram.rs"]
mod fake_telegram;
#[path = "integration/faults.rs"]
mod faults;
#[path = "integration/ingest.rs"]
mod ingest;
#[path = "integration/insights.rs"]
mod insights;
#[path = "integration/layers.rs"]
mod layers;
#[path = "integration/locales.rs"]
mod locales;
#[path = "integration/narrative.rs"]
mod narrative;
#[path = "integration/operate.rs"]
mod operate;
#[path = "integration/platform_texts.rs"]
mod platform_texts;
#[path = "integration/privacy.rs"]
mod privacy;
#[path = "integration/promises.rs"]
mod promises;
#[path = "integration/read_only.rs"]
mod read_only;
#[path = "integration/read_path.rs"]
mod read_path;
#[path = "integration/report_formats.rs"]
mod report_formats;
#[path = "integration/report_json_golden.rs"]
mod report_json_golden;
#[path = "integration/report_reading.rs"]
mod report_reading;
#[path = "integration/results.rs"]
mod results;
#[path = "integration/small_cells.rs"]
mod small_cells;
#[path = "integration/team_output.rs"]
mod team_output;
#[path = "integration/telegram.rs"]
mod telegram;
#[path = "integration/telegram_delivery.rs"]
mod telegram_delivery;
#[path = "integration/telegram_polls.rs"]
mod telegram_polls;
#[path = "integration/transfer.rs"]
mod transfer;
