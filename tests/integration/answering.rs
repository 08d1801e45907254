//! Members answering polls and surveys: several members, changes, redelivery, restart, concurrency.

use crate::support::*;
use canvass::core::event::{Body, Expect, Outbound};
use canvass::core::ids::SurveyKey;
use canvass::service::Handled;

#[tokio::test]
async fn several_members_answer_a_poll_in_the_group() {
    let t = spawn_app().await;
    let kb = t.post("lunch").await;
    let p = payloads(&kb);
    assert_eq!(p.len(), 3, "one button per option");
    for (user, i) in [("alice", 0), ("bob", 1), ("carol", 1), ("dan", 2)] {
        let out = t.tap(user, group(), &p[i]).await;
        assert!(t.text(&out).starts_with("Saved: "), "{}", t.text(&out));
        assert!(
            out.iter()
                .any(|o| matches!(o, Outbound::RefreshPolls { .. }))
        );
    }
    let cur = t.current("lunch", "food").await;
    assert_eq!(cur.len(), 4);
    assert_eq!(cur.iter().filter(|v| v.contains("\"sushi\"")).count(), 2);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM members").await, 4);
    // The refreshed poll message shows how many answered, not the tally (results hidden).
    let key = SurveyKey(
        t.scalar("SELECT id FROM surveys WHERE slug = 'lunch'")
            .await,
    );
    let (msg, _) = t.app.service.poll_view(key).await.unwrap().unwrap();
    let text = t
        .app
        .renderer
        .render(canvass::render::Target::Plain, &msg)
        .unwrap();
    assert!(text.contains("4 people have answered"), "{text}");
    assert!(
        text.contains("Results are shown when the poll closes"),
        "{text}"
    );
    assert!(!text.contains("Sushi"), "tallies must stay hidden: {text}");
}

#[tokio::test]
async fn a_member_changes_an_answer_and_history_is_kept() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    t.tap("alice", group(), &p[0]).await;
    let out = t.tap("alice", group(), &p[2]).await;
    assert_eq!(t.text(&out), "Changed to: Salad");
    let out = t.tap("alice", group(), &p[2]).await;
    assert_eq!(t.text(&out), "That is already your answer.");
    assert_eq!(
        t.current("lunch", "food").await,
        vec![r#"{"kind":"choice","value":"salad"}"#]
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 2);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM answers WHERE superseded_at IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn multi_choice_toggles_inline_within_the_limit() {
    let t = spawn_app().await;
    let p = payloads(&t.post("tools").await);
    t.tap("alice", group(), &p[0]).await;
    t.tap("alice", group(), &p[2]).await;
    let out = t.tap("alice", group(), &p[3]).await;
    assert_eq!(
        t.text(&out),
        "You can pick up to 2. Tap one of your choices to remove it first."
    );
    t.tap("alice", group(), &p[0]).await;
    assert_eq!(
        t.current("tools", "use").await,
        vec![r#"{"kind":"choices","value":["telegram"]}"#]
    );
    let out = t.tap("alice", group(), &p[2]).await;
    assert_eq!(t.text(&out), "Answer withdrawn.");
    assert!(t.current("tools", "use").await.is_empty());
}

#[tokio::test]
async fn ranking_by_successive_taps_with_undo() {
    let t = spawn_app().await;
    let p = payloads(&t.post("rank").await);
    assert_eq!(p.len(), 5, "four options and undo");
    let out = t.tap("alice", group(), &p[3]).await;
    assert_eq!(t.text(&out), "#1: SSO. 3 more to go.");
    t.tap("alice", group(), &p[0]).await;
    let out = t.tap("alice", group(), &p[4]).await;
    assert_eq!(t.text(&out), "Undone.");
    t.tap("alice", group(), &p[1]).await;
    assert!(
        t.current("rank", "order").await.is_empty(),
        "not complete yet"
    );
    let out = t.tap("alice", group(), &p[2]).await;
    assert!(
        t.text(&out)
            .starts_with("Saved: SSO > Offline sync > CSV export > Dark mode")
    );
    assert_eq!(
        t.current("rank", "order").await,
        vec![r#"{"kind":"ranking","value":["sso","offline-sync","csv-export","dark-mode"]}"#]
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM drafts").await, 0);
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    let ev = t.event("alice", group(), Body::Button(p[0].clone()));
    assert!(matches!(t.send(&ev).await, Handled::Replies(_)));
    let change = t.event("alice", group(), Body::Button(p[1].clone()));
    t.send(&change).await;
    // The first tap arrives again (platform redelivery): it must not undo the change.
    assert_eq!(t.send(&ev).await, Handled::Duplicate);
    assert_eq!(
        t.current("lunch", "food").await,
        vec![r#"{"kind":"choice","value":"sushi"}"#]
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM answers").await, 2);
    // A redelivered /poll does not create or post a second poll.
    let poll = t.event(
        "pm",
        group(),
        Body::Text("/poll Tea or coffee? | Tea | Coffee".into()),
    );
    let first = t.send(&poll).await;
    assert!(matches!(
        first.replies().first(),
        Some(Outbound::PostPoll { .. })
    ));
    assert_eq!(t.send(&poll).await, Handled::Duplicate);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM surveys WHERE source = 'command'")
            .await,
        1
    );
}

/// Walks the private flow of `deep` up to the given number of answered questions.
async fn answer_deep(t: &TestApp, user: &str, upto: usize) -> Vec<Outbound> {
    let mut out = t.say(user, dm(user), "/start deep").await;
    assert!(t.text(&out).contains("Deep dive · 1/5"), "{}", t.text(&out));
    for step in 0..upto {
        let kb = last_keyboard(&out);
        let p = payloads(&kb);
        out = match step {
            0 => t.tap(user, dm(user), &p[1]).await,     // Pro
            1 => t.tap(user, dm(user), &p[9]).await,     // NPS 9 (buttons 0..10)
            2..=4 => t.tap(user, dm(user), &p[0]).await, // pairwise cards, left side
            5 => t.tap(user, dm(user), &p[0]).await,     // message test
            _ => unreachable!(),
        };
    }
    out
}

#[tokio::test]
async fn a_restart_mid_survey_resumes_where_the_member_was() {
    let t = spawn_app().await;
    let out = answer_deep(&t, "alice", 2).await;
    assert!(t.text(&out).contains("Deep dive · 3/5"), "{}", t.text(&out));
    let old = payloads(&last_keyboard(&out));

    let t = t.restart().await;
    let out = t.say("alice", dm("alice"), "/start deep").await;
    let text = t.text(&out);
    assert!(
        text.contains("Deep dive · 3/5"),
        "resumed at question 3: {text}"
    );
    assert!(text.contains("Which is better? (1 of 3)"), "{text}");
    // Buttons from before the restart still work: the schedule is derived, not in memory.
    assert_eq!(old, payloads(&last_keyboard(&out)));
    let mut out = out;
    for _ in 0..3 {
        out = t
            .tap("alice", dm("alice"), &payloads(&last_keyboard(&out))[0])
            .await;
    }
    assert!(t.text(&out).contains("Deep dive · 4/5"), "{}", t.text(&out));
    out = t
        .tap("alice", dm("alice"), &payloads(&last_keyboard(&out))[1])
        .await;
    assert!(
        t.text(&out).contains("Type your answer"),
        "{}",
        t.text(&out)
    );
    let out = t.say("alice", dm("alice"), "Great <b>tool</b>!").await;
    assert!(
        t.text(&out).contains("that's all for \"Deep dive\""),
        "{}",
        t.text(&out)
    );
    assert_eq!(
        t.current("deep", "why").await,
        vec![r#"{"kind":"text","value":"Great <b>tool</b>!"}"#]
    );
    assert_eq!(t.current("deep", "compare").await.len(), 1);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM answers WHERE superseded_at IS NULL")
            .await,
        5
    );
    // Answer timing is stored for speeder checks.
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM answers WHERE shown_at IS NULL OR shown_at > answered_at")
            .await,
        0
    );
    // A tap on a question already behind the member changes nothing.
    let stale = t.tap("alice", dm("alice"), &old[0]).await;
    assert_eq!(
        t.text(&stale),
        "This button is no longer valid. Nothing was changed."
    );
}

#[tokio::test]
async fn concurrent_taps_are_each_counted_exactly_once() {
    let t = std::sync::Arc::new(spawn_app().await);
    let p = payloads(&t.post("lunch").await);
    let members = 300;
    let mut tasks = Vec::new();
    for m in 0..members {
        let t = t.clone();
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let user = format!("member{m}");
            // Everyone taps Pizza, then a third change their mind to Salad.
            t.tap(&user, group(), &p[0]).await;
            if m % 3 == 0 {
                t.tap(&user, group(), &p[2]).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let cur = t.current("lunch", "food").await;
    assert_eq!(cur.len(), members);
    assert_eq!(
        cur.iter().filter(|v| v.contains("salad")).count(),
        members / 3
    );
    assert_eq!(
        cur.iter().filter(|v| v.contains("pizza")).count(),
        members - members / 3
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM members").await,
        members as i64
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM answers").await,
        (members + members / 3) as i64
    );
    assert_eq!(t.app.store.integrity_check().await.unwrap(), "ok");
}

#[tokio::test]
async fn the_persona_question_is_asked_once_and_becomes_a_segment() {
    let config = format!(
        "{CONFIG}\n[persona]\nquestion = \"Which best describes you?\"\noptions = [\"Customer\", \"Just curious\"]\n"
    );
    let t = spawn_app_with(&config).await;
    let out = t.say("alice", dm("alice"), "/start deep").await;
    assert!(
        t.text(&out).contains("Which best describes you?"),
        "{}",
        t.text(&out)
    );
    let out = t
        .tap("alice", dm("alice"), &payloads(&last_keyboard(&out))[0])
        .await;
    let text = t.text(&out);
    assert!(text.contains("Noted: Customer"), "{text}");
    assert!(
        text.contains("Deep dive · 1/5"),
        "the survey starts right after: {text}"
    );
    t.tap("alice", dm("alice"), &payloads(&last_keyboard(&out))[0])
        .await;
    // Not asked again for another survey.
    let p = payloads(&t.post("lunch").await);
    t.tap("alice", group(), &p[0]).await;
    let segs: Vec<(String,)> = sqlx::query_as("SELECT segments FROM respondents ORDER BY id")
        .fetch_all(t.app.store.pool())
        .await
        .unwrap();
    assert!(
        segs.iter().all(|s| s.0.contains("persona: Customer")),
        "{segs:?}"
    );
    let out = t.say("alice", dm("alice"), "/start rank").await;
    assert!(!t.text(&out).contains("Which best describes you?"));
}

#[tokio::test]
async fn a_failing_event_rolls_back_alone_in_its_group_commit() {
    let t = std::sync::Arc::new(spawn_app().await);
    let p = payloads(&t.post("lunch").await);
    // Make the database refuse one member, as a full disk or a bug would, mid-batch.
    sqlx::query(
        "CREATE TRIGGER poison BEFORE INSERT ON members WHEN NEW.platform_user_id = 'poisoned'
         BEGIN SELECT RAISE(ABORT, 'poisoned member'); END",
    )
    .execute(t.app.store.pool())
    .await
    .expect("trigger");
    let poisoned = t.event("poisoned", group(), Body::Button(p[1].clone()));
    let mut tasks = Vec::new();
    for m in 0..100 {
        let t = t.clone();
        let p = p.clone();
        let poisoned = poisoned.clone();
        tasks.push(tokio::spawn(async move {
            if m == 50 {
                t.app.service.handle(&poisoned).await.is_ok()
            } else {
                let ev = t.event(&format!("member{m}"), group(), Body::Button(p[0].clone()));
                t.app.service.handle(&ev).await.is_ok()
            }
        }));
    }
    let mut ok = 0;
    for task in tasks {
        ok += usize::from(task.await.expect("task"));
    }
    assert_eq!(ok, 99, "only the poisoned event fails");
    assert_eq!(t.current("lunch", "food").await.len(), 99);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM members WHERE platform_user_id = 'poisoned'")
            .await,
        0
    );
    // Its event id was rolled back with it, so a redelivery is applied, not ignored.
    sqlx::query("DROP TRIGGER poison")
        .execute(t.app.store.pool())
        .await
        .expect("drop trigger");
    let out = t.send(&poisoned).await;
    assert!(t.text(out.replies()).starts_with("Saved: "));
    assert_eq!(t.current("lunch", "food").await.len(), 100);
    assert_eq!(t.app.store.integrity_check().await.unwrap(), "ok");
}

#[tokio::test]
async fn a_redelivered_report_command_is_answered_once() {
    let t = spawn_app().await;
    let p = payloads(&t.post("lunch").await);
    t.tap("alice", group(), &p[0]).await;
    // Reports are made outside the writer's transaction; their event id is still claimed first.
    let ev = t.event("pm", group(), Body::Text("/insights lunch".into()));
    let first = t.send(&ev).await;
    assert!(
        first
            .replies()
            .iter()
            .any(|o| matches!(o, Outbound::Report { .. })),
        "{first:?}"
    );
    assert_eq!(t.send(&ev).await, Handled::Duplicate);
    // A member asking for a report is refused inside the writer, as before.
    let out = t.say("alice", group(), "/insights lunch").await;
    assert!(t.text(&out).contains("product team"), "{}", t.text(&out));
}

#[tokio::test]
async fn cancel_while_the_persona_question_shows_cancels_it() {
    let config = format!(
        "{CONFIG}\n[persona]\nquestion = \"Which best describes you?\"\noptions = [\"Customer\", \"Just curious\"]\n"
    );
    let t = spawn_app_with(&config).await;
    let out = t.say("alice", dm("alice"), "/start deep").await;
    assert!(t.text(&out).contains("Which best describes you?"));
    let text = t.text(&t.say("alice", dm("alice"), "/cancel").await);
    assert!(!text.contains("not taking a survey"), "{text}");
    assert!(text.contains("Deep dive"), "{text}");
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM pending_persona").await,
        0,
        "nothing waits for the persona any more"
    );
    let text = t.text(&t.say("alice", dm("alice"), "/cancel").await);
    assert!(text.contains("not taking a survey"), "{text}");
}

#[tokio::test]
async fn members_see_no_question_types_or_option_ids_in_survey() {
    let t = spawn_app().await;
    let member = t.text(&t.say("alice", dm("alice"), "/survey deep").await);
    assert!(member.contains("Which matters more?"), "{member}");
    assert!(member.contains("Honest numbers"), "{member}");
    for internal in ["[message_test]", "[pairwise", "(fast-and-simple)", "(free)"] {
        assert!(!member.contains(internal), "{internal}: {member}");
    }
    assert!(member.contains("Anything else? (optional)"), "{member}");
    let team = t.text(&t.say("pm", dm("pm"), "/survey deep").await);
    assert!(team.contains("[message_test]"), "{team}");
    assert!(team.contains("fast-and-simple"), "{team}");
}

#[tokio::test]
async fn start_and_survey_echo_a_huge_argument_capped() {
    let t = spawn_app().await;
    let huge = "Z".repeat(100_000);
    for cmd in ["/start", "/survey"] {
        let out = t.say("alice", dm("alice"), &format!("{cmd} {huge}")).await;
        let text = t.text(&out);
        assert_eq!(out.len(), 1, "{cmd}: one reply");
        assert!(
            text.chars().count() < 400,
            "{cmd}: {} chars",
            text.chars().count()
        );
        assert!(
            text.contains("ZZZZ"),
            "{cmd}: the start is still shown: {text}"
        );
    }
}

#[tokio::test]
async fn prefer_not_to_say_is_stored_as_its_own_id_and_is_no_segment() {
    let config = format!(
        "{CONFIG}\n[persona]\nquestion = \"Which best describes you?\"\noptions = [\"Customer\", \"Just curious\"]\n"
    );
    let t = spawn_app_with(&config).await;
    let out = t.say("alice", dm("alice"), "/start lunch").await;
    let kb = last_keyboard(&out);
    let labels: Vec<String> = kb
        .buttons()
        .map(|b| t.app.renderer.label(&b.label).expect("label"))
        .collect();
    assert_eq!(labels.last().map(String::as_str), Some("Prefer not to say"));
    let p = payloads(&kb);
    let out = t.tap("alice", dm("alice"), &p[p.len() - 1]).await;
    let text = t.text(&out);
    assert!(text.contains("prefer not to say"), "{text}");
    assert!(
        text.contains("Lunch"),
        "the survey starts right after: {text}"
    );
    t.tap("alice", dm("alice"), &payloads(&last_keyboard(&out))[0])
        .await;
    let persona: (String,) = sqlx::query_as("SELECT persona FROM members")
        .fetch_one(t.app.store.pool())
        .await
        .unwrap();
    assert_eq!(persona.0, "prefer_not_to_say");
    let segs: (String,) = sqlx::query_as("SELECT segments FROM respondents")
        .fetch_one(t.app.store.pool())
        .await
        .unwrap();
    assert!(!segs.0.contains("persona"), "{}", segs.0);
    let text = t.text(&t.say("alice", dm("alice"), "/mydata").await);
    assert!(
        text.contains("Describes you as: prefer not to say"),
        "{text}"
    );
}

/// The core says which step wants a typed answer (`Msg::expects`), so an adapter offers its
/// form for it (Discord's "write your answer" button) without matching template names.
#[tokio::test]
async fn an_open_text_step_says_it_wants_free_text() {
    let t = spawn_app().await;
    let out = t.say("ana", dm("ana"), "/start secret-deep").await;
    let (first, kb) = out
        .iter()
        .find_map(|o| match o {
            Outbound::Reply { msg, keyboard } if msg.template == "question" => {
                Some((msg.clone(), keyboard.clone()))
            }
            _ => None,
        })
        .expect("the first question");
    assert_eq!(first.expects, None, "a rating is answered with its buttons");
    let tap = payloads(&kb).into_iter().next().expect("a scale button");
    let out = t.tap("ana", dm("ana"), &tap).await;
    let second = out
        .iter()
        .find_map(|o| match o {
            Outbound::Reply { msg, .. } if msg.template == "question" => Some(msg.clone()),
            _ => None,
        })
        .expect("the second question");
    assert_eq!(
        second.expects,
        Some(Expect::FreeText {
            question: "Tell us more".into(),
            max_chars: 100,
        })
    );
}
