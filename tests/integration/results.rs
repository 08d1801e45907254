//! Results for members, through the in-process app: what a poll says and shows in each
//! `results` mode, open and closed; the `/poll` flags; `/survey` of a closed survey; the
//! closer's view of polls whose deadline passed.

use crate::support::*;
use canvass::core::event::{Outbound, Platform};
use canvass::core::ids::SurveyKey;
use canvass::render::Target;

/// Creates a poll in the group as the team; its store key, message text and buttons.
async fn poll(t: &TestApp, args: &str) -> (SurveyKey, String, Vec<String>) {
    let out = t.say("pm", group(), &format!("/poll {args}")).await;
    let Some(Outbound::PostPoll {
        survey, keyboard, ..
    }) = out.first()
    else {
        panic!("no poll posted: {}", t.text(&out));
    };
    (*survey, t.text(&out), payloads(keyboard))
}

/// The poll message as the refresher would show it now, and how many button rows it has.
async fn view(t: &TestApp, key: SurveyKey) -> (String, usize) {
    let (msg, kb) = t
        .app
        .service
        .poll_view(key)
        .await
        .expect("view")
        .expect("poll exists");
    let text = t.app.renderer.render(Target::Plain, &msg).expect("renders");
    (text, kb.rows.len())
}

async fn vote(t: &TestApp, who: &str, payload: &str) -> String {
    let out = t.tap(who, group(), payload).await;
    t.text(&out)
}

#[tokio::test]
async fn every_results_mode_says_what_it_does_open_and_closed() {
    let t = spawn_app().await;
    let cases = [
        ("", "after_close", "Results are shown when the poll closes."),
        ("--results live", "live", "Results update as people vote."),
        (
            "--results after_vote",
            "after_vote",
            "Vote to see the results; everyone sees them when the poll closes.",
        ),
        (
            "--results team_only",
            "team_only",
            "Results go only to the product team.",
        ),
    ];
    for (i, (flag, mode, promise)) in cases.iter().enumerate() {
        let (key, posted, buttons) =
            poll(&t, &format!("Snack {i}? | Pizza | Sushi | Salad {flag}")).await;
        assert!(posted.contains(promise), "{mode}: {posted}");
        assert!(
            posted.contains("Tap another to change your answer"),
            "{posted}"
        );
        assert!(posted.contains(&format!("Poll id: snack-{i}")), "{posted}");
        for (who, pick) in [("ana", 0), ("ben", 0), ("cy", 1)] {
            let toast = vote(&t, who, &buttons[pick]).await;
            // Only after_vote shows the tally to the member who voted, privately.
            assert_eq!(
                toast.contains("Results so far:"),
                *mode == "after_vote",
                "{mode}: {toast}"
            );
        }
        let (open, rows) = view(&t, key).await;
        assert_eq!(rows, 3, "{mode}: buttons while open");
        assert!(open.contains(promise), "{mode}: {open}");
        // Live shows the tally with bars in the message; the others show none while open.
        let live_tally = "Pizza: 2 (67%) ███████░░░";
        assert_eq!(open.contains(live_tally), *mode == "live", "{mode}: {open}");
        assert_eq!(open.contains("Sushi: "), *mode == "live", "{mode}: {open}");
        let out = t.say("pm", group(), &format!("/close snack-{i}")).await;
        assert!(
            out.iter()
                .any(|o| matches!(o, Outbound::RefreshPolls { survey } if *survey == key)),
            "{mode}: /close refreshes the poll"
        );
        let (closed, rows) = view(&t, key).await;
        assert_eq!(rows, 0, "{mode}: a closed poll has no buttons");
        assert!(
            closed.contains("Closed · 3 people answered."),
            "{mode}: {closed}"
        );
        assert!(!closed.contains("Tap another"), "{mode}: {closed}");
        assert!(
            !closed.contains(promise) || *mode == "team_only",
            "{mode}: {closed}"
        );
        if *mode == "team_only" {
            assert!(!closed.contains("Pizza: "), "{mode}: {closed}");
            assert!(
                closed.contains("Results go only to the product team."),
                "{closed}"
            );
        } else {
            assert!(closed.contains(live_tally), "{mode}: {closed}");
            assert!(
                closed.contains("Sushi: 1 (33%) ███░░░░░░░"),
                "{mode}: {closed}"
            );
            assert!(
                closed.contains("Salad: 0 (0%) ░░░░░░░░░░"),
                "{mode}: {closed}"
            );
        }
        // Members never see who voted.
        for name in ["ana", "ben", "cy"] {
            assert!(!closed.contains(name) && !open.contains(name), "{closed}");
        }
    }
}

#[tokio::test]
async fn after_vote_shows_the_tally_only_to_members_who_voted() {
    let t = spawn_app().await;
    let (key, _, buttons) = poll(&t, "Theme? | Dark | Light --results after_vote").await;
    let first = vote(&t, "ana", &buttons[0]).await;
    assert!(first.contains("Saved: Dark"), "{first}");
    assert!(
        first.contains("Results so far: Dark 1 (100%) · Light 0 (0%)"),
        "{first}"
    );
    let second = vote(&t, "ben", &buttons[1]).await;
    assert!(
        second.contains("Dark 1 (50%) · Light 1 (50%)"),
        "includes the own vote: {second}"
    );
    // Tapping the same option again still shows it; the public message does not.
    let again = vote(&t, "ben", &buttons[1]).await;
    assert!(
        again.contains("That is already your answer.") && again.contains("Results so far"),
        "{again}"
    );
    let (open, _) = view(&t, key).await;
    assert!(
        !open.contains("Dark: ") && !open.contains("(50%)"),
        "{open}"
    );
}

#[tokio::test]
async fn poll_flags_make_multi_choice_anonymous_deadline_polls() {
    let t = spawn_app().await;
    let (key, posted, buttons) = poll(
        &t,
        "Which features? | Sync | Search | Themes --max 2 --anonymous --results live --closes in 2d",
    )
    .await;
    assert!(posted.contains("Tap up to 2 options"), "{posted}");
    assert!(
        posted.contains("Anonymous: nobody sees who voted."),
        "{posted}"
    );
    assert!(
        posted.contains("closes 04.11.2026") || posted.contains("closes 2026-11-04"),
        "{posted}"
    );
    let s = t
        .app
        .store
        .survey_by_key(key)
        .await
        .expect("read")
        .expect("stored");
    assert!(s.survey.anonymous);
    assert_eq!(s.survey.results.as_str(), "live");
    assert_eq!(s.survey.questions[0].kind.type_name(), "multi");
    let closes = s.survey.closes_at.expect("a deadline");
    assert!(
        (closes - t0() - chrono::Duration::days(2))
            .num_minutes()
            .abs()
            < 5,
        "{closes}"
    );
    vote(&t, "ana", &buttons[0]).await;
    vote(&t, "ana", &buttons[1]).await;
    vote(&t, "ben", &buttons[1]).await;
    // Anonymous: no member row, nothing that names a voter.
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM members WHERE platform_user_id IN ('ana', 'ben')")
            .await,
        0,
        "anonymous votes make no member row"
    );
    let (text, _) = view(&t, key).await;
    assert!(text.contains("Search: "), "{text}");
    assert!(!text.contains("ana") && !text.contains("ben"), "{text}");

    let (key, ..) = poll(&t, "Xmas party? | Yes | No --closes until 2026-12-24 18:00").await;
    let s = t
        .app
        .store
        .survey_by_key(key)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        s.survey.closes_at.map(|c| c.to_rfc3339()),
        Some("2026-12-24T18:00:00+00:00".into())
    );
    // Refusals: a past deadline, duplicate labels, bad flags. Nothing is created.
    let before = t.scalar("SELECT COUNT(*) FROM surveys").await;
    for (args, why) in [
        (
            "Q? | a | b --closes until 2020-01-01 10:00",
            "already passed",
        ),
        ("Q? | Pizza | PIZZA", "is given twice"),
        ("Q? | a | b --max 3", "--max must be a number from 1 to 2"),
        (
            "Q? | a | b --results sometimes",
            "is not one of after_close, live, after_vote, team_only",
        ),
        ("Q? | a | b --when tomorrow", "unknown flag --when"),
    ] {
        let out = t.say("pm", group(), &format!("/poll {args}")).await;
        let text = t.text(&out);
        assert!(text.contains(why), "{args}: {text}");
    }
    assert_eq!(t.scalar("SELECT COUNT(*) FROM surveys").await, before);
}

#[tokio::test]
async fn a_closed_survey_says_so_and_shows_its_result_if_allowed() {
    let t = spawn_app().await;
    let (_, _, b) = poll(&t, "Brunch? | Pizza | Sushi").await;
    vote(&t, "ana", &b[0]).await;
    let (_, _, b) = poll(&t, "Hush? | Yes | No --results team_only").await;
    vote(&t, "ana", &b[0]).await;
    let open = t.text(&t.say("ana", group(), "/survey brunch").await);
    assert!(open.contains("Results are shown when it closes."), "{open}");
    assert!(!open.contains("Pizza: "), "{open}");
    t.say("pm", group(), "/close brunch").await;
    t.say("pm", group(), "/close hush").await;
    let closed = t.text(&t.say("ana", group(), "/survey brunch").await);
    assert!(closed.contains("It is closed."), "{closed}");
    assert!(closed.contains("Pizza: 1 (100%) ██████████"), "{closed}");
    let secret = t.text(&t.say("ana", group(), "/survey hush").await);
    assert!(
        secret.contains("It is closed; its results go only to the product team."),
        "{secret}"
    );
    assert!(!secret.contains("Yes: "), "{secret}");
}

#[tokio::test]
async fn the_closer_finds_polls_whose_deadline_passed_until_their_message_is_final() {
    let t = spawn_app().await;
    let (key, ..) = poll(&t, "Soon? | Yes | No --closes in 30m").await;
    let (later, ..) = poll(&t, "Later? | Yes | No --closes in 5h").await;
    for k in [key, later] {
        t.app
            .store
            .record_posting(k, Platform::Telegram, "-100", "7", t0())
            .await
            .expect("record");
    }
    let (due, next) = t
        .app
        .service
        .closing_polls(Platform::Telegram)
        .await
        .expect("read");
    assert!(due.is_empty(), "{due:?}");
    assert!(
        next.is_some_and(|n| n < t0() + chrono::Duration::hours(1)),
        "{next:?}"
    );
    // An hour later (the restart moves the clock): the first is due, the second is next.
    let t = t.restart().await;
    let (due, next) = t
        .app
        .service
        .closing_polls(Platform::Telegram)
        .await
        .expect("read");
    assert_eq!(due, vec![key]);
    assert!(
        next.is_some_and(|n| n > t0() + chrono::Duration::hours(4)),
        "{next:?}"
    );
    assert!(
        t.app
            .service
            .closing_polls(Platform::Discord)
            .await
            .expect("read")
            .0
            .is_empty()
    );
    // Once its message shows the final state, it is never due again.
    t.app
        .store
        .record_finalised(key, Platform::Telegram, "-100", t0())
        .await
        .expect("record");
    let t = t.restart().await;
    assert!(
        t.app
            .service
            .closing_polls(Platform::Telegram)
            .await
            .expect("read")
            .0
            .is_empty()
    );
}

/// Adapters record a posted message and its final edit through the service's writer (one
/// `BEGIN IMMEDIATE` batch, committed before the call returns), never through the store.
#[tokio::test]
async fn postings_and_final_edits_are_recorded_through_the_writer() {
    let t = spawn_app().await;
    let (key, ..) = poll(&t, "Soon? | Yes | No --closes in 30m").await;
    let mut commits = t.app.store.commits();
    let mut posted = t.app.service.postings_recorded();
    commits.mark_unchanged();
    posted.mark_unchanged();
    t.app
        .service
        .record_posting(key, Platform::Telegram, "-100", "7")
        .await
        .expect("record");
    // Committed by the writer before the call returned, and the closer hears of it.
    assert!(commits.has_changed().expect("store"), "no writer commit");
    assert!(posted.has_changed().expect("store"), "no posting signal");
    let rows = t
        .app
        .service
        .postings(key, Platform::Telegram)
        .await
        .expect("read");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].message_id.as_deref(), Some("7"));
    assert_eq!(rows[0].platform, Platform::Telegram);
    assert!(
        t.app
            .service
            .postings(key, Platform::Discord)
            .await
            .expect("read")
            .is_empty()
    );
    // An hour later the poll is closed: the closer finds it until its final edit is recorded,
    // which is recorded once.
    let t = t.restart().await;
    let (due, _) = t
        .app
        .service
        .closing_polls(Platform::Telegram)
        .await
        .expect("read");
    assert_eq!(due, vec![key]);
    let mut commits = t.app.store.commits();
    commits.mark_unchanged();
    let first = t
        .app
        .service
        .record_finalised(key, Platform::Telegram, "-100")
        .await
        .expect("record");
    assert!(first, "the first final edit is recorded");
    assert!(commits.has_changed().expect("store"), "no writer commit");
    let again = t
        .app
        .service
        .record_finalised(key, Platform::Telegram, "-100")
        .await
        .expect("record");
    assert!(!again, "a second final edit changes nothing");
    let (due, _) = t
        .app
        .service
        .closing_polls(Platform::Telegram)
        .await
        .expect("read");
    assert!(due.is_empty(), "{due:?}");
}

/// A survey taken privately shows members no tally when closed (with one respondent, a tally
/// is that person's answers); the team still sees it.
#[tokio::test]
async fn a_closed_private_survey_shows_members_no_tally() {
    const DUO: &str = r#"
[[surveys]]
id = "duo"
title = "Duo"
[[surveys.questions]]
id = "a"
type = "single"
text = "First?"
options = ["Yes", "No"]
[[surveys.questions]]
id = "b"
type = "single"
text = "Second?"
options = ["Yes", "No"]
"#;
    let t = spawn_app_with(&format!("{CONFIG}{DUO}")).await;
    let mut out = t.say("ana", dm("ana"), "/start duo").await;
    for _ in 0..2 {
        out = t
            .tap("ana", dm("ana"), &payloads(&last_keyboard(&out))[0])
            .await;
    }
    t.say("pm", dm("pm"), "/close duo").await;
    for (who, chat) in [("bob", group()), ("bob", dm("bob")), ("ana", dm("ana"))] {
        let text = t.text(&t.say(who, chat, "/survey duo").await);
        assert!(text.contains("It is closed"), "{text}");
        assert!(
            !text.contains("Yes: "),
            "{who} sees a private tally: {text}"
        );
    }
}

/// `/forgetme` refreshes open polls only: re-rendering a closed poll's final result would
/// show, by difference, how the member voted in each closed poll.
#[tokio::test]
async fn forgetme_never_edits_a_closed_poll() {
    let t = spawn_app().await;
    let (closed, _, b) = poll(&t, "Closed one? | Pizza | Sushi").await;
    vote(&t, "ana", &b[0]).await;
    vote(&t, "bob", &b[1]).await;
    let (open, _, b) = poll(&t, "Open one? | Pizza | Sushi").await;
    vote(&t, "ana", &b[0]).await;
    t.say("pm", group(), "/close closed-one").await;
    let out = t.say("ana", dm("ana"), "/forgetme").await;
    let refreshed: Vec<SurveyKey> = out
        .iter()
        .filter_map(|o| match o {
            Outbound::RefreshPolls { survey } => Some(*survey),
            _ => None,
        })
        .collect();
    assert_eq!(refreshed, vec![open], "only the open poll is refreshed");
    assert!(!refreshed.contains(&closed));
}

/// `--closes until` is held to the same 365 days as `--closes in`.
#[tokio::test]
async fn a_deadline_beyond_365_days_is_refused_in_either_form() {
    let t = spawn_app().await;
    for flag in ["--closes until 2099-12-24 18:00", "--closes in 400d"] {
        let out = t
            .say("pm", group(), &format!("/poll Far? | a | b {flag}"))
            .await;
        assert!(
            !out.iter().any(|o| matches!(o, Outbound::PostPoll { .. })),
            "{flag} was accepted"
        );
        assert!(
            t.text(&out).contains("365 days"),
            "{flag}: {}",
            t.text(&out)
        );
    }
}

/// A team command's usage error is team output: in a community group it is answered
/// privately, like the command's other answers (here in the console group, not a team chat).
#[tokio::test]
async fn a_poll_usage_error_in_a_group_is_answered_privately() {
    let t = spawn_app().await;
    for args in ["Dup? | a | A", "Flag? | a | b --results bogus", "One? | a"] {
        let out = t.say("pm", group(), &format!("/poll {args}")).await;
        assert!(!out.is_empty(), "{args}: no answer");
        assert!(
            out.iter().all(|o| matches!(o, Outbound::Private { .. })),
            "{args}: answered in the group: {out:?}"
        );
    }
}

/// A reload (the same sync as at start) never lets a survey in bot.toml take over a poll made
/// with /poll that has its id, and a deadline moved into the future makes a finalised poll's
/// message live again, so the closer finalises it when the new deadline passes.
#[tokio::test]
async fn a_reload_takes_over_no_poll_and_a_reopened_poll_is_final_no_longer() {
    use canvass::store::SurveySync;
    let t = spawn_app().await;
    let (quick, ..) = poll(&t, "X? | a | b").await;
    let survey = |id: &str, closes: &str| {
        format!(
            "[[surveys]]\nid = \"{id}\"\ntitle = \"T\"\n{closes}\n[[surveys.questions]]\nid = \"q\"\n\
             type = \"single\"\ntext = \"Config question?\"\noptions = [\"cfg1\", \"cfg2\", \"cfg3\"]\n"
        )
    };
    let sync = |src: String, now| {
        let store = t.app.store.clone();
        async move {
            let cfg = canvass::config::Config::parse(&src, std::path::Path::new("r.toml"))
                .expect("config");
            store.sync_surveys(&cfg.surveys, now).await.expect("sync")
        }
    };
    let out = sync(survey("x", ""), t0()).await;
    assert!(matches!(out[..], [SurveySync::Refused { .. }]), "{out:?}");
    let stored = t.app.store.survey_by_key(quick).await.unwrap().unwrap();
    assert_eq!(
        stored.survey.questions[0].text, "X?",
        "the poll was taken over"
    );

    // A configured survey closing an hour after t0, posted, and finalised after its deadline.
    let h = |n: i64| t0() + chrono::Duration::hours(n);
    let closes = |at: chrono::DateTime<chrono::Utc>| format!("closes_at = \"{}\"", at.to_rfc3339());
    sync(survey("late", &closes(h(1))), t0()).await;
    let key = t
        .app
        .store
        .survey_by_slug("late")
        .await
        .unwrap()
        .unwrap()
        .key;
    t.app
        .store
        .record_posting(key, Platform::Telegram, "-100", "7", t0())
        .await
        .expect("posting");
    assert!(
        t.app
            .store
            .record_finalised(key, Platform::Telegram, "-100", h(2))
            .await
            .unwrap()
    );
    // Moved, but still past: it stays final.
    sync(
        survey("late", &closes(h(1) + chrono::Duration::minutes(30))),
        h(2),
    )
    .await;
    assert!(
        !t.app
            .store
            .unfinalised_postings(Platform::Telegram)
            .await
            .unwrap()
            .contains(&key)
    );
    // Moved into the future: live again, to be finalised at the new deadline.
    sync(survey("late", &closes(h(5))), h(2)).await;
    assert!(
        t.app
            .store
            .unfinalised_postings(Platform::Telegram)
            .await
            .unwrap()
            .contains(&key)
    );
}

/// A hostile tester's find: during a burst, a live poll's refresh showed counts adding up to
/// 900 beside "801 people have answered" (two reads straddling a commit). Every view taken
/// while taps commit must add up: on a single-choice poll the counts sum to the people.
#[tokio::test]
async fn a_live_polls_counts_add_up_to_its_people_while_a_burst_commits() {
    let t = std::sync::Arc::new(spawn_app().await);
    let (key, _, buttons) = poll(&t, "Snack? | Apples | Pears | Plums --results live").await;
    let burst = {
        let t = t.clone();
        tokio::spawn(async move {
            let taps = (0..300).map(|i| {
                let (t, buttons) = (t.clone(), buttons.clone());
                async move {
                    let who = format!("m{}", i % 200);
                    t.tap(&who, group(), &buttons[i % buttons.len()]).await
                }
            });
            futures_util::future::join_all(taps).await
        })
    };
    let mut views = 0;
    loop {
        let done = burst.is_finished();
        let (msg, _) = t
            .app
            .service
            .poll_view(key)
            .await
            .expect("view")
            .expect("poll exists");
        let people = msg.data["respondents"].as_i64().expect("respondents");
        let counted: i64 = msg.data["results"]["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["count"].as_i64())
            .sum();
        assert_eq!(counted, people, "view {views}: {}", msg.data);
        views += 1;
        if done {
            break;
        }
    }
    burst.await.expect("burst");
    let (msg, _) = t
        .app
        .service
        .poll_view(key)
        .await
        .expect("view")
        .expect("poll");
    assert_eq!(msg.data["respondents"].as_i64(), Some(200), "{}", msg.data);
}
