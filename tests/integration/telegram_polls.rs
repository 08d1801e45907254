//! Polls for members on Telegram, end to end through teloxide and the fake Bot API: each
//! `results` mode before and after close, the `/poll` flags, and the automatic close across a
//! restart (the message edited to its final result exactly once).

use crate::support::telegram::*;
use crate::support::*;
use canvass::config::{Secret, TelegramConfig};
use canvass::platform::telegram::Telegram;
use tokio::sync::oneshot;

const GROUP: i64 = -100_700;

fn group_chat() -> TgChat {
    TgChat::group(GROUP, "Community")
}

fn pm() -> TgUser {
    TgUser::new(1000, "Pat")
}

struct Running {
    t: TestApp,
    fake: FakeTelegram,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(t: TestApp, fake: FakeTelegram) -> Running {
    let cfg = TelegramConfig {
        token_env: "UNUSED".into(),
        api_url: fake.url.clone(),
        poll_refresh_ms: 100,
    };
    let adapter = Telegram::start(
        t.app.service.clone(),
        t.app.renderer.clone(),
        &cfg,
        &Secret::new(TOKEN),
    )
    .await
    .expect("adapter starts");
    let (stop, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(adapter.run(async move {
        let _ = rx.await;
    }));
    Running {
        t,
        fake,
        stop,
        task,
    }
}

async fn boot() -> Running {
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    start(spawn_app().await, fake).await
}

impl Running {
    async fn stop(self) -> (TestApp, FakeTelegram) {
        let _ = self.stop.send(());
        self.task.await.expect("adapter task");
        (self.t, self.fake)
    }

    /// `/poll ARGS` in the group as the team; the poll message id and its button data.
    async fn poll(&self, args: &str) -> (i64, Vec<String>) {
        let before = self.fake.sent().len();
        self.fake
            .send_text(&pm(), &group_chat(), &format!("/poll {args}"));
        let m = self
            .fake
            .wait_for("the poll to be posted", |f| {
                f.sent()
                    .into_iter()
                    .skip(before)
                    .find(|m| m.chat_id == GROUP)
            })
            .await;
        let data = self
            .fake
            .buttons(GROUP, m.message_id)
            .into_iter()
            .map(|b| b.1)
            .collect();
        (m.message_id, data)
    }

    async fn tap(&self, who: &TgUser, message_id: i64, data: &str) -> String {
        let (_, id) = self.fake.tap(who, &group_chat(), message_id, data);
        self.fake
            .wait_for("the tap to be answered", |f| {
                f.callback_answers().into_iter().find(|a| a.id == id)
            })
            .await
            .text
            .unwrap_or_default()
    }

    /// Waits until the poll message's text contains `needle`; returns the text.
    async fn shows(&self, message_id: i64, needle: &str) -> String {
        let what = format!("the poll to show {needle:?}");
        self.fake
            .wait_for(&what, |f| {
                f.message_text(GROUP, message_id)
                    .filter(|t| t.contains(needle))
            })
            .await
    }

    /// Edits of one message that show it closed.
    fn final_edits(&self, message_id: i64) -> usize {
        self.fake
            .edits()
            .iter()
            .filter(|e| {
                e.chat_id == GROUP
                    && e.message_id == message_id
                    && e.text.as_deref().is_some_and(|t| t.contains("Closed ·"))
            })
            .count()
    }
}

/// Photos posted in the group (the charts of closed polls).
fn chart_posts(f: &FakeTelegram) -> usize {
    f.uploads()
        .iter()
        .filter(|u| {
            u.method == "SendPhoto" && u.chat_id == GROUP && u.bytes.starts_with(b"\x89PNG")
        })
        .count()
}

#[tokio::test]
async fn each_results_mode_before_and_after_close_on_telegram() {
    let r = boot().await;
    let ana = TgUser::new(2001, "Ana");
    let ben = TgUser::new(2002, "Ben");
    // team_only first: the later polls' waits give a wrongly sent chart time to show.
    let mut charts = 0;
    for (i, mode) in ["team_only", "after_close", "live", "after_vote"]
        .iter()
        .enumerate()
    {
        let (msg, buttons) = r
            .poll(&format!("Snack {i}? | Chips | Fruit --results {mode}"))
            .await;
        assert_eq!(buttons.len(), 2);
        let t1 = r.tap(&ana, msg, &buttons[0]).await;
        let t2 = r.tap(&ben, msg, &buttons[0]).await;
        assert!(t1.starts_with("Saved: Chips"), "{t1}");
        // after_vote: the member who voted sees the tally in the tap's answer, privately.
        assert_eq!(
            t2.contains("Results so far: Chips 2 (100%)"),
            *mode == "after_vote",
            "{mode}: {t2}"
        );
        let open = r.shows(msg, "2 people have answered").await;
        assert_eq!(
            open.contains("Chips: 2 (100%) ██████████"),
            *mode == "live",
            "{mode}: {open}"
        );
        let promise = match *mode {
            "after_close" => "Results are shown when the poll closes.",
            "live" => "Results update as people vote.",
            "after_vote" => "Vote to see the results",
            _ => "Results go only to the product team.",
        };
        assert!(open.contains(promise), "{mode}: {open}");
        r.fake
            .send_text(&pm(), &group_chat(), &format!("/close snack-{i}"));
        let closed = r.shows(msg, "Closed · 2 people answered.").await;
        assert!(!closed.contains("Tap another"), "{mode}: {closed}");
        assert_eq!(
            closed.contains("Chips: 2 (100%) ██████████"),
            *mode != "team_only",
            "{mode}: {closed}"
        );
        if *mode == "team_only" {
            assert!(
                closed.contains("Results go only to the product team."),
                "{closed}"
            );
        }
        assert!(
            !closed.contains("Ana") && !closed.contains("Ben"),
            "{closed}"
        );
        assert!(
            r.fake.buttons(GROUP, msg).is_empty(),
            "{mode}: buttons removed"
        );
        // The result is also posted as a chart, once, where members may see it.
        if *mode != "team_only" {
            charts += 1;
            r.fake
                .wait_for("the result's chart", |f| {
                    (chart_posts(f) >= charts).then_some(())
                })
                .await;
        }
        assert_eq!(chart_posts(&r.fake), charts, "{mode}");
    }
    r.stop().await;
}

#[tokio::test]
async fn poll_flags_on_telegram_and_an_anonymous_poll_names_no_voter() {
    let r = boot().await;
    let (msg, buttons) = r
        .poll("Which features? | Sync | Search | Themes --max 2 --anonymous --results live --closes in 2d")
        .await;
    let posted = r.fake.message_text(GROUP, msg).unwrap_or_default();
    assert!(posted.contains("Tap up to 2 options"), "{posted}");
    assert!(
        posted.contains("Anonymous: nobody sees who voted."),
        "{posted}"
    );
    assert!(posted.contains("closes "), "{posted}");
    assert!(posted.contains("Poll id: which-features"), "{posted}");
    let ana = TgUser::new(2001, "Ana");
    r.tap(&ana, msg, &buttons[0]).await;
    r.tap(&ana, msg, &buttons[1]).await;
    // Multi-choice: one member, two options.
    let shown = r.shows(msg, "Search: 1 (100%) ██████████").await;
    assert!(shown.contains("Sync: 1 (100%) ██████████"), "{shown}");
    assert!(shown.contains("1 person has answered"), "{shown}");
    assert!(!shown.contains("Ana"), "{shown}");
    assert_eq!(
        r.t.scalar("SELECT COUNT(*) FROM members WHERE platform_user_id = '2001'")
            .await,
        0,
        "an anonymous vote makes no member row"
    );
    // Duplicate labels and bad flags are refused with a reason.
    for (args, why) in [
        ("Lunch? | Pizza | pizza", "option \"pizza\" is given twice"),
        (
            "Lunch? | Pizza | Sushi --closes whenever",
            "is not a deadline",
        ),
    ] {
        r.fake
            .send_text(&pm(), &group_chat(), &format!("/poll {args}"));
        r.fake
            .wait_for("the refusal", |f| {
                f.sent().into_iter().find(|m| m.text.contains(why))
            })
            .await;
    }
    r.stop().await;
}

#[tokio::test]
async fn a_poll_closes_by_its_deadline_across_a_restart_exactly_once() {
    let r = boot().await;
    let (msg, buttons) = r.poll("Retro time? | Mon | Tue --closes in 30m").await;
    let (other, _) = r.poll("Venue? | Here | There").await;
    r.tap(&TgUser::new(2001, "Ana"), msg, &buttons[1]).await;
    r.shows(msg, "1 person has answered").await;
    assert_eq!(r.final_edits(msg), 0);
    // Stopped before the deadline; started an hour later (the restart moves the clock).
    let (t, fake) = r.stop().await;
    let r = start(t.restart().await, fake).await;
    let closed = r.shows(msg, "Closed · 1 person answered.").await;
    assert!(closed.contains("Tue: 1 (100%) ██████████"), "{closed}");
    assert!(r.fake.buttons(GROUP, msg).is_empty(), "buttons removed");
    // Once more: the next start does not edit it again. The other poll's /close, processed
    // after the start, shows that the adapter (and its closer) ran.
    let (t, fake) = r.stop().await;
    let r = start(t.restart().await, fake).await;
    r.fake.send_text(&pm(), &group_chat(), "/close venue");
    r.shows(other, "Closed ·").await;
    assert_eq!(
        r.final_edits(msg),
        1,
        "edited to its final result exactly once"
    );
    assert_eq!(r.final_edits(other), 1);
    assert_eq!(
        chart_posts(&r.fake),
        1,
        "one chart: the unanswered poll has none"
    );
    r.stop().await;
}
