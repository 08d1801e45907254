//! The Telegram adapter end to end: the real teloxide client against the fake Bot API.

use crate::support::telegram::*;
use crate::support::*;
use canvass::config::{Secret, TelegramConfig};
use canvass::platform::telegram::Telegram;
use tokio::sync::oneshot;

const GROUP: i64 = -100_500;

fn group_chat() -> TgChat {
    TgChat::group(GROUP, "Community <3")
}

fn pm() -> TgUser {
    TgUser::new(1000, "Pat")
}

fn member(id: i64, name: &str) -> TgUser {
    TgUser::new(id, name)
}

/// The app and a running adapter pointed at the fake.
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
    /// Graceful stop, as on SIGTERM.
    async fn stop(self) -> (TestApp, FakeTelegram) {
        let _ = self.stop.send(());
        self.task.await.expect("adapter task");
        (self.t, self.fake)
    }

    /// The newest bot message in a chat whose text contains `needle`.
    async fn message(&self, chat: i64, needle: &str) -> Sent {
        let what = format!("a message containing {needle:?} in chat {chat}");
        self.fake
            .wait_for(&what, |f| {
                f.sent()
                    .into_iter()
                    .rev()
                    .find(|m| m.chat_id == chat && m.text.contains(needle))
            })
            .await
    }

    /// Taps and waits for the toast.
    async fn tap(
        &self,
        who: &TgUser,
        chat: &TgChat,
        message_id: i64,
        data: &str,
    ) -> Option<String> {
        let (_, id) = self.fake.tap(who, chat, message_id, data);
        self.fake
            .wait_for("the tap to be answered", |f| {
                f.callback_answers().into_iter().find(|a| a.id == id)
            })
            .await
            .text
    }

    /// Posts a survey in the group as the product team; returns the poll message and buttons.
    async fn post(&self, survey: &str) -> (i64, Vec<(String, String)>) {
        let before = self.fake.sent().len();
        self.fake
            .send_text(&pm(), &group_chat(), &format!("/post {survey}"));
        let m = self
            .fake
            .wait_for("the poll to be posted", |f| {
                f.sent()
                    .into_iter()
                    .skip(before)
                    .find(|m| m.chat_id == GROUP)
            })
            .await;
        (m.message_id, self.fake.buttons(GROUP, m.message_id))
    }
}

#[tokio::test]
async fn members_answer_in_a_group_and_change_their_minds() {
    let r = boot().await;
    let (poll, buttons) = r.post("lunch").await;
    assert_eq!(buttons.len(), 3);
    let sent = r.fake.sent();
    let posted = sent.iter().find(|m| m.message_id == poll).unwrap();
    assert_eq!(posted.parse_mode.as_deref(), Some("HTML"));
    assert!(
        posted.text.contains("<b>What should we order?</b>"),
        "{}",
        posted.text
    );
    for (id, name, pick) in [(2001, "Ana", 0), (2002, "Ben", 1), (2003, "Cy", 1)] {
        let toast = r
            .tap(&member(id, name), &group_chat(), poll, &buttons[pick].1)
            .await;
        assert!(toast.unwrap_or_default().starts_with("Saved: "));
    }
    let toast = r
        .tap(&member(2002, "Ben"), &group_chat(), poll, &buttons[2].1)
        .await;
    assert_eq!(toast.as_deref(), Some("Changed to: Salad"));
    assert_eq!(r.t.current("lunch", "food").await.len(), 3);
    assert_eq!(
        r.t.scalar("SELECT COUNT(*) FROM answers WHERE superseded_at IS NOT NULL")
            .await,
        1
    );
    // Confirmations are toasts: the group got no reply messages for the taps.
    assert_eq!(
        r.fake.sent().iter().filter(|m| m.chat_id == GROUP).count(),
        1
    );
    // The poll message is refreshed (coalesced) with how many answered, never the tally.
    let text = r
        .fake
        .wait_for("the counter to reach 3", |f| {
            f.message_text(GROUP, poll)
                .filter(|t| t.contains("3 people have answered"))
        })
        .await;
    assert!(!text.contains("Sushi: "), "{text}");
    assert!(
        r.fake.calls("EditMessageText") <= 4,
        "edits are coalesced, not one per vote"
    );
    // Members in private chats: a multi-question survey.
    let ana = member(2001, "Ana");
    r.fake
        .send_text(&ana, &TgChat::Private(2001), "/start deep");
    let q1 = r.message(2001, "Deep dive · 1/5").await;
    let b = r.fake.buttons(2001, q1.message_id);
    let toast = r
        .tap(&ana, &TgChat::Private(2001), q1.message_id, &b[1].1)
        .await;
    assert_eq!(toast.as_deref(), Some("Saved: Pro"));
    r.message(2001, "Deep dive · 2/5").await;
    r.stop().await;
}

#[tokio::test]
async fn a_survey_resumes_after_the_bot_restarts() {
    let r = boot().await;
    let ana = member(2001, "Ana");
    let dm = TgChat::Private(2001);
    r.fake.send_text(&ana, &dm, "/start deep");
    let q = r.message(2001, "Deep dive · 1/5").await;
    r.tap(
        &ana,
        &dm,
        q.message_id,
        &r.fake.buttons(2001, q.message_id)[0].1,
    )
    .await;
    let q = r.message(2001, "Deep dive · 2/5").await;
    r.tap(
        &ana,
        &dm,
        q.message_id,
        &r.fake.buttons(2001, q.message_id)[8].1,
    )
    .await;
    r.message(2001, "Deep dive · 3/5").await;

    let before = r.message(2001, "Deep dive · 3/5").await.message_id;
    let (t, fake) = r.stop().await;
    let r = start(t.restart().await, fake).await;
    r.fake.send_text(&ana, &dm, "/start deep");
    let mut q = r
        .fake
        .wait_for("the resumed question", |f| {
            f.sent().into_iter().find(|m| {
                m.chat_id == 2001 && m.message_id > before && m.text.contains("Deep dive · 3/5")
            })
        })
        .await;
    for _ in 0..3 {
        let b = r.fake.buttons(2001, q.message_id);
        r.tap(&ana, &dm, q.message_id, &b[0].1).await;
        q = r
            .fake
            .wait_for("the next step", |f| {
                f.sent()
                    .into_iter()
                    .rev()
                    .find(|m| m.chat_id == 2001 && m.message_id > q.message_id)
            })
            .await;
    }
    assert!(q.text.contains("Deep dive · 4/5"), "{}", q.text);
    r.tap(
        &ana,
        &dm,
        q.message_id,
        &r.fake.buttons(2001, q.message_id)[1].1,
    )
    .await;
    r.message(2001, "Deep dive · 5/5").await;
    r.fake.send_text(&ana, &dm, "Fast & <b>honest</b>");
    let done = r.message(2001, "that's all").await;
    assert!(done.text.contains("Deep dive"));
    assert_eq!(
        r.t.current("deep", "why").await,
        vec![r#"{"kind":"text","value":"Fast & <b>honest</b>"}"#]
    );
    assert_eq!(
        r.t.scalar("SELECT COUNT(*) FROM answers WHERE superseded_at IS NULL")
            .await,
        5
    );
    r.stop().await;
}

#[tokio::test]
async fn the_product_team_gets_insights_with_a_photo_and_outsiders_are_refused() {
    let r = boot().await;
    let (poll, b) = r.post("lunch").await;
    for i in 0..12 {
        r.tap(
            &member(3000 + i, "M"),
            &group_chat(),
            poll,
            &b[(i % 3 != 0) as usize].1,
        )
        .await;
    }
    // Asked in the group, answered privately: the group never sees the report.
    r.fake.send_text(&pm(), &group_chat(), "/insights lunch");
    let m = r.message(pm().id, "<b>Headline</b>").await;
    assert!(
        m.text.contains("Sushi leads") || m.text.contains("too close"),
        "{}",
        m.text
    );
    let photo = r
        .fake
        .wait_for("the chart", |f| {
            f.uploads().into_iter().find(|u| u.method == "SendPhoto")
        })
        .await;
    assert_eq!(photo.chat_id, pm().id);
    assert!(photo.bytes.starts_with(b"\x89PNG"));

    r.fake
        .send_text(&member(4444, "Stranger"), &group_chat(), "/insights lunch");
    r.message(GROUP, "Sorry, /insights is for the product team.")
        .await;
    r.fake
        .send_text(&member(4444, "Stranger"), &group_chat(), "/export lunch");
    r.message(GROUP, "Sorry, /export is for the product team.")
        .await;
    assert_eq!(r.fake.uploads().len(), 1);

    // /export: a CSV document whose rows match the database.
    r.fake.send_text(&pm(), &group_chat(), "/export lunch");
    let doc = r
        .fake
        .wait_for("the CSV", |f| {
            f.uploads().into_iter().find(|u| u.method == "SendDocument")
        })
        .await;
    assert_eq!(doc.filename.as_deref(), Some("lunch.csv"));
    assert_eq!(
        doc.chat_id,
        pm().id,
        "the CSV goes to the asker, not the group"
    );
    let csv = String::from_utf8(doc.bytes).unwrap();
    assert_eq!(csv.lines().count(), 13, "{csv}");
    assert!(csv.contains("telegram:3001,"), "{csv}");
    assert!(csv.contains("chat: Community <3"), "{csv}");
    let pizza = csv.lines().filter(|l| l.ends_with(",pizza")).count() as i64;
    assert_eq!(pizza, 4);
    r.stop().await;
}

#[tokio::test]
async fn forgetme_removes_the_members_rows() {
    let r = boot().await;
    let (poll, b) = r.post("lunch").await;
    let ana = member(2001, "Ana");
    r.tap(&ana, &group_chat(), poll, &b[0].1).await;
    r.tap(&member(2002, "Ben"), &group_chat(), poll, &b[1].1)
        .await;
    r.fake.send_text(&ana, &TgChat::Private(2001), "/forgetme");
    let m = r.message(2001, "Deleted 1 answer").await;
    assert!(m.text.contains("Lunch: 1 answer"), "{}", m.text);
    assert_eq!(
        r.t.scalar("SELECT COUNT(*) FROM members WHERE platform_user_id = '2001'")
            .await,
        0
    );
    assert_eq!(r.t.current("lunch", "food").await.len(), 1);
    r.stop().await;
}

#[tokio::test]
async fn redelivered_updates_and_forged_taps_change_nothing() {
    let r = boot().await;
    let (poll, b) = r.post("lunch").await;
    let ana = member(2001, "Ana");
    let (first, id) = r.fake.tap(&ana, &group_chat(), poll, &b[0].1);
    r.fake
        .wait_for("first tap", |f| {
            f.callback_answers().into_iter().find(|a| a.id == id)
        })
        .await;
    r.tap(&ana, &group_chat(), poll, &b[1].1).await;
    // Telegram hands the first tap out again: the later change must stand.
    let answers = r.fake.calls("AnswerCallbackQuery");
    r.fake.redeliver(first);
    // The adapter answers the redelivered tap (Telegram refuses a second answer; that is fine).
    r.fake
        .wait_for("the redelivered tap to be handled", |f| {
            (f.calls("AnswerCallbackQuery") > answers).then_some(())
        })
        .await;
    assert_eq!(
        r.t.current("lunch", "food").await,
        vec![r#"{"kind":"choice","value":"sushi"}"#]
    );
    assert_eq!(r.t.scalar("SELECT COUNT(*) FROM answers").await, 2);

    // A forged payload, and a real one from a chat where the poll was never posted.
    let mallory = member(6666, "Mallory");
    for data in ["c1.999.c.0.0", "garbage", &format!("{}9", b[0].1)] {
        let toast = r.tap(&mallory, &group_chat(), poll, data).await;
        assert_eq!(
            toast.as_deref(),
            Some("This button is no longer valid. Nothing was changed."),
            "{data}"
        );
    }
    let other = TgChat::group(-100_777, "Elsewhere");
    r.fake.add_chat(&other);
    let toast = r.tap(&mallory, &other, poll, &b[0].1).await;
    assert_eq!(
        toast.as_deref(),
        Some("This button is no longer valid. Nothing was changed.")
    );
    assert_eq!(r.t.scalar("SELECT COUNT(*) FROM answers").await, 2);
    r.stop().await;
}

#[tokio::test]
async fn html_injection_renders_literally() {
    let r = boot().await;
    r.fake.send_text(
        &pm(),
        &group_chat(),
        "/poll <b>Lunch</b> & <a href=\"x\">more</a>? | <i>A</i> | B&B",
    );
    let m = r.message(GROUP, "Lunch").await;
    assert!(
        m.text.contains(
            "<b>&lt;b&gt;Lunch&lt;/b&gt; &amp; &lt;a href=&quot;x&quot;&gt;more&lt;/a&gt;?</b>"
        ),
        "{}",
        m.text
    );
    let labels: Vec<String> = r
        .fake
        .buttons(GROUP, m.message_id)
        .into_iter()
        .map(|b| b.0)
        .collect();
    assert_eq!(labels, ["<i>A</i>", "B&B"], "button labels are plain text");
    r.stop().await;
}

#[tokio::test]
async fn a_429_is_honoured_and_unreachable_members_get_a_way_in() {
    let r = boot().await;
    let (poll, b) = r.post("lunch").await;
    r.fake.rate_limit_next("AnswerCallbackQuery", 1);
    let toast = r
        .tap(&member(2001, "Ana"), &group_chat(), poll, &b[0].1)
        .await;
    assert_eq!(toast.as_deref(), Some("Saved: Pizza"));
    assert_eq!(
        r.fake.calls("AnswerCallbackQuery"),
        2,
        "retried once after the 429"
    );
    assert_eq!(r.t.current("lunch", "food").await.len(), 1);

    // A member who never opened a private chat asks for their data in the group.
    r.fake.never_started(2002);
    r.fake
        .send_text(&member(2002, "Ben"), &group_chat(), "/mydata");
    let hint = r.message(GROUP, "I can't message you privately").await;
    assert!(hint.reply_markup.is_some());
    // Kicked from a group: sending fails, is logged, and nothing else breaks.
    r.fake.kick_bot(GROUP);
    r.fake.send_text(&pm(), &group_chat(), "/surveys");
    r.fake
        .send_text(&member(2003, "Cy"), &TgChat::Private(2003), "/help");
    r.message(2003, "canvass").await;
    r.stop().await;
}

#[tokio::test]
async fn the_command_menu_is_published_in_every_shipped_language() {
    let r = boot().await;
    let has = |menu: &[(String, String)], cmd: &str, words: &str| {
        menu.iter().any(|(c, d)| c == cmd && d == words)
    };
    for (language, help) in [
        (None, "What canvass can do"),
        (Some("de"), "Was canvass kann"),
        (Some("es"), "Qué puede hacer canvass"),
    ] {
        for (scope, team) in [("default", false), ("all_chat_administrators", true)] {
            let menu = r
                .fake
                .wait_for(&format!("the {scope} menu in {language:?}"), |f| {
                    let m = f.menu(scope, language);
                    (!m.is_empty()).then_some(m)
                })
                .await;
            assert!(has(&menu, "help", help), "{scope} {language:?}: {menu:?}");
            assert_eq!(
                menu.iter().any(|(c, _)| c == "insights"),
                team,
                "team commands only in the administrators' menu: {scope} {menu:?}"
            );
        }
    }
    // Every menu command is one the bot understands (a missing argument is a usage error,
    // never an unknown command).
    for (c, _) in r.fake.menu("all_chat_administrators", None) {
        let parsed = canvass::core::command::parse(&format!("/{c}"));
        assert!(
            !matches!(
                parsed,
                Err(canvass::core::command::CommandError::Unknown(_)) | Ok(None)
            ),
            "/{c}: {parsed:?}"
        );
    }
    r.stop().await;
}

#[tokio::test]
async fn a_german_member_takes_a_survey_in_german() {
    let r = boot().await;
    let mut jonas = member(3001, "Jonas");
    jonas.language_code = Some("de-DE".into());
    let dm = TgChat::Private(3001);
    r.fake.send_text(&jonas, &dm, "/start lunch");
    r.message(3001, "1 Frage.").await;
    let q = r.message(3001, "Wähle eine Option.").await;
    let buttons = r.fake.buttons(3001, q.message_id);
    let toast = r.tap(&jonas, &dm, q.message_id, &buttons[0].1).await;
    assert_eq!(toast.as_deref(), Some("Gespeichert: Pizza"));
    let done = r.message(3001, "das war alles").await;
    assert!(done.text.contains("„Lunch“"), "{}", done.text);
    assert_eq!(r.t.current("lunch", "food").await.len(), 1);
    assert_eq!(
        r.t.scalar("SELECT COUNT(*) FROM answers WHERE locale = 'de'")
            .await,
        1
    );
    r.stop().await;
}

#[tokio::test]
async fn insights_carry_a_checked_narrative_escaped_and_without_member_identities() {
    use crate::support::openai::{FakeOpenAi, Reply};
    let llm = FakeOpenAi::start(Reply::Status(503)).await;
    let fake = FakeTelegram::start().await;
    fake.add_chat(&group_chat());
    let t = spawn_app_with(&format!("{CONFIG}{}", llm.section(10_000))).await;
    let r = start(t, fake).await;
    let (poll, b) = r.post("lunch").await;
    for i in 0..12 {
        r.tap(
            &member(5_551_000 + i, "Quentin Zebulon"),
            &group_chat(),
            poll,
            &b[(i % 3 != 0) as usize].1,
        )
        .await;
    }
    llm.set(Reply::Text(
        "Sushi has 66.7% of 12 respondents: <b>treat</b> it as a hint.".into(),
    ));
    r.fake.send_text(&pm(), &group_chat(), "/insights lunch");
    let m = r.message(pm().id, "<b>Headline</b>").await;
    assert!(
        m.text.contains("<i>Written by a language model"),
        "{}",
        m.text
    );
    assert!(
        m.text
            .contains("Sushi has 66.7% of 12 respondents: &lt;b&gt;treat&lt;/b&gt; it as a hint."),
        "{}",
        m.text
    );
    let requests = llm.requests();
    assert_eq!(requests.len(), 1);
    let body = String::from_utf8_lossy(&requests[0]);
    assert!(
        !body.contains("5551") && !body.contains("Zebulon"),
        "{body}"
    );
    assert!(body.contains("66.7%"), "{body}");
    r.stop().await;
}

#[tokio::test]
async fn a_command_that_took_effect_says_so_in_the_group_when_the_bot_cannot_dm() {
    let r = boot().await;
    let (poll, b) = r.post("lunch").await;
    let ben = member(2002, "Ben");
    let toast = r.tap(&ben, &group_chat(), poll, &b[0].1).await;
    assert_eq!(toast.as_deref(), Some("Saved: Pizza"));
    r.fake.never_started(ben.id);
    r.fake.never_started(pm().id);
    // /forgetme deletes at once: the note says it was done, without the details, and does
    // not ask to send it again.
    r.fake.send_text(&ben, &group_chat(), "/forgetme");
    let note = r.message(GROUP, "/forgetme has taken effect").await;
    assert!(!note.text.contains("again"), "{}", note.text);
    assert!(!note.text.contains("Lunch"), "{}", note.text);
    assert!(note.reply_markup.is_some());
    assert_eq!(r.t.current("lunch", "food").await.len(), 0);
    // /close the same.
    r.fake.send_text(&pm(), &group_chat(), "/close lunch");
    let note = r.message(GROUP, "/close has taken effect").await;
    assert!(!note.text.contains("again"), "{}", note.text);
    // A read-only command still asks to be sent again privately.
    r.fake.send_text(&ben, &group_chat(), "/mydata");
    r.message(GROUP, "send /mydata again").await;
    r.stop().await;
}

/// The refresher edits a poll message only when what it shows changed: a member changing
/// their answer (same count, tallies hidden until close) causes no edit, even when the
/// refresher runs for it (the stop flushes pending refreshes).
#[tokio::test]
async fn a_poll_is_edited_only_when_its_text_or_buttons_changed() {
    let r = boot().await;
    let (poll, buttons) = r.post("lunch").await;
    r.tap(&member(2001, "Ana"), &group_chat(), poll, &buttons[0].1)
        .await;
    r.fake
        .wait_for("the counter to reach 1", |f| {
            f.message_text(GROUP, poll)
                .filter(|t| t.contains("1 person has answered"))
        })
        .await;
    let edits = r.fake.calls("EditMessageText");
    assert!(edits >= 1, "the first vote is shown");
    // Ana changes her answer: the count and the message stay the same.
    let toast = r
        .tap(&member(2001, "Ana"), &group_chat(), poll, &buttons[1].1)
        .await;
    assert!(toast.unwrap_or_default().starts_with("Changed to: "));
    let (_, fake) = r.stop().await;
    assert_eq!(
        fake.calls("EditMessageText"),
        edits,
        "an unchanged poll message was edited again"
    );
}
