//! The fake Telegram Bot API (`support::telegram`) driven by the real teloxide client: what the
//! adapter's end-to-end tests rely on, checked against teloxide's own types and errors.

use crate::support::telegram::{
    BOT_ID, BOT_USERNAME, CallbackAnswer, FakeTelegram, Sent, TOKEN, TgChat, TgUser, Upload,
};
use serde_json::json;
use teloxide::prelude::*;
use teloxide::types::{
    CallbackQueryId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile,
    MaybeInaccessibleMessage, MessageEntityKind, MessageId, ParseMode, Seconds, UpdateKind,
};
use teloxide::{ApiError, RequestError};

/// A teloxide bot pointed at the fake. The fake listens on 127.0.0.1 only; the client is built
/// without proxy support so an HTTP(S)_PROXY in the environment cannot reroute it (`.ci/run`
/// also exports NO_PROXY; tests must not call `set_var`, they run in parallel).
fn bot_with_token(fake: &FakeTelegram, token: &str) -> Bot {
    let client = teloxide::net::default_reqwest_settings()
        .no_proxy()
        .build()
        .expect("http client");
    Bot::with_client(token, client).set_api_url(fake.url.parse().expect("fake url"))
}

fn bot(fake: &FakeTelegram) -> Bot {
    bot_with_token(fake, TOKEN)
}

fn keyboard(buttons: &[(&str, &str)]) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([buttons
        .iter()
        .map(|(label, data)| InlineKeyboardButton::callback(*label, *data))
        .collect::<Vec<_>>()])
}

#[tokio::test]
async fn fake_telegram_get_me_and_webhook_info_answer_like_telegram() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);

    let me = bot.get_me().await.expect("get_me");
    assert_eq!(me.id, UserId(BOT_ID as u64));
    assert!(me.is_bot);
    assert_eq!(me.username(), BOT_USERNAME);

    let info = bot.get_webhook_info().await.expect("get_webhook_info");
    assert!(info.url.is_none(), "no webhook is set: {info:?}");
    bot.delete_webhook().await.expect("delete_webhook");
    assert_eq!(fake.calls("GetMe"), 1);
    assert_eq!(fake.calls("GetWebhookInfo"), 1);

    let wrong = bot_with_token(&fake, "999:WRONG");
    let err = wrong.get_me().await.expect_err("wrong token refused");
    assert!(
        matches!(err, RequestError::Api(ApiError::InvalidToken)),
        "{err:?}"
    );
}

#[tokio::test]
async fn fake_telegram_records_a_keyboard_message_and_edits_it_like_telegram() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let group = TgChat::group(-100_200, "Community");
    fake.add_chat(&group);
    let chat = ChatId(group.id());
    let kb = keyboard(&[("Pizza", "v1:p"), ("Sushi", "v1:s")]);

    let posted = bot
        .send_message(chat, "<b>Lunch?</b>")
        .parse_mode(ParseMode::Html)
        .reply_markup(kb.clone())
        .await
        .expect("send_message");
    assert_eq!(posted.id, MessageId(1));
    assert!(posted.chat.is_supergroup());
    assert_eq!(posted.chat.title(), Some("Community"));
    assert!(posted.from.as_ref().is_some_and(|u| u.is_bot));
    assert_eq!(posted.reply_markup(), Some(&kb));
    assert_eq!(
        fake.sent(),
        vec![Sent {
            chat_id: group.id(),
            message_id: 1,
            text: "<b>Lunch?</b>".into(),
            parse_mode: Some("HTML".into()),
            reply_markup: Some(json!({"inline_keyboard": [[
                {"text": "Pizza", "callback_data": "v1:p"},
                {"text": "Sushi", "callback_data": "v1:s"},
            ]]})),
        }]
    );
    assert_eq!(
        fake.buttons(group.id(), 1),
        vec![
            ("Pizza".to_string(), "v1:p".to_string()),
            ("Sushi".to_string(), "v1:s".to_string())
        ]
    );

    // Same text and markup: Telegram refuses the edit.
    let err = bot
        .edit_message_text(chat, posted.id, "<b>Lunch?</b>")
        .parse_mode(ParseMode::Html)
        .reply_markup(kb.clone())
        .await
        .expect_err("unchanged edit refused");
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageNotModified)),
        "{err:?}"
    );

    // New text with the keyboard: the keyboard stays.
    bot.edit_message_text(chat, posted.id, "<b>Lunch?</b> 3 votes")
        .parse_mode(ParseMode::Html)
        .reply_markup(kb.clone())
        .await
        .expect("edit with keyboard");
    assert_eq!(
        fake.message_text(group.id(), 1).as_deref(),
        Some("<b>Lunch?</b> 3 votes")
    );
    assert_eq!(fake.buttons(group.id(), 1).len(), 2);

    // New text without reply_markup: Telegram drops the inline keyboard.
    let closed = bot
        .edit_message_text(chat, posted.id, "Closed")
        .await
        .expect("edit without keyboard");
    assert!(closed.reply_markup().is_none());
    assert!(fake.buttons(group.id(), 1).is_empty());
    assert_eq!(fake.edits().len(), 2);
    assert_eq!(fake.edits()[1].text.as_deref(), Some("Closed"));

    // Telegram's checks on what the bot sends.
    let err = bot
        .send_message(chat, "1 < 2")
        .parse_mode(ParseMode::Html)
        .await
        .expect_err("unescaped < refused");
    assert!(
        matches!(err, RequestError::Api(ApiError::CantParseEntities(_))),
        "{err:?}"
    );
    let long_data = "x".repeat(65);
    let err = bot
        .send_message(chat, "Pick")
        .reply_markup(keyboard(&[("A", long_data.as_str())]))
        .await
        .expect_err("callback data over 64 bytes refused");
    assert!(
        matches!(err, RequestError::Api(ApiError::ButtonDataInvalid)),
        "{err:?}"
    );
    let err = bot
        .send_message(chat, "x".repeat(4097))
        .await
        .expect_err("over 4096 characters refused");
    assert!(
        matches!(err, RequestError::Api(ApiError::MessageIsTooLong)),
        "{err:?}"
    );
    assert_eq!(fake.sent().len(), 1, "refused messages are not recorded");
    assert_eq!(fake.calls("SendMessage"), 4, "refused calls are counted");
}

#[tokio::test]
async fn fake_telegram_rate_limit_surfaces_as_retry_after() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    fake.rate_limit_next("SendMessage", 7);

    let err = bot
        .send_message(ChatId(42), "hi")
        .await
        .expect_err("rate limited");
    assert!(
        matches!(err, RequestError::RetryAfter(s) if s == Seconds::from_seconds(7)),
        "{err:?}"
    );
    bot.send_message(ChatId(42), "hi")
        .await
        .expect("only the next call is limited");
    assert_eq!(fake.calls("SendMessage"), 2);
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn fake_telegram_receives_uploaded_files_intact() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    // A PNG header (640 x 480) followed by every byte value, so nothing is text-mangled.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend(640u32.to_be_bytes());
    png.extend(480u32.to_be_bytes());
    png.extend((0..70_000u32).map(|i| (i % 251) as u8));

    let msg = bot
        .send_photo(
            ChatId(42),
            InputFile::memory(png.clone()).file_name("chart.png"),
        )
        .caption("Results")
        .await
        .expect("send_photo");
    let sizes = msg.photo().expect("a photo message");
    assert_eq!((sizes[0].width, sizes[0].height), (640, 480));
    assert_eq!(msg.caption(), Some("Results"));

    let csv = b"respondent,submitted_at\nr1,2026-11-02T09:00:00Z\n".to_vec();
    let msg = bot
        .send_document(
            ChatId(42),
            InputFile::memory(csv.clone()).file_name("answers.csv"),
        )
        .await
        .expect("send_document");
    let document = msg.document().expect("a document message");
    assert_eq!(document.file_name.as_deref(), Some("answers.csv"));

    assert_eq!(
        fake.uploads(),
        vec![
            Upload {
                method: "SendPhoto".into(),
                chat_id: 42,
                filename: Some("chart.png".into()),
                bytes: png,
                caption: Some("Results".into()),
            },
            Upload {
                method: "SendDocument".into(),
                chat_id: 42,
                filename: Some("answers.csv".into()),
                bytes: csv,
                caption: None,
            },
        ]
    );
}

#[tokio::test]
async fn fake_telegram_updates_deserialise_as_teloxide_updates() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);
    let alex = TgUser::new(42, "Alex");
    let dm = TgChat::Private(42);

    let first = fake.send_text(&alex, &dm, "/start pulse");
    let posted = bot
        .send_message(ChatId(42), "Which plan are you on?")
        .reply_markup(keyboard(&[("Free", "v1:plan:0"), ("Pro", "v1:plan:1")]))
        .await
        .expect("send_message");
    // The member's message took id 1 in this chat, so the bot's is 2.
    assert_eq!(posted.id, MessageId(2));
    let (second, query_id) = fake.tap(&alex, &dm, i64::from(posted.id.0), "v1:plan:1");
    let (third, _) = fake.tap(&alex, &dm, 99, "v1:stale");

    let updates = bot.get_updates().timeout(0).await.expect("get_updates");
    let ids: Vec<i64> = updates.iter().map(|u| i64::from(u.id.0)).collect();
    assert_eq!(ids, vec![first, second, third]);

    let UpdateKind::Message(msg) = &updates[0].kind else {
        panic!("expected a message, got {:?}", updates[0].kind);
    };
    assert_eq!(msg.text(), Some("/start pulse"));
    assert!(msg.chat.is_private());
    assert_eq!(msg.from.as_ref().map(|u| u.id), Some(UserId(42)));
    let entities = msg.parse_entities().expect("entities");
    assert_eq!(entities.len(), 1);
    assert_eq!(*entities[0].kind(), MessageEntityKind::BotCommand);
    assert_eq!(entities[0].text(), "/start");

    let UpdateKind::CallbackQuery(query) = &updates[1].kind else {
        panic!("expected a callback query, got {:?}", updates[1].kind);
    };
    assert_eq!(query.id.0, query_id);
    assert_eq!(query.data.as_deref(), Some("v1:plan:1"));
    assert_eq!(query.from.id, UserId(42));
    let Some(MaybeInaccessibleMessage::Regular(under)) = &query.message else {
        panic!("expected the bot's message, got {:?}", query.message);
    };
    assert_eq!(under.id, posted.id);
    assert_eq!(under.text(), Some("Which plan are you on?"));
    assert!(under.reply_markup().is_some());

    let UpdateKind::CallbackQuery(stale) = &updates[2].kind else {
        panic!("expected a callback query, got {:?}", updates[2].kind);
    };
    assert!(
        matches!(
            stale.message,
            Some(MaybeInaccessibleMessage::Inaccessible(_))
        ),
        "{:?}",
        stale.message
    );

    // A callback query is answered once.
    bot.answer_callback_query(CallbackQueryId(query_id.clone()))
        .text("Saved")
        .await
        .expect("answer");
    let err = bot
        .answer_callback_query(CallbackQueryId(query_id.clone()))
        .await
        .expect_err("second answer refused");
    assert!(
        matches!(err, RequestError::Api(ApiError::InvalidQueryId)),
        "{err:?}"
    );
    assert_eq!(
        fake.callback_answers(),
        vec![CallbackAnswer {
            id: query_id,
            text: Some("Saved".into()),
            show_alert: false,
        }]
    );

    // Acknowledging with the next offset confirms them all; a redelivered one comes back with
    // its original id.
    let next = updates.last().expect("updates").id.as_offset();
    let none = bot
        .get_updates()
        .offset(next)
        .timeout(0)
        .await
        .expect("get_updates");
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(fake.acknowledged_offset(), i64::from(next));
    fake.redeliver(first);
    let again = bot
        .get_updates()
        .offset(next)
        .timeout(0)
        .await
        .expect("get_updates");
    let ids: Vec<i64> = again.iter().map(|u| i64::from(u.id.0)).collect();
    assert_eq!(ids, vec![first]);
}

#[tokio::test]
async fn fake_telegram_long_poll_returns_an_update_injected_while_waiting() {
    let fake = FakeTelegram::start().await;
    let poller = bot(&fake);
    let poll = tokio::spawn(async move { poller.get_updates().timeout(10).await });
    fake.wait_for("the long poll to arrive", |f| {
        (f.calls("GetUpdates") == 1).then_some(())
    })
    .await;
    let id = fake.send_text(&TgUser::new(7, "Sam"), &TgChat::Private(7), "hello");
    let updates = poll.await.expect("poll task").expect("get_updates");
    assert_eq!(
        updates
            .iter()
            .map(|u| i64::from(u.id.0))
            .collect::<Vec<_>>(),
        vec![id]
    );
}

#[tokio::test]
async fn fake_telegram_refuses_blocked_unstarted_and_kicked_chats() {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake);

    fake.block(42);
    let err = bot
        .send_message(ChatId(42), "hi")
        .await
        .expect_err("blocked");
    assert!(
        matches!(err, RequestError::Api(ApiError::BotBlocked)),
        "{err:?}"
    );

    // Telegram's current text; teloxide 0.17 only recognises the old "Unauthorized: ..." one.
    fake.never_started(43);
    let err = bot
        .send_message(ChatId(43), "hi")
        .await
        .expect_err("never started");
    assert!(
        matches!(&err, RequestError::Api(ApiError::Unknown(text))
            if text == "Forbidden: bot can't initiate conversation with a user"),
        "{err:?}"
    );

    let group = TgChat::group(-100_300, "Community");
    fake.add_chat(&group);
    fake.kick_bot(group.id());
    let err = bot
        .send_message(ChatId(group.id()), "hi")
        .await
        .expect_err("kicked");
    assert!(
        matches!(err, RequestError::Api(ApiError::BotKickedFromSupergroup)),
        "{err:?}"
    );
    let err = bot
        .send_message(ChatId(-100_999), "hi")
        .await
        .expect_err("unknown group");
    assert!(
        matches!(err, RequestError::Api(ApiError::ChatNotFound)),
        "{err:?}"
    );

    // Writing to the bot privately lifts a block, as on Telegram.
    fake.send_text(&TgUser::new(42, "Alex"), &TgChat::Private(42), "/start");
    bot.send_message(ChatId(42), "welcome back")
        .await
        .expect("unblocked");
    assert_eq!(fake.calls("SendMessage"), 5);

    // Each change of the bot's membership reached the bot as a my_chat_member update.
    let updates = bot.get_updates().timeout(0).await.expect("get_updates");
    let seen: Vec<(i64, &str)> = updates
        .iter()
        .map(|u| match &u.kind {
            UpdateKind::MyChatMember(m) if m.new_chat_member.is_banned() => {
                (m.chat.id.0, "bot removed")
            }
            UpdateKind::MyChatMember(m) if m.new_chat_member.is_member() => {
                (m.chat.id.0, "bot back")
            }
            UpdateKind::Message(m) => (m.chat.id.0, "message"),
            other => panic!("unexpected update {other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (42, "bot removed"),
            (group.id(), "bot removed"),
            (42, "bot back"),
            (42, "message"),
        ]
    );
}

#[tokio::test]
async fn fake_telegram_serves_a_teloxide_dispatcher() {
    let fake = FakeTelegram::start().await;
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        let text = format!("echo {}", msg.text().unwrap_or_default());
        bot.send_message(msg.chat.id, text).await?;
        respond(())
    });
    let mut dispatcher = Dispatcher::builder(bot(&fake), handler).build();
    let shutdown = dispatcher.shutdown_token();
    let running = tokio::spawn(async move { dispatcher.dispatch().await });

    let alex = TgUser::new(42, "Alex");
    let update = fake.send_text(&alex, &TgChat::Private(42), "hello");
    let reply = fake
        .wait_for("the echo", |f| f.sent().into_iter().next())
        .await;
    assert_eq!((reply.chat_id, reply.text.as_str()), (42, "echo hello"));

    // Redelivered with the same id, the update reaches the handler again: the adapter must
    // treat the update id as the idempotency key.
    fake.redeliver(update);
    fake.wait_for("the second echo", |f| (f.sent().len() == 2).then_some(()))
        .await;

    shutdown.shutdown().expect("dispatcher is running").await;
    running.await.expect("dispatcher task");
    assert!(fake.acknowledged_offset() > update);
    assert_eq!(fake.calls("GetMe"), 1);
    assert_eq!(fake.calls("GetWebhookInfo"), 1);
    assert_eq!(fake.calls("DeleteWebhook"), 0);
}
