//! Telegram delivery when a second thing goes wrong during a burst: updates teloxide cannot
//! parse, one member's long rate limit, 5xx answers on calls that are safe to repeat. Through
//! the real teloxide client and the adapter's own listener, against the fake Bot API. Speeds
//! are compared with a run without the fault, never with a fixed time.

use crate::support::logs::Logs;
use crate::support::telegram::*;
use crate::support::*;
use canvass::config::{Secret, TelegramConfig};
use canvass::platform::telegram::Telegram;
use serde_json::json;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::time::Instant;

const GROUP: i64 = -100_810;
/// Long enough for a burst on a machine shared with other builds.
const LIMIT: Duration = Duration::from_secs(120);

fn group_chat() -> TgChat {
    TgChat::group(GROUP, "Delivery")
}

fn pm() -> TgUser {
    TgUser::new(1000, "Pat")
}

fn member(i: usize) -> TgUser {
    TgUser::new(7000 + i as i64, &format!("Member {i}"))
}

struct Running {
    t: TestApp,
    fake: FakeTelegram,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    poll: i64,
    buttons: Vec<String>,
}

/// The adapter against a fresh fake, with the lunch poll posted in the group.
async fn start() -> Running {
    start_with(spawn_app().await).await
}

async fn start_with(t: TestApp) -> Running {
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
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
    fake.send_text(&pm(), &group_chat(), "/post lunch");
    let poll = fake
        .wait_for("the poll", |f| {
            f.sent().into_iter().find(|m| m.chat_id == GROUP)
        })
        .await
        .message_id;
    let buttons = fake
        .buttons(GROUP, poll)
        .into_iter()
        .map(|(_, data)| data)
        .collect();
    Running {
        t,
        fake,
        stop,
        task,
        poll,
        buttons,
    }
}

impl Running {
    async fn stop(self) -> (TestApp, FakeTelegram) {
        let _ = self.stop.send(());
        self.task.await.expect("adapter task");
        (self.t, self.fake)
    }

    fn tap(&self, who: &TgUser, pick: usize) -> (i64, String) {
        self.fake.tap(
            who,
            &group_chat(),
            self.poll,
            &self.buttons[pick % self.buttons.len()],
        )
    }

    /// Members `members` tap once each, all queued at once (with `between` called halfway);
    /// returns each tap's time from injection to its answer, and the whole burst's time.
    async fn burst(
        &self,
        members: std::ops::Range<usize>,
        between: impl Fn(&FakeTelegram),
    ) -> (Vec<Duration>, Duration) {
        let start = Instant::now();
        let half = members.start + members.len() / 2;
        let mut taps = Vec::new();
        for i in members {
            if i == half {
                between(&self.fake);
            }
            let (_, query) = self.tap(&member(i), i);
            taps.push((query, Instant::now()));
        }
        let mut done = 0;
        while done < taps.len() {
            done = self
                .fake
                .wait_for_within(LIMIT, "the burst to be answered", |f| {
                    let n = taps
                        .iter()
                        .filter(|(q, _)| f.answered_at(q).is_some())
                        .count();
                    (n > done).then_some(n)
                })
                .await;
        }
        let latencies = taps
            .iter()
            .map(|(q, at)| {
                self.fake
                    .answered_at(q)
                    .map(|a| a.saturating_duration_since(*at))
                    .unwrap_or_default()
            })
            .collect();
        (latencies, start.elapsed())
    }

    async fn drained(&self) {
        self.fake
            .wait_for_within(LIMIT, "every update to be confirmed", |f| {
                (f.pending_updates() == 0).then_some(())
            })
            .await;
    }

    /// Whether the update's event id was claimed (its transaction committed).
    async fn committed(&self, update: i64) -> bool {
        self.t
            .scalar(&format!(
                "SELECT COUNT(*) FROM processed_events WHERE event_id = 'tg:{update}'"
            ))
            .await
            == 1
    }
}

fn p99(mut latencies: Vec<Duration>) -> Duration {
    latencies.sort();
    let at = (latencies.len() * 99).div_ceil(100).saturating_sub(1);
    latencies.get(at).copied().unwrap_or_default()
}

// ---- the tests -----------------------------------------------------------------------------------

/// Text that must never reach the log: an update's content.
const CONTENT: &str = "PRIVATE-CONTENT-7731";

/// The four shapes teloxide cannot parse; returns their update ids.
fn inject_unparseable(f: &FakeTelegram) -> Vec<i64> {
    let someone = json!({"id": 4242, "is_bot": false, "first_name": CONTENT});
    let chat = json!({"id": GROUP, "type": "supergroup", "title": "Delivery"});
    vec![
        f.raw_update(json!({"some_future_kind": {"note": CONTENT}})),
        f.raw_update(json!({"callback_query": {
            "id": "99", "chat_instance": "1", "data": CONTENT,
            "message": {"message_id": 1, "date": 0, "chat": chat},
        }})),
        f.raw_update(json!({"message": {
            "message_id": 77, "date": 0, "from": someone, "text": CONTENT,
        }})),
        f.raw_update(json!({})),
    ]
}

/// How many (clean, faulty) pairs a comparison may take: bursts of tens of milliseconds on a
/// machine shared with other builds are noisy, so one pair within 2x passes. The faults these
/// tests catch cost seconds, a hundred times the clean run, in every pair: a pair over 10x
/// fails at once.
const PAIRS: usize = 5;

#[tokio::test]
async fn unparseable_updates_mid_burst_are_confirmed_without_stalling() {
    const BURST: usize = 300;
    let (logs, _guard) = Logs::capture("warn");
    let r = start().await;
    let bad = std::cell::RefCell::new(Vec::new());
    let mut next = 0;
    let mut runs = Vec::new();
    for _ in 0..PAIRS {
        let (_, clean) = r.burst(next..next + BURST, |_| {}).await;
        next += BURST;
        bad.borrow_mut().extend(inject_unparseable(&r.fake));
        let (_, faulty) = r
            .burst(next..next + BURST, |f| {
                bad.borrow_mut().extend(inject_unparseable(f))
            })
            .await;
        next += BURST;
        eprintln!("{BURST} taps: {clean:?} without unparseable updates, {faulty:?} with them");
        runs.push((clean, faulty));
        if faulty <= clean * 2 || faulty > clean * 10 {
            break;
        }
    }
    assert!(
        runs.iter().any(|(clean, faulty)| *faulty <= *clean * 2),
        "bursts with unparseable updates were slower than 2x those without: {runs:?}"
    );
    r.drained().await;
    let bad = bad.into_inner();
    for id in &bad {
        assert!(
            !r.committed(*id).await,
            "update {id} changed nothing, not even its claim"
        );
    }
    let (t, _fake) = r.stop().await;
    assert_eq!(t.current("lunch", "food").await.len(), next);
    let log = logs.text();
    for kind in ["some_future_kind", "callback_query", "message", "(none)"] {
        assert!(
            log.contains(&format!("kind={kind}")),
            "{kind} logged: {log}"
        );
    }
    for id in &bad {
        assert_eq!(
            log.matches(&format!("update=Some({id})")).count(),
            1,
            "update {id} logged once: {log}"
        );
    }
    assert!(
        !log.contains(CONTENT),
        "an update's content was logged: {log}"
    );
}

/// One member (`who`) meets a 429 of `retry_after` on their first acknowledgement and taps
/// twice; once the second tap was handed to the bot, 100 others tap. Returns the others'
/// p99 and the two taps (update id, query id).
async fn beside_a_429(
    r: &Running,
    who: &TgUser,
    retry_after: u32,
    others: std::ops::Range<usize>,
) -> (Duration, [(i64, String); 2]) {
    r.fake.rate_limit_answers(who.id, retry_after);
    let first = r.tap(who, 0);
    let second = r.tap(who, 1);
    let handed = second.0;
    r.fake
        .wait_for("the second tap to be handed out", |f| {
            f.delivered(handed).then_some(())
        })
        .await;
    let (latencies, _) = r.burst(others, |_| {}).await;
    (p99(latencies), [first, second])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_members_rate_limit_holds_up_no_one_and_confirms_nothing_uncommitted() {
    let r = start().await;
    let mut next = 0;
    let mut limited = 900;
    let mut stored = 0;
    for retry_after in [8, 45] {
        let mut runs = Vec::new();
        for _ in 0..PAIRS {
            let (clean, _) = r.burst(next..next + 100, |_| {}).await;
            let clean = p99(clean);
            next += 100;
            let who = member(limited);
            limited += 1;
            let (others, [(_, q1), (u2, q2)]) =
                beside_a_429(&r, &who, retry_after, next..next + 100).await;
            next += 100;
            stored += 201;
            eprintln!(
                "p99 of 100 taps: {clean:?} without a rate limit, {others:?} beside a 429 of \
                 {retry_after} s"
            );
            runs.push((clean, others));
            // Telegram is told of the limited member's second tap only once it is committed.
            r.fake
                .wait_for_within(
                    Duration::from_secs(60),
                    "the second tap to be confirmed",
                    |f| (f.acknowledged_offset() > u2).then_some(()),
                )
                .await;
            assert!(
                r.committed(u2).await,
                "a tap was confirmed to Telegram before it was committed"
            );
            let told = |q: &str| {
                r.fake
                    .callback_answers()
                    .into_iter()
                    .find(|x| x.id == q)
                    .and_then(|x| x.text)
            };
            let second = r
                .fake
                .wait_for("the second tap to be answered", |f| f.answered_at(&q2))
                .await;
            assert!(told(&q2).is_some_and(|t| t.starts_with("Changed to")));
            if retry_after < 15 {
                // Within the time a tap's answer is useful: waited out, and in tap order.
                let first = r
                    .fake
                    .wait_for("the first tap to be answered", |f| f.answered_at(&q1))
                    .await;
                assert!(
                    first <= second,
                    "the member's answers in the order of the taps"
                );
                assert!(told(&q1).is_some_and(|t| t.starts_with("Saved")));
            }
            if others <= clean * 2 || others > clean * 10 {
                break;
            }
        }
        assert!(
            runs.iter().any(|(clean, others)| *others <= *clean * 2),
            "others' p99 beside one member's 429 of {retry_after} s was over 2x that without: \
             {runs:?}"
        );
    }
    r.drained().await;
    let (t, _fake) = r.stop().await;
    assert_eq!(t.current("lunch", "food").await.len(), stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_on_every_call_safe_to_repeat_is_retried_until_it_succeeds() {
    let r = start().await;
    let before = r.fake.calls("AnswerCallbackQuery");
    for code in [500, 502] {
        r.fake
            .fault_next("AnswerCallbackQuery", Fault::ServerError(code));
        r.fake
            .fault_next("EditMessageText", Fault::ServerError(code));
    }
    let (_, query) = r.tap(&member(1), 0);
    let answer = r
        .fake
        .wait_for("the tap to be answered after two 5xx", |f| {
            f.callback_answers().into_iter().find(|a| a.id == query)
        })
        .await;
    assert!(answer.text.unwrap_or_default().starts_with("Saved"));
    assert_eq!(
        r.fake.calls("AnswerCallbackQuery") - before,
        3,
        "two refused, one answered"
    );
    let poll = r.poll;
    r.fake
        .wait_for("the poll message to show the vote after two 5xx", |f| {
            f.edits()
                .into_iter()
                .find(|e| e.chat_id == GROUP && e.message_id == poll)
        })
        .await;
    assert!(r.fake.calls("EditMessageText") >= 3);

    // A 5xx on getUpdates: asked again after a short backoff, not after teloxide's 10 s.
    r.fake.fault_next("GetUpdates", Fault::ServerError(502));
    r.fake
        .wait_for("the 5xx on getUpdates to be met", |f| {
            (f.pending_faults("GetUpdates") == 0).then_some(())
        })
        .await;
    let met = Instant::now();
    let (_, query) = r.tap(&member(2), 1);
    r.fake
        .wait_for("the tap after the 5xx to be answered", |f| {
            f.answered_at(&query)
        })
        .await;
    let after_fault = met.elapsed();
    eprintln!("a tap after a 5xx on getUpdates was answered in {after_fault:?}");
    assert!(
        after_fault < Duration::from_secs(5),
        "a 5xx on getUpdates held up taps for {after_fault:?}"
    );
    r.drained().await;
    let (t, _fake) = r.stop().await;
    assert_eq!(t.current("lunch", "food").await.len(), 2);
}

#[tokio::test]
async fn an_acknowledgement_that_cannot_arrive_in_time_is_a_warning() {
    let (logs, _guard) = Logs::capture("warn");
    let r = start().await;
    let who = member(1);
    // Telegram asks to wait longer than a tap's answer is useful: the bot gives it up, says so,
    // and the member's next reply is not held up behind it.
    r.fake.rate_limit_answers(who.id, 45);
    let (_, first) = r.tap(&who, 0);
    let (_, second) = r.tap(&who, 1);
    r.fake
        .wait_for("the second tap to be answered", |f| f.answered_at(&second))
        .await;
    assert!(r.fake.answered_at(&first).is_none());
    let log = logs.text();
    assert!(
        log.contains("WARN") && log.contains("could not acknowledge a tap"),
        "{log}"
    );
    let (t, _fake) = r.stop().await;
    assert_eq!(t.current("lunch", "food").await.len(), 1);
}

/// A report whose narrative waits on a model that does not answer holds up nobody's taps: the
/// update is confirmed once its claim committed, before the report is built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_report_holds_up_no_one() {
    use crate::support::openai::{FakeOpenAi, Reply};
    let llm = FakeOpenAi::start(Reply::Hang).await;
    let r = start_with(spawn_app_with(&format!("{CONFIG}{}", llm.section(8_000))).await).await;
    let mut next = 0;
    let mut runs = Vec::new();
    for pair in 1..=PAIRS {
        let (clean, _) = r.burst(next..next + 100, |_| {}).await;
        next += 100;
        r.fake.send_text(&pm(), &group_chat(), "/insights lunch");
        r.fake
            .wait_for("the narrative to be asked for", |_| {
                (llm.requests().len() >= pair).then_some(())
            })
            .await;
        let (others, _) = r.burst(next..next + 100, |_| {}).await;
        next += 100;
        let (clean, others) = (p99(clean), p99(others));
        eprintln!("p99 of 100 taps: {clean:?} alone, {others:?} beside a slow report");
        runs.push((clean, others));
        if others <= clean * 2 || others > clean * 10 {
            break;
        }
    }
    assert!(
        runs.iter().any(|(clean, others)| *others <= *clean * 2),
        "taps beside a slow report were over 2x slower: {runs:?}"
    );
    let (t, _fake) = r.stop().await;
    assert_eq!(t.current("lunch", "food").await.len(), next);
}

/// README §Telegram: a failing `getUpdates` is asked again with backoff from 250 ms up to 30 s.
/// An answer whose `result` is not a list of updates is such a failure, not a hot loop.
#[tokio::test]
async fn get_updates_answering_something_other_than_a_list_is_backed_off() {
    let r = start().await;
    for _ in 0..3 {
        r.fake.fault_next("GetUpdates", Fault::Result(json!(true)));
    }
    r.fake
        .wait_for("the first odd answer to be met", |f| {
            (f.pending_faults("GetUpdates") < 3).then_some(())
        })
        .await;
    let first = Instant::now();
    r.fake
        .wait_for("the third odd answer to be met", |f| {
            (f.pending_faults("GetUpdates") == 0).then_some(())
        })
        .await;
    let spread = first.elapsed();
    // 250 ms after the first, 500 ms after the second; without backoff, all at once.
    assert!(
        spread >= Duration::from_millis(700),
        "three odd answers met within {spread:?}"
    );
    // Then updates flow again.
    let (_, query) = r.tap(&member(1), 0);
    r.fake
        .wait_for("the tap after the odd answers to be answered", |f| {
            f.answered_at(&query)
        })
        .await;
    r.drained().await;
    let (t, _fake) = r.stop().await;
    assert_eq!(t.current("lunch", "food").await.len(), 1);
}
