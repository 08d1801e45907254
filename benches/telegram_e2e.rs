//! `cargo bench --bench telegram_e2e`: taps per second through the fake Telegram Bot API and
//! the real teloxide client, at the sizes BENCHMARKS.md records.

#[path = "../tests/support/mod.rs"]
mod support;

#[tokio::main]
async fn main() {
    println!("| members tapping at once | seconds | taps/s | stored |\n|---|---|---|---|");
    for members in [200, 2_000] {
        let r = support::e2e::telegram_taps(members).await;
        println!(
            "| {} | {:.2} | {:.0} | {} |",
            r.members, r.seconds, r.per_second, r.stored
        );
    }
    // What the fake itself can serve, with a bare client and no bot, beside the figures above.
    println!("\n| fake's own ceiling: members | seconds | taps/s |\n|---|---|---|");
    for members in [200, 2_000] {
        let r = support::e2e::fake_ceiling(members).await;
        println!("| {} | {:.2} | {:.0} |", r.members, r.seconds, r.per_second);
    }
}
