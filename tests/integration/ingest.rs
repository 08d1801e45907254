//! The writer's set-based path for poll taps (`service/taps.rs`) against the per-event path:
//! the same random batches through both leave the same rows, ids included, and give the same
//! replies; a run whose statements fail falls back to one event at a time.

use crate::support::*;
use canvass::core::event::{Body, Inbound};
use canvass::service::Handled;

/// The support config plus a poll that shows its tally after each vote (per-event path)
/// and one that closes part way through the script (by the stepping clock).
fn config() -> String {
    format!(
        r#"{CONFIG}
[[surveys]]
id = "aftervote"
title = "After vote"
results = "after_vote"
[[surveys.questions]]
id = "pick"
type = "single"
text = "Pick one"
options = ["Red", "Blue"]

[[surveys]]
id = "closing"
title = "Closing soon"
closes_at = "2026-11-02T09:04:00Z"
[[surveys.questions]]
id = "pick"
type = "rating"
text = "Rate it"
scale = 5
"#
    )
}

/// A small deterministic generator (xorshift64*), so both apps get the same script.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const POLLS: [&str; 6] = ["lunch", "tools", "rank", "secret", "aftervote", "closing"];

/// Random batches of events: taps on every posted poll (also from a chat it was not posted
/// in, and forged ones), the same member twice in a batch, redeliveries within and across
/// batches, `/language` changes between taps, and platform languages and roles (segments)
/// that change from one tap to the next.
fn script(seed: u64, payloads: &[Vec<String>]) -> Vec<Vec<Inbound>> {
    let mut rng = Rng(seed);
    let mut seen: Vec<Inbound> = Vec::new();
    let mut batches = Vec::new();
    let mut n = 0;
    for _ in 0..30 {
        let mut batch = Vec::new();
        for _ in 0..1 + rng.below(60) {
            let user = format!("m{}", rng.below(14));
            let mut chat = group();
            let roll = rng.below(100);
            let body = if roll < 8 && !seen.is_empty() {
                // A redelivery: the same event again.
                let ev = seen[rng.below(seen.len())].clone();
                batch.push(ev);
                continue;
            } else if roll < 13 {
                chat = dm(&user);
                let lang = ["de", "es", "en"][rng.below(3)];
                Body::Text(format!("/language {lang}"))
            } else if roll < 15 {
                Body::Button("c1:forged".into())
            } else {
                let poll = &payloads[rng.below(payloads.len())];
                if roll < 18 {
                    chat.id = "elsewhere".into();
                }
                Body::Button(poll[rng.below(poll.len())].clone())
            };
            let mut actor = actor(&user);
            actor.locale =
                [None, Some("de".to_string()), Some("es-MX".to_string())][rng.below(3)].clone();
            // A mapped role now and then changes the member's segments between taps.
            if rng.below(4) == 0 {
                actor.roles = vec!["778".to_string()];
            }
            n += 1;
            let ev = Inbound {
                event_id: format!("ev{n}"),
                actor,
                chat,
                body,
            };
            seen.push(ev.clone());
            batch.push(ev);
        }
        batches.push(batch);
    }
    batches
}

/// Every row the writer's taps touch, with anonymous rows' random ids left out.
async fn tables(t: &TestApp) -> Vec<String> {
    let queries = [
        "SELECT id, platform, platform_user_id, display_name, locale, persona, first_seen_at,
                locale_override FROM members ORDER BY id",
        "SELECT CASE WHEN anon_key IS NULL THEN id END AS i, survey_id, member_id, platform,
                segments, new_member, created_at FROM respondents ORDER BY 1, 2, 3, 4, 5, 6, 7",
        "SELECT CASE WHEN a.id > 0 THEN a.id END, CASE WHEN r.anon_key IS NULL THEN r.id END,
                r.survey_id, a.question_id, a.value, a.chat_segment, a.shown_at, a.answered_at,
                a.superseded_at, a.locale
           FROM answers a JOIN respondents r ON r.id = a.respondent_id
          ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10",
        "SELECT CASE WHEN r.anon_key IS NULL THEN r.id END, r.survey_id, d.question_id, d.state,
                d.updated_at
           FROM drafts d JOIN respondents r ON r.id = d.respondent_id ORDER BY 1, 2, 3, 4, 5",
        "SELECT event_id, processed_at FROM processed_events ORDER BY event_id",
    ];
    let mut out = Vec::new();
    for q in queries {
        let rows = sqlx::query(q)
            .fetch_all(t.app.store.pool())
            .await
            .expect("dump");
        for r in rows {
            use sqlx::{Column, Row, TypeInfo, ValueRef};
            let mut line = Vec::new();
            for (i, c) in r.columns().iter().enumerate() {
                let raw = r.try_get_raw(i).expect("column");
                let v = if raw.is_null() {
                    "NULL".to_string()
                } else {
                    match raw.type_info().name() {
                        "INTEGER" => r.get::<i64, _>(i).to_string(),
                        _ => r.get::<String, _>(i),
                    }
                };
                line.push(format!("{}={v}", c.name()));
            }
            out.push(line.join(" "));
        }
        out.push("--".into());
    }
    out
}

/// Boots the app, posts every poll, runs the script batch by batch (each batch queued at
/// once, so the writer takes it as one group commit) and returns the replies and the rows.
async fn play(set_based: bool, seed: u64) -> (Vec<Result<Handled, String>>, Vec<String>, u64) {
    let t = spawn_app_with(&config()).await;
    t.app.service.set_set_based_taps(set_based);
    let mut payloads_of = Vec::new();
    for p in POLLS {
        payloads_of.push(payloads(&t.post(p).await));
    }
    let mut replies = Vec::new();
    for batch in script(seed, &payloads_of) {
        let all = futures_util::future::join_all(batch.iter().map(|e| t.app.service.handle(e)));
        for r in all.await {
            replies.push(r.map_err(|e| e.to_string()));
        }
    }
    let rows = tables(&t).await;
    let n = t.app.service.set_based_taps();
    (replies, rows, n)
}

#[tokio::test]
async fn set_based_taps_write_what_the_per_event_path_writes() {
    for seed in [0x9E37_79B9_7F4A_7C15, 42, 7_777_777] {
        let (slow_replies, slow_rows, none) = play(false, seed).await;
        let (fast_replies, fast_rows, taps) = play(true, seed).await;
        assert_eq!(none, 0, "the per-event app took no set-based path");
        assert!(taps > 100, "seed {seed}: only {taps} taps went set-based");
        assert!(
            slow_rows.iter().filter(|l| l.contains("value=")).count() > 50,
            "seed {seed}: the script wrote too few answers to compare"
        );
        assert_eq!(slow_rows.len(), fast_rows.len(), "seed {seed}: row counts");
        for (i, (a, b)) in slow_rows.iter().zip(&fast_rows).enumerate() {
            assert_eq!(a, b, "seed {seed}: row {i} differs");
        }
        assert_eq!(slow_replies.len(), fast_replies.len());
        for (i, (a, b)) in slow_replies.iter().zip(&fast_replies).enumerate() {
            assert_eq!(a, b, "seed {seed}: replies to event {i} differ");
        }
    }
}

/// A run whose statements fail is rolled back and applied one event at a time: the failing
/// event rolls back alone (its id unclaimed, so a redelivery applies it), the others commit.
#[tokio::test]
async fn a_failing_run_of_taps_falls_back_to_one_event_at_a_time() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    sqlx::query(
        "CREATE TRIGGER poison BEFORE INSERT ON answers
         WHEN (SELECT m.platform_user_id FROM respondents r JOIN members m ON m.id = r.member_id
                WHERE r.id = NEW.respondent_id) = 'member17'
         BEGIN SELECT RAISE(ABORT, 'poisoned answer'); END",
    )
    .execute(t.app.store.pool())
    .await
    .expect("trigger");
    let batch: Vec<Inbound> = (0..40)
        .map(|m| {
            t.event(
                &format!("member{m}"),
                group(),
                Body::Button(p[m % 2].clone()),
            )
        })
        .collect();
    let before = t.app.service.set_based_taps();
    let results =
        futures_util::future::join_all(batch.iter().map(|e| t.app.service.handle(e))).await;
    let failed: Vec<usize> = (0..results.len())
        .filter(|i| results[*i].is_err())
        .collect();
    assert_eq!(failed, vec![17], "only the poisoned tap fails");
    assert_eq!(t.current("lunch", "food").await.len(), 39);
    assert_eq!(
        t.app.service.set_based_taps(),
        before,
        "the failed run counts no set-based taps: its events went one by one"
    );
    let claimed =
        |id: &str| format!("SELECT COUNT(*) FROM processed_events WHERE event_id = '{id}'");
    assert_eq!(
        t.scalar(&claimed(&batch[17].event_id)).await,
        0,
        "the failed tap's event id was rolled back with it"
    );
    assert_eq!(t.scalar(&claimed(&batch[16].event_id)).await, 1);
    // Without the trigger the same batch, redelivered, applies only the tap that failed,
    // this time set-based.
    sqlx::query("DROP TRIGGER poison")
        .execute(t.app.store.pool())
        .await
        .expect("drop");
    let again = futures_util::future::join_all(batch.iter().map(|e| t.app.service.handle(e))).await;
    let applied: Vec<usize> = (0..again.len())
        .filter(|i| !matches!(again[*i], Ok(Handled::Duplicate)))
        .collect();
    assert_eq!(applied, vec![17]);
    assert!(again[17].is_ok(), "{:?}", again[17]);
    assert_eq!(t.current("lunch", "food").await.len(), 40);
    assert_eq!(t.app.service.set_based_taps(), before + 40);
    assert_eq!(t.app.store.integrity_check().await.unwrap(), "ok");
}
