//! Discord delivery under faults, through the real serenity client against the fake Discord:
//! every interaction is acknowledged first, within its 3 s, whatever another member's or the
//! same member's earlier delivery is waiting for; a 429's `retry_after` is waited out; a 5xx
//! on an idempotent call is retried, a post whose outcome is unknown is not repeated.

use crate::support::discord::adapter::RunningAdapter;
use crate::support::discord::*;
use crate::support::*;
use serde_json::json;
use std::time::Duration;
use tokio::time::Instant;

const GUILD: u64 = 7_000;
const CHANNEL: u64 = 7_001;
const TEAM_ROLE: u64 = 777;

fn pm() -> DcUser {
    DcUser::new(1_001, "Pat").with_roles(&[TEAM_ROLE])
}

fn member(i: u64) -> DcUser {
    DcUser::new(4_000 + i, &format!("Member {i}"))
}

struct Running {
    t: TestApp,
    fake: FakeDiscord,
    adapter: RunningAdapter,
}

/// Boots the adapter against a fresh fake; `before` may arm faults for the start-up calls.
async fn boot(before: impl FnOnce(&FakeDiscord)) -> Running {
    let fake = FakeDiscord::start().await;
    fake.add_guild(GUILD, "Community", &[CHANNEL], &[(TEAM_ROLE, "product")]);
    fake.add_member(GUILD, &pm());
    for i in 0..=20 {
        fake.add_member(GUILD, &member(i));
    }
    before(&fake);
    let t = spawn_app().await;
    let adapter = RunningAdapter::start(&t, &fake, GUILD).await;
    fake.wait_for("commands registered", |f| {
        (f.commands().len() >= 7).then_some(())
    })
    .await;
    Running { t, fake, adapter }
}

impl Running {
    async fn stop(self) {
        self.adapter.stop().await;
    }

    /// `/survey post lunch` by the product team; returns the slash interaction and the poll.
    async fn post(&self) -> (u64, Message) {
        let slash = self.fake.slash(
            GUILD,
            CHANNEL,
            &pm(),
            "survey",
            json!([{ "name": "post", "type": 1,
                     "options": [{ "name": "survey", "type": 3, "value": "lunch" }] }]),
        );
        let poll = self
            .fake
            .wait_for("the poll message", |f| {
                f.messages(CHANNEL)
                    .into_iter()
                    .find(|m| m.via == "channel" && !m.custom_ids().is_empty())
            })
            .await;
        (slash, poll)
    }

    /// Waits for a follow-up to an interaction containing `needle`.
    async fn followup(&self, interaction: u64, needle: &str) -> Message {
        let what = format!("a follow-up to {interaction} containing {needle:?}");
        self.fake
            .wait_for(&what, |f| {
                f.messages(CHANNEL).into_iter().find(|m| {
                    m.interaction_id == Some(interaction)
                        && m.via == "followup"
                        && m.content.contains(needle)
                })
            })
            .await
    }

    /// When each follow-up call for one interaction arrived (failed ones included).
    fn followup_calls(&self, interaction: u64) -> Vec<Instant> {
        let token = self.fake.token(interaction).expect("a known interaction");
        self.fake
            .call_times("POST", &format!("/webhooks/{APP_ID}/{token}"))
    }

    fn callback_calls(&self, interaction: u64) -> Vec<Instant> {
        self.fake
            .call_times("POST", &format!("/interactions/{interaction}/"))
    }
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Item 5: the second tap of a member whose first tap's confirmation is stuck behind 429s is
/// acknowledged within 3 s (the fake refuses a later callback, as Discord does), both votes
/// count in the order tapped, the confirmations arrive in that order, and other members are
/// acknowledged and confirmed meanwhile.
#[tokio::test]
async fn a_members_second_tap_is_acknowledged_while_the_first_is_still_being_delivered() {
    let r = boot(|_| {}).await;
    let (_, poll) = r.post().await;
    let ids = poll.custom_ids();
    let slow = member(0);
    // The first tap's confirmation meets three 429s of 1.5 s: its delivery takes over 4.5 s.
    for _ in 0..3 {
        r.fake
            .rate_limit_next_for(slow.id, "POST", "/webhooks/", 1.5);
    }
    let first = r.fake.click(GUILD, CHANNEL, &slow, poll.id, &ids[0]);
    r.fake
        .wait_for("the first tap's confirmation to meet its 429", |f| {
            let token = f.token(first)?;
            (f.calls("POST", &format!("/webhooks/{APP_ID}/{token}")) >= 1).then_some(())
        })
        .await;
    // The member changes their mind at once; twenty others tap meanwhile.
    let second = r.fake.click(GUILD, CHANNEL, &slow, poll.id, &ids[2]);
    let others: Vec<u64> = (1..=20)
        .map(|i| {
            r.fake
                .click(GUILD, CHANNEL, &member(i), poll.id, &ids[i as usize % 3])
        })
        .collect();

    // The second vote is committed while the first confirmation is still waiting.
    r.fake
        .wait_for("the second tap acknowledged", |f| f.response(second))
        .await;
    // Checked again after each commit the store reports, up to 15 s.
    let mut commits = r.t.app.store.commits();
    tokio::time::timeout(Duration::from_secs(15), async {
        while r.t.scalar("SELECT COUNT(*) FROM answers").await < 22 {
            commits.changed().await.expect("the store is open");
        }
    })
    .await
    .expect("the votes were not committed");
    assert!(
        r.fake
            .messages(CHANNEL)
            .iter()
            .all(|m| m.interaction_id != Some(first) || m.via != "followup"),
        "the first confirmation is still held by its 429s"
    );
    // Others are confirmed without waiting for the slow member.
    for (i, &other) in others.iter().enumerate() {
        let expected = ["Saved: Pizza", "Saved: Sushi", "Saved: Salad"][(i + 1) % 3];
        r.followup(other, expected).await;
    }
    assert!(
        r.fake
            .messages(CHANNEL)
            .iter()
            .all(|m| m.interaction_id != Some(first) || m.via != "followup"),
        "the others were confirmed while the first confirmation still waited"
    );

    let first_reply = r.followup(first, "Saved: Pizza").await;
    let second_reply = r.followup(second, "Changed to: Salad").await;
    assert!(
        first_reply.id < second_reply.id,
        "confirmations in tap order"
    );
    for ix in [first, second].into_iter().chain(others.iter().copied()) {
        let response = r.fake.response(ix).expect("acknowledged");
        assert_eq!(
            response.kind, 6,
            "a tap on a poll is acknowledged with type 6"
        );
        assert!(
            response.after < Duration::from_secs(3),
            "{ix} acknowledged after {:?}",
            response.after
        );
    }
    for &other in &others {
        let after = r.fake.response(other).map(|x| x.after).unwrap_or_default();
        assert!(
            after < Duration::from_secs(2),
            "another member waited {after:?}"
        );
    }
    // The 429s were waited out (1.5 s each), and the second confirmation came after the first.
    let calls = r.followup_calls(first);
    assert_eq!(calls.len(), 4, "three 429s, then the confirmation");
    for gap in gaps(&calls) {
        assert!(gap >= Duration::from_millis(1450), "retried after {gap:?}");
    }
    let second_calls = r.followup_calls(second);
    assert!(
        second_calls[0] > calls[3],
        "the second confirmation waited for the first"
    );
    // Both votes count, in the order tapped: Pizza superseded by Salad.
    assert_eq!(
        r.t.scalar("SELECT COUNT(*) FROM answers WHERE superseded_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(r.t.current("lunch", "food").await.len(), 21);
    r.stop().await;
}

/// Item 6: with a test server as `api_url` (serenity's rate limiter off), each 429's
/// `retry_after` is waited out: 0.8 s on an acknowledgement (still within the 3 s), 3.0 s on
/// a confirmation and on the coalesced poll edit.
#[tokio::test]
async fn a_429s_retry_after_is_waited_out_on_every_route() {
    let r = boot(|_| {}).await;
    let (_, poll) = r.post().await;
    let ids = poll.custom_ids();
    let tapper = member(1);
    r.fake
        .rate_limit_next_for(tapper.id, "POST", "/interactions/", 0.8);
    r.fake
        .rate_limit_next_for(tapper.id, "POST", "/webhooks/", 3.0);
    r.fake.rate_limit_next("PATCH", "/channels/", 3.0);
    let tap = r.fake.click(GUILD, CHANNEL, &tapper, poll.id, &ids[1]);
    r.followup(tap, "Saved: Sushi").await;
    let acks = gaps(&r.callback_calls(tap));
    assert_eq!(acks.len(), 1, "one 429, one retry: {acks:?}");
    assert!(
        acks[0] >= Duration::from_millis(750),
        "ack retried after {:?}",
        acks[0]
    );
    let response = r.fake.response(tap).expect("acknowledged");
    assert!(response.after < Duration::from_secs(3));

    let confirmations = gaps(&r.followup_calls(tap));
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");
    assert!(
        confirmations[0] >= Duration::from_millis(2900),
        "confirmation retried after {:?}",
        confirmations[0]
    );
    r.fake
        .wait_for("the poll message edited", |f| {
            f.message(CHANNEL, poll.id).filter(|m| m.edits > 0)
        })
        .await;
    let edits = gaps(&r.fake.call_times("PATCH", &format!("/channels/{CHANNEL}/")));
    assert!(!edits.is_empty(), "the rate-limited poll edit was retried");
    assert!(
        edits[0] >= Duration::from_millis(2900),
        "poll edit retried after {:?}",
        edits[0]
    );
    r.stop().await;
}

/// A 5xx on every idempotent call is retried and succeeds: command registration, the
/// deferral and type 6 acknowledgement, the poll post (it carries an enforced nonce), the
/// edit of the original response, the coalesced poll edit. A follow-up that met a 5xx or lost
/// its connection after Discord took it is not posted again.
#[tokio::test]
async fn a_5xx_on_every_idempotent_call_is_retried_and_posts_are_not_repeated() {
    let r = boot(|f| {
        f.fail_next(
            "PUT",
            "/applications/",
            500,
            0,
            "500: Internal Server Error",
        );
    })
    .await;
    assert!(
        r.fake.calls("PUT", "/applications/") >= 2,
        "registration retried"
    );

    r.fake.fail_next(
        "POST",
        "/interactions/",
        500,
        0,
        "500: Internal Server Error",
    );
    r.fake
        .fail_next("POST", "/channels/", 503, 0, "503: Service Unavailable");
    r.fake
        .fail_next("PATCH", "/webhooks/", 502, 0, "502: Bad Gateway");
    let (slash, poll) = r.post().await;
    r.fake
        .wait_for("the command's original response edited", |f| {
            f.original(slash).filter(|m| m.content.contains("Posted."))
        })
        .await;
    assert_eq!(r.fake.calls("POST", &format!("/interactions/{slash}/")), 2);
    assert_eq!(r.fake.calls("POST", &format!("/channels/{CHANNEL}/")), 2);
    assert_eq!(r.fake.calls("PATCH", "/webhooks/"), 2);
    assert!(r.fake.response(slash).is_some_and(|x| x.kind == 5));

    let ids = poll.custom_ids();
    r.fake.fail_next(
        "POST",
        "/interactions/",
        500,
        0,
        "500: Internal Server Error",
    );
    r.fake
        .fail_next("PATCH", "/channels/", 500, 0, "500: Internal Server Error");
    let tap = r.fake.click(GUILD, CHANNEL, &member(1), poll.id, &ids[0]);
    r.followup(tap, "Saved: Pizza").await;
    assert_eq!(r.callback_calls(tap).len(), 2);
    r.fake
        .wait_for("the poll edit retried", |f| {
            f.message(CHANNEL, poll.id).filter(|m| m.edits > 0)
        })
        .await;
    assert!(r.fake.calls("PATCH", &format!("/channels/{CHANNEL}/")) >= 2);

    // Not idempotent: a refused follow-up and one whose answer was lost are not repeated.
    r.fake
        .fail_next("POST", "/webhooks/", 502, 0, "502: Bad Gateway");
    let refused = r.fake.click(GUILD, CHANNEL, &member(2), poll.id, &ids[1]);
    r.fake
        .wait_for("the refused follow-up", |f| {
            let token = f.token(refused)?;
            (f.calls("POST", &format!("/webhooks/{APP_ID}/{token}")) >= 1).then_some(())
        })
        .await;
    r.fake.reset_next("POST", "/webhooks/", true);
    let lost = r.fake.click(GUILD, CHANNEL, &member(3), poll.id, &ids[2]);
    r.followup(lost, "Saved: Salad").await;
    // A later tap's confirmation shows the adapter has moved on; nothing was repeated.
    let later = r.fake.click(GUILD, CHANNEL, &member(4), poll.id, &ids[0]);
    r.followup(later, "Saved: Pizza").await;
    assert_eq!(
        r.followup_calls(refused).len(),
        1,
        "a 502 follow-up is not repeated"
    );
    assert_eq!(
        r.followup_calls(lost).len(),
        1,
        "a lost follow-up is not repeated"
    );
    assert_eq!(
        r.fake
            .messages(CHANNEL)
            .iter()
            .filter(|m| m.interaction_id == Some(lost))
            .count(),
        1
    );
    assert_eq!(
        r.fake
            .messages(CHANNEL)
            .iter()
            .filter(|m| m.via == "channel")
            .count(),
        1,
        "the poll was posted once"
    );
    assert_eq!(
        r.t.current("lunch", "food").await.len(),
        4,
        "no answer lost"
    );
    r.stop().await;
}
