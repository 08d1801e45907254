//! The end-to-end ingestion benchmark: taps injected into the fake Telegram Bot API, read by the
//! real teloxide client, committed by the bot and confirmed with `answerCallbackQuery`. Shared by
//! the smoke test and `cargo bench --bench telegram_e2e`.

use super::telegram::{FakeTelegram, TOKEN, TgChat, TgUser};
use super::{TestApp, spawn_app};
use canvass::config::{Secret, TelegramConfig};
use canvass::platform::telegram::Telegram;
use std::time::Instant;

const GROUP: i64 = -100_900;

/// What one run measured.
pub(crate) struct E2e {
    pub members: usize,
    pub seconds: f64,
    pub per_second: f64,
    /// Current answers in the database afterwards (for `fake_ceiling`, the confirmations the
    /// fake recorded).
    pub stored: usize,
}

/// `members` members each tap once on a posted poll, all queued at once (an announcement's
/// burst); measures from the first update offered to the last tap confirmed.
pub(crate) async fn telegram_taps(members: usize) -> E2e {
    let t: TestApp = spawn_app().await;
    let fake = FakeTelegram::start().await;
    let group = TgChat::group(GROUP, "Bench");
    fake.add_chat(&group);
    let cfg = TelegramConfig {
        token_env: "UNUSED".into(),
        api_url: fake.url.clone(),
        poll_refresh_ms: 1_000,
    };
    let adapter = Telegram::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &cfg,
        &Secret::new(TOKEN),
    )
    .await
    .expect("adapter starts");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(adapter.run(async move {
        let _ = stopped.await;
    }));
    fake.send_text(&TgUser::new(1000, "Pat"), &group, "/post lunch");
    let poll = fake
        .wait_for("the poll to be posted", |f| {
            f.sent().into_iter().find(|m| m.chat_id == GROUP)
        })
        .await;
    let buttons = fake.buttons(GROUP, poll.message_id);
    let before = fake.calls("AnswerCallbackQuery");
    let start = Instant::now();
    for m in 0..members {
        let (_, data) = &buttons[m % buttons.len()];
        let user = TgUser::new(20_000 + m as i64, &format!("Member {m}"));
        fake.tap(&user, &group, poll.message_id, data);
    }
    // Each wait only has to see progress, so a long run never hits the fake's wait limit.
    let mut done = 0;
    while done < members {
        done = fake
            .wait_for("taps to be confirmed", |f| {
                let n = f.calls("AnswerCallbackQuery") - before;
                (n > done).then_some(n)
            })
            .await;
    }
    let seconds = start.elapsed().as_secs_f64();
    let stored = t.current("lunch", "food").await.len();
    let _ = stop.send(());
    let _ = task.await;
    E2e {
        members,
        seconds,
        per_second: members as f64 / seconds.max(1e-9),
        stored,
    }
}

/// The fake's own ceiling: the same taps read and confirmed by a bare HTTP client (one
/// `getUpdates` at a time, up to 64 `answerCallbackQuery` calls in flight, as the adapter
/// sends them), with no bot and no database. `telegram_taps` cannot be faster than this, so
/// its figure measures the bot only while it stays well below.
pub(crate) async fn fake_ceiling(members: usize) -> E2e {
    use futures_util::StreamExt as _;
    let fake = FakeTelegram::start().await;
    let group = TgChat::group(GROUP, "Bench");
    fake.add_chat(&group);
    for m in 0..members {
        let user = TgUser::new(20_000 + m as i64, &format!("Member {m}"));
        fake.tap(&user, &group, 1, "x");
    }
    let http = reqwest::Client::new();
    let base = format!(
        "{}bot{TOKEN}",
        fake.url.trim_end_matches('/').to_string() + "/"
    );
    let start = Instant::now();
    let (mut offset, mut done) = (0i64, 0usize);
    while done < members {
        let body: serde_json::Value = http
            .post(format!("{base}/getUpdates"))
            .json(&serde_json::json!({ "offset": offset, "timeout": 0 }))
            .send()
            .await
            .expect("getUpdates")
            .json()
            .await
            .expect("updates");
        let updates = body["result"].as_array().cloned().unwrap_or_default();
        let ids: Vec<String> = updates
            .iter()
            .filter_map(|u| u["callback_query"]["id"].as_str().map(str::to_string))
            .collect();
        if let Some(last) = updates.last().and_then(|u| u["update_id"].as_i64()) {
            offset = last + 1;
        }
        done += ids.len();
        futures_util::stream::iter(ids)
            .map(|id| {
                let (http, url) = (http.clone(), format!("{base}/answerCallbackQuery"));
                async move {
                    http.post(url)
                        .json(&serde_json::json!({ "callback_query_id": id }))
                        .send()
                        .await
                        .expect("answerCallbackQuery");
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<()>>()
            .await;
    }
    let seconds = start.elapsed().as_secs_f64();
    E2e {
        members,
        seconds,
        per_second: members as f64 / seconds.max(1e-9),
        stored: fake.calls("AnswerCallbackQuery"),
    }
}
