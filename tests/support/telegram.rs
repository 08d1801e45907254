//! A fake Telegram Bot API on 127.0.0.1 for adapter tests: a stateful simulator of users, chats
//! and messages that the real teloxide client talks to over HTTP.
//!
//! Tests inject what members do (`send_text`, `tap`), let the bot run, and then assert on what it
//! did (`sent`, `edits`, `callback_answers`, `uploads`, `message_text`). The fake behaves like
//! Telegram where that shapes an adapter: message ids per chat, `update_id` and `offset`
//! acknowledgement with redelivery, `editMessageText` without `reply_markup` removing the inline
//! keyboard, "message is not modified", callback queries answerable once, HTML parse errors,
//! text limits, blocked users, kicked bots, and 429s with `retry_after`.
//!
//! Deliberate simplifications: parse modes are checked but not rendered (stored and returned
//! text is the raw text the bot sent); groups are supergroups; files are kept in memory;
//! nothing is rate limited unless a test asks for it with `rate_limit_next` (a method's next
//! call) or `rate_limit_answers` (one member's next acknowledgements). The fake answers 5xx,
//! slowly, or with a broken connection only when a test asks with `fault_next` (teloxide
//! sleeps 10 s on a server error; the bot's own idempotent calls and getUpdates do not). Updates
//! teloxide cannot parse are injected with `raw_update`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio::time::Instant;

pub(crate) const TOKEN: &str = "123456:TEST-TOKEN";
pub(crate) const BOT_ID: i64 = 123456;
pub(crate) const BOT_USERNAME: &str = "canvass_test_bot";
const BOT_NAME: &str = "Canvass";
/// The user who removes the bot from a group in `kick_bot`.
const GROUP_ADMIN_ID: i64 = 999_001;

/// Requests larger than this are refused (Telegram's own upload limit for bots is 50 MB).
const MAX_BODY: usize = 50 * 1024 * 1024;
/// How long `wait_for` waits before it fails the test.
const WAIT_LIMIT: Duration = Duration::from_secs(15);
/// The longest a `GetUpdates` call is held open when nothing is pending.
const LONG_POLL_CAP: Duration = Duration::from_secs(1);
/// Telegram's exact text, which teloxide maps to `ApiError::MessageNotModified`.
const NOT_MODIFIED: &str = "message is not modified: specified new message content and reply \
                            markup are exactly the same as a current content and reply markup \
                            of the message";

/// A Telegram user (a community member).
#[derive(Clone, Debug)]
pub(crate) struct TgUser {
    pub id: i64,
    pub first_name: String,
    pub username: Option<String>,
    pub language_code: Option<String>,
}

impl TgUser {
    pub(crate) fn new(id: i64, name: &str) -> Self {
        TgUser {
            id,
            first_name: name.to_string(),
            username: None,
            language_code: None,
        }
    }
}

/// Where something happens: a member's private chat with the bot, or a group (a supergroup,
/// as every Telegram group with a bot in it soon becomes; its id is negative).
#[derive(Clone, Debug)]
pub(crate) enum TgChat {
    Private(i64),
    Group { id: i64, title: String },
}

impl TgChat {
    pub(crate) fn group(id: i64, title: &str) -> Self {
        assert!(id < 0, "Telegram group ids are negative, got {id}");
        TgChat::Group {
            id,
            title: title.to_string(),
        }
    }

    /// The Bot API `chat_id` of this chat.
    pub(crate) fn id(&self) -> i64 {
        match self {
            TgChat::Private(user) => *user,
            TgChat::Group { id, .. } => *id,
        }
    }
}

/// A message the bot sent with SendMessage, as it was sent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sent {
    pub chat_id: i64,
    pub message_id: i64,
    pub text: String,
    pub parse_mode: Option<String>,
    pub reply_markup: Option<Value>,
}

/// A successful EditMessageText (`text` is `Some`) or EditMessageReplyMarkup (`text` is `None`);
/// `reply_markup` is what the request carried.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Edit {
    pub chat_id: i64,
    pub message_id: i64,
    pub text: Option<String>,
    pub reply_markup: Option<Value>,
}

/// A successful AnswerCallbackQuery.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CallbackAnswer {
    pub id: String,
    pub text: Option<String>,
    pub show_alert: bool,
}

/// A successful SendPhoto or SendDocument (`method` is "SendPhoto" or "SendDocument").
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Upload {
    pub method: String,
    pub chat_id: i64,
    pub filename: Option<String>,
    pub bytes: Vec<u8>,
    pub caption: Option<String>,
}

/// The fake server. Dropping it stops the server.
pub(crate) struct FakeTelegram {
    /// The API base to give teloxide (`Bot::set_api_url`); it appends `/bot{token}/{Method}`.
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    state: Mutex<Sim>,
    /// Woken after every change, for `wait_for` and long polls.
    notify: Notify,
}

impl Shared {
    /// Changes the state and wakes everyone waiting for a change.
    fn with<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        let result = self.quiet(f);
        self.notify.notify_waiters();
        result
    }

    /// Uses the state without waking anyone: for reads, so a waiter that looks at the state
    /// does not wake itself.
    fn quiet<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTelegram {
    /// Starts the fake on 127.0.0.1 on a free port.
    ///
    /// The url is loopback, so reqwest must not send it through a proxy: `.ci/run` exports
    /// `NO_PROXY=127.0.0.1,localhost`, and the tests also build their client with `no_proxy()`.
    pub(crate) async fn start() -> FakeTelegram {
        let shared = Arc::new(Shared {
            state: Mutex::new(Sim::new()),
            notify: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Telegram server");
        let addr = listener.local_addr().expect("fake Telegram address");
        let app = Router::new()
            .route("/{token}/{method}", any(handle))
            .fallback(not_found)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTelegram {
            url: format!("http://{addr}"),
            shared,
            server,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        self.shared.with(f)
    }

    fn read<R>(&self, f: impl FnOnce(&Sim) -> R) -> R {
        self.shared.quiet(|s| f(s))
    }

    // ---- what members do -------------------------------------------------------------------

    /// Makes a chat known without a message in it (the bot was added to a group, or a user
    /// exists), so the bot can post there first.
    pub(crate) fn add_chat(&self, chat: &TgChat) {
        self.with(|s| s.remember_chat(chat));
    }

    /// A member writes `text` in `chat`; returns the update id. Text starting with '/' carries
    /// a `bot_command` entity, as Telegram adds. A private message from a member who blocked
    /// the bot or never started it lifts that, as writing to a bot does.
    pub(crate) fn send_text(&self, from: &TgUser, chat: &TgChat, text: &str) -> i64 {
        if let TgChat::Private(user) = chat {
            assert_eq!(
                *user, from.id,
                "a private chat's messages come from its user"
            );
        }
        self.with(|s| {
            s.remember_user(from);
            s.remember_chat(chat);
            if let TgChat::Private(user) = chat {
                s.never_started.remove(user);
                if s.blocked.remove(user) {
                    s.push_membership(*user, &user_json(from), "kicked", "member");
                }
            }
            let chat_id = chat.id();
            let message_id = s.next_message_id(chat_id);
            let message = StoredMessage {
                from: user_json(from),
                chat: s.chat_json(chat_id),
                date: now(),
                edit_date: None,
                by_bot: false,
                text: Some(text.to_string()),
                entities: command_entities(text),
                media: None,
                caption: None,
                reply_markup: None,
            };
            let json = message.to_json(message_id);
            s.messages.insert((chat_id, message_id), message);
            s.push_update("message", json)
        })
    }

    /// A member taps a button with callback data `data` under message `message_id` in `chat`;
    /// returns the update id and the callback query id. The query carries the message as it is
    /// now (after edits); an unknown message id is sent as Telegram sends an inaccessible
    /// message (`date` 0). The data is not checked against the keyboard: clients can forge it.
    pub(crate) fn tap(
        &self,
        from: &TgUser,
        chat: &TgChat,
        message_id: i64,
        data: &str,
    ) -> (i64, String) {
        self.with(|s| {
            s.remember_user(from);
            s.remember_chat(chat);
            let chat_id = chat.id();
            let message = match s.messages.get(&(chat_id, message_id)) {
                Some(m) => m.to_json(message_id),
                None => json!({"message_id": message_id, "chat": s.chat_json(chat_id), "date": 0}),
            };
            s.next_callback += 1;
            let query_id = format!("{}", 4_700_000_000_000_u64 + s.next_callback);
            s.callbacks.insert(query_id.clone(), false);
            s.tappers.insert(query_id.clone(), from.id);
            let query = json!({
                "id": query_id,
                "from": user_json(from),
                "message": message,
                "chat_instance": format!("{}", chat_id.unsigned_abs() ^ 0x5eed),
                "data": data,
            });
            (s.push_update("callback_query", query), query_id)
        })
    }

    /// Queues an update of any shape, e.g. one teloxide cannot parse: `fields` (a JSON object)
    /// plus the next `update_id`; returns that id.
    pub(crate) fn raw_update(&self, fields: Value) -> i64 {
        self.with(|s| {
            let id = s.next_update_id;
            s.next_update_id += 1;
            let mut update = fields.as_object().cloned().unwrap_or_default();
            let kind = update.keys().next().cloned().unwrap_or_default();
            update.insert("update_id".into(), json!(id));
            s.updates.insert(id, (kind, Value::Object(update)));
            s.queue.insert(id, false);
            id
        })
    }

    /// Queues an earlier update again with the same update id, as Telegram does when the bot
    /// did not acknowledge it. It is handed out by the next GetUpdates whatever its offset.
    pub(crate) fn redeliver(&self, update_id: i64) {
        self.with(|s| {
            assert!(
                s.updates.contains_key(&update_id),
                "no update {update_id} to redeliver"
            );
            s.queue.insert(update_id, true);
        });
    }

    // ---- failures ----------------------------------------------------------------------------

    /// The next call of `method` (e.g. "SendMessage") answers 429 with `retry_after`. Calling
    /// this twice limits the next two calls.
    pub(crate) fn rate_limit_next(&self, method: &str, retry_after: u32) {
        self.with(|s| {
            s.rate_limits
                .entry(method.to_ascii_lowercase())
                .or_default()
                .push_back(retry_after)
        });
    }

    /// The next AnswerCallbackQuery for a tap by `user_id` answers 429 with `retry_after`;
    /// calling this twice limits the next two. Other members' calls are not limited.
    pub(crate) fn rate_limit_answers(&self, user_id: i64, retry_after: u32) {
        self.with(|s| {
            s.member_limits
                .entry(user_id)
                .or_default()
                .push_back(retry_after)
        });
    }

    /// The member blocked the bot: sending to their private chat answers 403
    /// "Forbidden: bot was blocked by the user" (teloxide: `ApiError::BotBlocked`). Like
    /// Telegram, this also queues a `my_chat_member` update (the bot: member → kicked).
    pub(crate) fn block(&self, user_id: i64) {
        self.with(|s| {
            if s.blocked.insert(user_id) {
                let user = s.user(user_id);
                s.push_membership(user_id, &user_json(&user), "member", "kicked");
            }
        });
    }

    /// The member never opened a private chat with the bot: sending there answers 403
    /// "Forbidden: bot can't initiate conversation with a user". teloxide 0.17 only knows the
    /// old "Unauthorized: ..." text, so this arrives as `ApiError::Unknown(text)`.
    pub(crate) fn never_started(&self, user_id: i64) {
        self.with(|s| s.never_started.insert(user_id));
    }

    /// The bot was removed from the group: any send or edit there answers 403 "Forbidden: bot
    /// was kicked from the supergroup chat" (teloxide: `ApiError::BotKickedFromSupergroup`).
    /// Like Telegram, this also queues a `my_chat_member` update from a group admin. Unlike
    /// Telegram, members' messages there still reach the bot, so a test can drive the 403 path
    /// (on Telegram that only happens in the moment before the bot notices).
    pub(crate) fn kick_bot(&self, chat_id: i64) {
        self.with(|s| {
            if s.kicked.insert(chat_id) {
                let admin = TgUser::new(GROUP_ADMIN_ID, "Group admin");
                s.push_membership(chat_id, &user_json(&admin), "member", "kicked");
            }
        });
    }

    /// The next call of `method` meets `fault` (see `Fault`); calling this twice affects the
    /// next two calls.
    pub(crate) fn fault_next(&self, method: &str, fault: Fault) {
        self.with(|s| {
            s.faults
                .entry(method.to_ascii_lowercase())
                .or_default()
                .push_back(fault)
        });
    }

    /// How many faults injected with `fault_next` for `method` are still to be met.
    pub(crate) fn pending_faults(&self, method: &str) -> usize {
        self.read(|s| {
            s.faults
                .get(&method.to_ascii_lowercase())
                .map_or(0, VecDeque::len)
        })
    }

    // ---- what the bot did ------------------------------------------------------------------

    /// Every successful SendMessage, in order.
    pub(crate) fn sent(&self) -> Vec<Sent> {
        self.read(|s| s.sent.clone())
    }

    /// Every successful edit, in order.
    pub(crate) fn edits(&self) -> Vec<Edit> {
        self.read(|s| s.edits.clone())
    }

    /// Every successful AnswerCallbackQuery, in order.
    pub(crate) fn callback_answers(&self) -> Vec<CallbackAnswer> {
        self.read(|s| s.answers.clone())
    }

    /// When the query was answered successfully.
    pub(crate) fn answered_at(&self, query_id: &str) -> Option<Instant> {
        self.read(|s| s.answer_times.get(query_id).copied())
    }

    /// Every successful SendPhoto and SendDocument, in order.
    pub(crate) fn uploads(&self) -> Vec<Upload> {
        self.read(|s| s.uploads.clone())
    }

    /// How many times `method` was called, failed calls included (case-insensitive).
    pub(crate) fn calls(&self, method: &str) -> usize {
        self.read(|s| {
            s.calls
                .get(&method.to_ascii_lowercase())
                .copied()
                .unwrap_or(0)
        })
    }

    /// How many updates were not yet confirmed by the bot (handed out or not).
    pub(crate) fn pending_updates(&self) -> usize {
        self.read(|s| s.queue.len())
    }

    /// Whether a GetUpdates call has handed out this update (confirmed or not).
    pub(crate) fn delivered(&self, update_id: i64) -> bool {
        self.read(|s| s.handed_out.contains(&update_id))
    }

    /// The highest `offset` any GetUpdates call has sent: updates below it are confirmed.
    pub(crate) fn acknowledged_offset(&self) -> i64 {
        self.read(|s| s.acknowledged)
    }

    /// The current text of a message (its caption for a photo or document), after edits;
    /// `None` if there is no such message or it was deleted.
    pub(crate) fn message_text(&self, chat_id: i64, message_id: i64) -> Option<String> {
        self.read(|s| {
            s.messages
                .get(&(chat_id, message_id))
                .and_then(|m| m.text.clone().or_else(|| m.caption.clone()))
        })
    }

    /// The callback buttons now under a message, as (label, callback data); URL buttons are
    /// left out.
    pub(crate) fn buttons(&self, chat_id: i64, message_id: i64) -> Vec<(String, String)> {
        self.read(|s| {
            let Some(markup) = s
                .messages
                .get(&(chat_id, message_id))
                .and_then(|m| m.reply_markup.clone())
            else {
                return Vec::new();
            };
            let rows = markup["inline_keyboard"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            rows.iter()
                .flat_map(|row| row.as_array().cloned().unwrap_or_default())
                .filter_map(|b| {
                    Some((
                        b["text"].as_str()?.to_string(),
                        b["callback_data"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
    }

    /// The commands of the last SetMyCommands for the default scope, as (command, description).
    pub(crate) fn commands(&self) -> Vec<(String, String)> {
        self.read(|s| s.commands.clone())
    }

    /// The commands of the last SetMyCommands for a scope type (`default`,
    /// `all_chat_administrators`, ...) and language code (None: every other language).
    pub(crate) fn menu(&self, scope: &str, language: Option<&str>) -> Vec<(String, String)> {
        self.read(|s| {
            s.menus
                .get(&(scope.to_string(), language.map(str::to_string)))
                .cloned()
                .unwrap_or_default()
        })
    }

    /// Waits until `f` returns `Some`, re-checking after every change to the fake; panics with
    /// `what` and a dump of what the bot did after 15 s.
    pub(crate) async fn wait_for<T>(
        &self,
        what: &str,
        f: impl Fn(&FakeTelegram) -> Option<T>,
    ) -> T {
        self.wait_for_within(WAIT_LIMIT, what, f).await
    }

    /// `wait_for` with another limit, for bursts that take longer than 15 s on a busy machine.
    pub(crate) async fn wait_for_within<T>(
        &self,
        limit: Duration,
        what: &str,
        f: impl Fn(&FakeTelegram) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + limit;
        loop {
            // Registered before the check, so a change between the check and the wait wakes it.
            let changed = self.shared.notify.notified();
            if let Some(value) = f(self) {
                return value;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                if let Some(value) = f(self) {
                    return value;
                }
                panic!(
                    "fake Telegram: waited {} s for {what}; the bot did:\n{}",
                    limit.as_secs(),
                    self.dump()
                );
            }
        }
    }

    /// A readable account of what the bot did, for failure messages.
    pub(crate) fn dump(&self) -> String {
        self.read(|s| {
            let mut out = String::new();
            for m in &s.sent {
                out += &format!(
                    "  sent     chat {} msg {}: {:?} markup {}\n",
                    m.chat_id,
                    m.message_id,
                    m.text,
                    m.reply_markup
                        .as_ref()
                        .map_or_else(|| "-".to_string(), Value::to_string)
                );
            }
            for e in &s.edits {
                out += &format!(
                    "  edited   chat {} msg {}: {:?} markup {}\n",
                    e.chat_id,
                    e.message_id,
                    e.text,
                    e.reply_markup
                        .as_ref()
                        .map_or_else(|| "-".to_string(), Value::to_string)
                );
            }
            for a in &s.answers {
                out += &format!("  answered query {}: {:?}\n", a.id, a.text);
            }
            for u in &s.uploads {
                out += &format!(
                    "  uploaded {} chat {}: {:?} ({} bytes) {:?}\n",
                    u.method,
                    u.chat_id,
                    u.filename,
                    u.bytes.len(),
                    u.caption
                );
            }
            let mut calls: Vec<_> = s.calls.iter().collect();
            calls.sort();
            out += &format!(
                "  calls: {calls:?}; pending updates: {:?}; acknowledged offset {}\n",
                s.queue.keys().collect::<Vec<_>>(),
                s.acknowledged
            );
            out
        })
    }
}

/// A transport fault for one call, injected with `fault_next`.
#[derive(Clone, Debug)]
pub(crate) enum Fault {
    /// The connection breaks before the call is carried out: nothing happened.
    ResetBefore,
    /// The call is carried out, then the connection breaks before the answer: it happened but
    /// the bot cannot know.
    ResetAfter,
    /// The answer comes this much later (a slow or congested API).
    Slow(Duration),
    /// A 5xx answer (teloxide waits 10 s before reading one).
    ServerError(u16),
    /// An `ok` answer whose `result` is this value instead of what the method returns (a
    /// broken or impostor API: `getUpdates` answering `true`).
    Result(serde_json::Value),
}

// ---- state -------------------------------------------------------------------------------------

struct StoredMessage {
    from: Value,
    chat: Value,
    date: i64,
    edit_date: Option<i64>,
    by_bot: bool,
    text: Option<String>,
    entities: Option<Value>,
    /// ("photo" | "document", its JSON).
    media: Option<(&'static str, Value)>,
    caption: Option<String>,
    /// Only inline keyboards are part of a message; other markups only affect the client.
    reply_markup: Option<Value>,
}

impl StoredMessage {
    fn to_json(&self, message_id: i64) -> Value {
        let mut m = Map::new();
        m.insert("message_id".into(), json!(message_id));
        m.insert("from".into(), self.from.clone());
        m.insert("chat".into(), self.chat.clone());
        m.insert("date".into(), json!(self.date));
        if let Some(at) = self.edit_date {
            m.insert("edit_date".into(), json!(at));
        }
        if let Some(text) = &self.text {
            m.insert("text".into(), json!(text));
        }
        if let Some(entities) = &self.entities {
            m.insert("entities".into(), entities.clone());
        }
        if let Some((kind, media)) = &self.media {
            m.insert((*kind).into(), media.clone());
        }
        if let Some(caption) = &self.caption {
            m.insert("caption".into(), json!(caption));
        }
        if let Some(markup) = &self.reply_markup {
            m.insert("reply_markup".into(), markup.clone());
        }
        Value::Object(m)
    }
}

struct Sim {
    next_update_id: i64,
    /// Every update ever created, by id, with its kind ("message", "callback_query").
    updates: HashMap<i64, (String, Value)>,
    /// Updates not yet confirmed, by id → "redelivered and not handed out since".
    queue: BTreeMap<i64, bool>,
    /// Every update id a GetUpdates call has handed out.
    handed_out: HashSet<i64>,
    acknowledged: i64,
    /// As Telegram, the last `allowed_updates` sent stays in force; `None` = the defaults.
    allowed_updates: Option<Vec<String>>,
    users: HashMap<i64, TgUser>,
    groups: HashMap<i64, String>,
    next_message_ids: HashMap<i64, i64>,
    messages: HashMap<(i64, i64), StoredMessage>,
    /// Uploaded files by file_id, so a file_id can be sent again.
    files: HashMap<String, Vec<u8>>,
    next_file: u64,
    /// Callback query id → answered.
    callbacks: HashMap<String, bool>,
    /// Callback query id → the member who tapped.
    tappers: HashMap<String, i64>,
    /// Callback query id → when it was answered.
    answer_times: HashMap<String, Instant>,
    /// Member → 429s their next acknowledgements meet.
    member_limits: HashMap<i64, VecDeque<u32>>,
    next_callback: u64,
    sent: Vec<Sent>,
    edits: Vec<Edit>,
    answers: Vec<CallbackAnswer>,
    uploads: Vec<Upload>,
    commands: Vec<(String, String)>,
    menus: BTreeMap<MenuKey, Vec<(String, String)>>,
    calls: HashMap<String, usize>,
    rate_limits: HashMap<String, VecDeque<u32>>,
    faults: HashMap<String, VecDeque<Fault>>,
    blocked: HashSet<i64>,
    never_started: HashSet<i64>,
    kicked: HashSet<i64>,
}

impl Sim {
    fn new() -> Self {
        Sim {
            // Far from message ids, so mixing the two up fails loudly.
            next_update_id: 700_000,
            updates: HashMap::new(),
            queue: BTreeMap::new(),
            handed_out: HashSet::new(),
            acknowledged: 0,
            allowed_updates: None,
            users: HashMap::new(),
            groups: HashMap::new(),
            next_message_ids: HashMap::new(),
            messages: HashMap::new(),
            files: HashMap::new(),
            next_file: 0,
            callbacks: HashMap::new(),
            tappers: HashMap::new(),
            answer_times: HashMap::new(),
            member_limits: HashMap::new(),
            next_callback: 0,
            sent: Vec::new(),
            edits: Vec::new(),
            answers: Vec::new(),
            uploads: Vec::new(),
            commands: Vec::new(),
            menus: BTreeMap::new(),
            calls: HashMap::new(),
            rate_limits: HashMap::new(),
            faults: HashMap::new(),
            blocked: HashSet::new(),
            never_started: HashSet::new(),
            kicked: HashSet::new(),
        }
    }

    fn remember_user(&mut self, user: &TgUser) {
        self.users.insert(user.id, user.clone());
    }

    fn remember_chat(&mut self, chat: &TgChat) {
        match chat {
            TgChat::Private(user) => {
                self.users
                    .entry(*user)
                    .or_insert_with(|| TgUser::new(*user, &format!("User {user}")));
            }
            TgChat::Group { id, title } => {
                self.groups.insert(*id, title.clone());
            }
        }
    }

    fn user(&self, user_id: i64) -> TgUser {
        self.users
            .get(&user_id)
            .cloned()
            .unwrap_or_else(|| TgUser::new(user_id, &format!("User {user_id}")))
    }

    /// Queues a `my_chat_member` update: the bot's status in `chat_id` changed, by `from`.
    fn push_membership(&mut self, chat_id: i64, from: &Value, old: &str, new: &str) {
        let status = |status: &str| {
            let mut member = json!({"user": bot_user_json(), "status": status});
            if status == "kicked" {
                member["until_date"] = json!(0);
            }
            member
        };
        let update = json!({
            "chat": self.chat_json(chat_id),
            "from": from,
            "date": now(),
            "old_chat_member": status(old),
            "new_chat_member": status(new),
        });
        self.push_update("my_chat_member", update);
    }

    fn chat_json(&self, chat_id: i64) -> Value {
        if chat_id < 0 {
            let title = self.groups.get(&chat_id).cloned().unwrap_or_default();
            return json!({"id": chat_id, "type": "supergroup", "title": title});
        }
        let user = self.user(chat_id);
        let mut chat = json!({"id": chat_id, "type": "private", "first_name": user.first_name});
        if let Some(name) = &user.username {
            chat["username"] = json!(name);
        }
        chat
    }

    fn next_message_id(&mut self, chat_id: i64) -> i64 {
        let next = self.next_message_ids.entry(chat_id).or_insert(0);
        *next += 1;
        *next
    }

    fn push_update(&mut self, kind: &'static str, body: Value) -> i64 {
        let id = self.next_update_id;
        self.next_update_id += 1;
        let mut update = Map::new();
        update.insert("update_id".into(), json!(id));
        update.insert(kind.into(), body);
        self.updates
            .insert(id, (kind.to_string(), Value::Object(update)));
        self.queue.insert(id, false);
        id
    }

    /// Confirms updates below `offset`, then hands out up to `limit` pending ones in id order.
    fn take_updates(&mut self, offset: i64, limit: usize, allowed: Option<Vec<String>>) -> Value {
        if let Some(allowed) = allowed {
            self.allowed_updates = (!allowed.is_empty()).then_some(allowed);
        }
        if offset > 0 {
            self.acknowledged = self.acknowledged.max(offset);
            self.queue
                .retain(|id, redelivered| *id >= offset || *redelivered);
        } else if offset < 0 {
            // Telegram: a negative offset keeps only the last -offset updates.
            let keep = offset.unsigned_abs() as usize;
            let excess = self.queue.len().saturating_sub(keep);
            let dropped: Vec<i64> = self.queue.keys().take(excess).copied().collect();
            for id in dropped {
                self.queue.remove(&id);
            }
        }
        if let Some(allowed) = &self.allowed_updates {
            let updates = &self.updates;
            self.queue.retain(|id, _| {
                updates
                    .get(id)
                    .is_some_and(|(kind, _)| allowed.iter().any(|a| a == kind))
            });
        }
        let ids: Vec<i64> = self.queue.keys().take(limit).copied().collect();
        let mut batch = Vec::with_capacity(ids.len());
        for id in ids {
            self.queue.insert(id, false);
            self.handed_out.insert(id);
            if let Some((_, update)) = self.updates.get(&id) {
                batch.push(update.clone());
            }
        }
        Value::Array(batch)
    }

    /// Counts the call, checks the token and any 429 the test asked for.
    fn begin(&mut self, bot: &str, method: &str) -> Result<(), ApiErr> {
        *self.calls.entry(method.to_string()).or_default() += 1;
        if bot.strip_prefix("bot") != Some(TOKEN) {
            return Err(ApiErr::new(401, "Unauthorized"));
        }
        if let Some(seconds) = self
            .rate_limits
            .get_mut(method)
            .and_then(VecDeque::pop_front)
        {
            return Err(ApiErr {
                code: 429,
                description: format!("Too Many Requests: retry after {seconds}"),
                retry_after: Some(seconds),
            });
        }
        Ok(())
    }

    fn call(&mut self, method: &str, p: &Params) -> Result<Value, ApiErr> {
        match method {
            "getme" => Ok(me_json()),
            "getwebhookinfo" => Ok(json!({
                "url": "",
                "has_custom_certificate": false,
                "pending_update_count": self.queue.len(),
            })),
            "deletewebhook" => {
                if p.flag("drop_pending_updates") {
                    self.queue.clear();
                }
                Ok(json!(true))
            }
            "setmycommands" => self.set_my_commands(p),
            "getmycommands" => Ok(Value::Array(
                self.commands
                    .iter()
                    .map(|(c, d)| json!({"command": c, "description": d}))
                    .collect(),
            )),
            "deletemycommands" => {
                self.commands.clear();
                Ok(json!(true))
            }
            "sendmessage" => self.send_message(p),
            "editmessagetext" => self.edit_message(p, true),
            "editmessagereplymarkup" => self.edit_message(p, false),
            "answercallbackquery" => self.answer_callback_query(p),
            "sendphoto" => self.send_file(p, "photo"),
            "senddocument" => self.send_file(p, "document"),
            "deletemessage" => self.delete_message(p),
            _ => Err(ApiErr::new(404, "Not Found: method not found")),
        }
    }

    /// The chat the bot wants to write in, if it may.
    fn writable_chat(&self, chat_id: i64) -> Result<Value, ApiErr> {
        if self.kicked.contains(&chat_id) {
            return Err(ApiErr::forbidden("bot was kicked from the supergroup chat"));
        }
        if chat_id == BOT_ID {
            return Err(ApiErr::forbidden("bot can't send messages to bots"));
        }
        if chat_id > 0 {
            if self.blocked.contains(&chat_id) {
                return Err(ApiErr::forbidden("bot was blocked by the user"));
            }
            if self.never_started.contains(&chat_id) {
                return Err(ApiErr::forbidden(
                    "bot can't initiate conversation with a user",
                ));
            }
        } else if !self.groups.contains_key(&chat_id) {
            return Err(ApiErr::bad("chat not found"));
        }
        Ok(self.chat_json(chat_id))
    }

    fn send_message(&mut self, p: &Params) -> Result<Value, ApiErr> {
        let chat_id = p.chat_id()?;
        let chat = self.writable_chat(chat_id)?;
        let text = p.string("text").unwrap_or_default();
        let parse_mode = p.string("parse_mode");
        check_text(
            &text,
            parse_mode.as_deref(),
            4096,
            Some("message text is empty"),
            "message is too long",
        )?;
        let markup = p.json("reply_markup")?;
        check_markup(markup.as_ref())?;
        let message_id = self.next_message_id(chat_id);
        let message = StoredMessage {
            from: bot_user_json(),
            chat,
            date: now(),
            edit_date: None,
            by_bot: true,
            text: Some(text.clone()),
            entities: None,
            media: None,
            caption: None,
            reply_markup: inline_markup(markup.as_ref()),
        };
        let json = message.to_json(message_id);
        self.messages.insert((chat_id, message_id), message);
        self.sent.push(Sent {
            chat_id,
            message_id,
            text,
            parse_mode,
            reply_markup: markup,
        });
        Ok(json)
    }

    /// EditMessageText (`with_text`) or EditMessageReplyMarkup. As on Telegram, an edit without
    /// `reply_markup` removes the inline keyboard, and an edit that changes nothing is refused.
    fn edit_message(&mut self, p: &Params, with_text: bool) -> Result<Value, ApiErr> {
        if p.string("inline_message_id").is_some() {
            return Err(ApiErr::bad("the fake does not support inline messages"));
        }
        let chat_id = p.chat_id()?;
        let message_id = p
            .int("message_id")?
            .ok_or_else(|| ApiErr::bad("message identifier is not specified"))?;
        self.writable_chat(chat_id)?;
        let text = if with_text {
            let text = p.string("text").unwrap_or_default();
            check_text(
                &text,
                p.string("parse_mode").as_deref(),
                4096,
                Some("text must be non-empty"),
                "MESSAGE_TOO_LONG",
            )?;
            Some(text)
        } else {
            None
        };
        let markup = p.json("reply_markup")?;
        check_markup(markup.as_ref())?;
        let new_markup = inline_markup(markup.as_ref());
        let message = self
            .messages
            .get_mut(&(chat_id, message_id))
            .ok_or_else(|| ApiErr::bad("message to edit not found"))?;
        if !message.by_bot {
            return Err(ApiErr::bad("message can't be edited"));
        }
        if with_text && message.text.is_none() {
            return Err(ApiErr::bad("there is no text in the message to edit"));
        }
        let same_text = text.is_none() || text == message.text;
        if same_text && new_markup == message.reply_markup {
            return Err(ApiErr::bad(NOT_MODIFIED));
        }
        if let Some(text) = &text {
            message.text = Some(text.clone());
        }
        message.reply_markup = new_markup;
        message.edit_date = Some(now());
        let json = message.to_json(message_id);
        self.edits.push(Edit {
            chat_id,
            message_id,
            text,
            reply_markup: markup,
        });
        Ok(json)
    }

    fn answer_callback_query(&mut self, p: &Params) -> Result<Value, ApiErr> {
        let id = p.string("callback_query_id").unwrap_or_default();
        let text = p.string("text");
        if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
            return Err(ApiErr::bad("MESSAGE_TOO_LONG"));
        }
        let limit = self
            .tappers
            .get(&id)
            .and_then(|user| self.member_limits.get_mut(user))
            .and_then(VecDeque::pop_front);
        if let Some(seconds) = limit {
            return Err(ApiErr {
                code: 429,
                description: format!("Too Many Requests: retry after {seconds}"),
                retry_after: Some(seconds),
            });
        }
        match self.callbacks.get_mut(&id) {
            Some(answered @ false) => *answered = true,
            _ => {
                return Err(ApiErr::bad(
                    "query is too old and response timeout expired or query id is invalid",
                ));
            }
        }
        self.answer_times.insert(id.clone(), Instant::now());
        self.answers.push(CallbackAnswer {
            id,
            text,
            show_alert: p.flag("show_alert"),
        });
        Ok(json!(true))
    }

    /// SendPhoto (`field` "photo") or SendDocument ("document"), multipart with the file as an
    /// `attach://` part, or a file_id this fake handed out earlier.
    fn send_file(&mut self, p: &Params, field: &'static str) -> Result<Value, ApiErr> {
        let chat_id = p.chat_id()?;
        let chat = self.writable_chat(chat_id)?;
        let reference = p
            .string(field)
            .ok_or_else(|| ApiErr::bad(&format!("there is no {field} in the request")))?;
        let (filename, bytes) = match reference.strip_prefix("attach://") {
            Some(part) => p
                .files
                .get(part)
                .cloned()
                .ok_or_else(|| ApiErr::bad("wrong file identifier/HTTP URL specified"))?,
            None => match self.files.get(&reference) {
                Some(bytes) => (None, bytes.clone()),
                None => return Err(ApiErr::bad("wrong file identifier/HTTP URL specified")),
            },
        };
        if bytes.is_empty() {
            return Err(ApiErr::bad("file must be non-empty"));
        }
        let caption = p.string("caption").filter(|c| !c.is_empty());
        if let Some(caption) = &caption {
            check_text(
                caption,
                p.string("parse_mode").as_deref(),
                1024,
                None,
                "message caption is too long",
            )?;
        }
        let markup = p.json("reply_markup")?;
        check_markup(markup.as_ref())?;
        self.next_file += 1;
        let file_id = format!("fake-file-{}", self.next_file);
        let file = json!({
            "file_id": file_id,
            "file_unique_id": format!("fake-unique-{}", self.next_file),
            "file_size": bytes.len(),
        });
        let media = if field == "photo" {
            let (width, height) = png_size(&bytes).unwrap_or((1, 1));
            let mut size = file;
            size["width"] = json!(width);
            size["height"] = json!(height);
            json!([size])
        } else {
            let mut document = file;
            if let Some(name) = &filename {
                document["file_name"] = json!(name);
            }
            document
        };
        self.files.insert(file_id, bytes.clone());
        let message_id = self.next_message_id(chat_id);
        let message = StoredMessage {
            from: bot_user_json(),
            chat,
            date: now(),
            edit_date: None,
            by_bot: true,
            text: None,
            entities: None,
            media: Some((field, media)),
            caption: caption.clone(),
            reply_markup: inline_markup(markup.as_ref()),
        };
        let json = message.to_json(message_id);
        self.messages.insert((chat_id, message_id), message);
        self.uploads.push(Upload {
            method: if field == "photo" {
                "SendPhoto"
            } else {
                "SendDocument"
            }
            .to_string(),
            chat_id,
            filename,
            bytes,
            caption,
        });
        Ok(json)
    }

    fn delete_message(&mut self, p: &Params) -> Result<Value, ApiErr> {
        let chat_id = p.chat_id()?;
        let message_id = p
            .int("message_id")?
            .ok_or_else(|| ApiErr::bad("message identifier is not specified"))?;
        self.writable_chat(chat_id)?;
        match self.messages.remove(&(chat_id, message_id)) {
            Some(_) => Ok(json!(true)),
            None => Err(ApiErr::bad("message to delete not found")),
        }
    }

    fn set_my_commands(&mut self, p: &Params) -> Result<Value, ApiErr> {
        let commands = p
            .json("commands")?
            .and_then(|c| c.as_array().cloned())
            .ok_or_else(|| ApiErr::bad("parameter \"commands\" is required"))?;
        let mut parsed = Vec::new();
        for c in &commands {
            let command = c["command"].as_str().unwrap_or_default();
            let description = c["description"].as_str().unwrap_or_default();
            let valid = (1..=32).contains(&command.len())
                && command
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
            if !valid {
                return Err(ApiErr::bad("BOT_COMMAND_INVALID"));
            }
            if description.trim().is_empty() || description.chars().count() > 256 {
                return Err(ApiErr::bad("BOT_COMMAND_DESCRIPTION_INVALID"));
            }
            parsed.push((command.to_string(), description.to_string()));
        }
        let scope = p.json("scope")?;
        let default_scope = scope
            .as_ref()
            .is_none_or(|s| s["type"].as_str() == Some("default"));
        let language = p.string("language_code");
        if default_scope && language.is_none() {
            self.commands = parsed.clone();
        }
        let scope = scope
            .as_ref()
            .and_then(|s| s["type"].as_str().map(str::to_string))
            .unwrap_or_else(|| "default".into());
        self.menus.insert((scope, language), parsed);
        Ok(json!(true))
    }
}

/// A command menu's scope type and language code.
type MenuKey = (String, Option<String>);

// ---- HTTP ----------------------------------------------------------------------------------

/// A Bot API error answer.
struct ApiErr {
    code: u16,
    description: String,
    retry_after: Option<u32>,
}

impl ApiErr {
    fn new(code: u16, description: &str) -> Self {
        ApiErr {
            code,
            description: description.to_string(),
            retry_after: None,
        }
    }

    fn bad(what: &str) -> Self {
        ApiErr::new(400, &format!("Bad Request: {what}"))
    }

    fn forbidden(what: &str) -> Self {
        ApiErr::new(403, &format!("Forbidden: {what}"))
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> Response {
        let mut body = json!({
            "ok": false,
            "error_code": self.code,
            "description": self.description,
        });
        if let Some(seconds) = self.retry_after {
            body["parameters"] = json!({"retry_after": seconds});
        }
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        json_response(status, &body)
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn not_found() -> Response {
    ApiErr::new(404, "Not Found").into_response()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    let method = method.to_ascii_lowercase();
    if let Err(e) = shared.with(|s| s.begin(&bot, &method)) {
        return e.into_response();
    }
    let params = match Params::read(request).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let fault = shared.with(|s| s.faults.get_mut(&method).and_then(VecDeque::pop_front));
    match &fault {
        Some(Fault::ResetBefore) => return broken_connection(),
        Some(Fault::Slow(delay)) => tokio::time::sleep(*delay).await,
        Some(Fault::ServerError(code)) => {
            return ApiErr::new(*code, "Internal Server Error").into_response();
        }
        Some(Fault::Result(value)) => {
            return json_response(StatusCode::OK, &json!({"ok": true, "result": value}));
        }
        Some(Fault::ResetAfter) | None => {}
    }
    let result = if method == "getupdates" {
        get_updates(&shared, &params).await
    } else {
        shared.with(|s| s.call(&method, &params))
    };
    if matches!(fault, Some(Fault::ResetAfter)) {
        return broken_connection();
    }
    match result {
        Ok(value) => json_response(StatusCode::OK, &json!({"ok": true, "result": value})),
        Err(e) => e.into_response(),
    }
}

/// An answer whose body fails mid-way: the server drops the connection and the client sees a
/// transport error, as with a connection reset.
fn broken_connection() -> Response {
    let body = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection reset",
        ))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}

/// Answers at once when updates are pending, else waits for one at most min(timeout, 1 s).
async fn get_updates(shared: &Shared, p: &Params) -> Result<Value, ApiErr> {
    let offset = p.int("offset")?.unwrap_or(0);
    let limit = p.int("limit")?.unwrap_or(100).clamp(1, 100) as usize;
    let timeout = Duration::from_secs(p.int("timeout")?.unwrap_or(0).max(0) as u64);
    let allowed: Option<Vec<String>> = p.json("allowed_updates")?.map(|a| {
        a.as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    });
    let is_empty = |batch: &Value| batch.as_array().is_none_or(Vec::is_empty);
    // The first look acknowledges `offset`, which observers may be waiting for.
    let batch = shared.with(|s| s.take_updates(offset, limit, allowed));
    if !is_empty(&batch) || timeout.is_zero() {
        return Ok(batch);
    }
    let deadline = Instant::now() + timeout.min(LONG_POLL_CAP);
    loop {
        // Registered before looking, so an update injected in between still wakes this poll;
        // looking is quiet, so the poll does not wake itself.
        let changed = shared.notify.notified();
        let batch = shared.quiet(|s| s.take_updates(offset, limit, None));
        if !is_empty(&batch) || Instant::now() >= deadline {
            return Ok(batch);
        }
        let _ = tokio::time::timeout_at(deadline, changed).await;
    }
}

/// A request's parameters: a JSON object, or multipart text fields plus file parts.
struct Params {
    fields: Map<String, Value>,
    /// Multipart file parts by part name: (file name, bytes).
    files: HashMap<String, (Option<String>, Vec<u8>)>,
}

impl Params {
    async fn read(request: Request) -> Result<Params, ApiErr> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if multipart {
            return Params::read_multipart(request).await;
        }
        let body: Bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
            .await
            .map_err(|_| ApiErr::new(413, "Request Entity Too Large"))?;
        let fields = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            match serde_json::from_slice(&body) {
                Ok(Value::Object(map)) => map,
                _ => return Err(ApiErr::bad("request body is not a JSON object")),
            }
        };
        Ok(Params {
            fields,
            files: HashMap::new(),
        })
    }

    async fn read_multipart(request: Request) -> Result<Params, ApiErr> {
        let broken = |e: &dyn std::fmt::Display| ApiErr::bad(&format!("bad multipart body: {e}"));
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|e| broken(&e))?;
        let mut params = Params {
            fields: Map::new(),
            files: HashMap::new(),
        };
        while let Some(part) = form.next_field().await.map_err(|e| broken(&e))? {
            let name = part.name().unwrap_or_default().to_string();
            let filename = part.file_name().map(str::to_string);
            let bytes = part.bytes().await.map_err(|e| broken(&e))?;
            match filename {
                Some(filename) => {
                    let filename = (!filename.is_empty()).then_some(filename);
                    params.files.insert(name, (filename, bytes.to_vec()));
                }
                None => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    params.fields.insert(name, Value::String(text));
                }
            }
        }
        Ok(params)
    }

    fn string(&self, name: &str) -> Option<String> {
        match self.fields.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    fn int(&self, name: &str) -> Result<Option<i64>, ApiErr> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| ApiErr::bad(&format!("invalid {name}"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| ApiErr::bad(&format!("invalid {name}"))),
            Some(_) => Err(ApiErr::bad(&format!("invalid {name}"))),
        }
    }

    /// `chat_id`: a number, or a numeric string; "@username" chats are not simulated.
    fn chat_id(&self) -> Result<i64, ApiErr> {
        match self.fields.get("chat_id") {
            None | Some(Value::Null) => Err(ApiErr::bad("chat_id is empty")),
            Some(Value::String(s)) if s.starts_with('@') => Err(ApiErr::bad("chat not found")),
            Some(_) => self
                .int("chat_id")?
                .ok_or_else(|| ApiErr::bad("chat_id is empty")),
        }
    }

    fn flag(&self, name: &str) -> bool {
        match self.fields.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        }
    }

    /// A JSON-valued parameter: inline in a JSON body, or a JSON string in a multipart body.
    fn json(&self, name: &str) -> Result<Option<Value>, ApiErr> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s)
                .map(Some)
                .map_err(|_| ApiErr::bad(&format!("can't parse {name} JSON object"))),
            Some(v) => Ok(Some(v.clone())),
        }
    }
}

// ---- Telegram rules ------------------------------------------------------------------------

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs() as i64)
}

fn me_json() -> Value {
    json!({
        "id": BOT_ID,
        "is_bot": true,
        "first_name": BOT_NAME,
        "username": BOT_USERNAME,
        "can_join_groups": true,
        "can_read_all_group_messages": false,
        "supports_inline_queries": false,
        "can_connect_to_business": false,
        "has_main_web_app": false,
    })
}

fn bot_user_json() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": BOT_NAME, "username": BOT_USERNAME})
}

fn user_json(user: &TgUser) -> Value {
    let mut u = json!({"id": user.id, "is_bot": false, "first_name": user.first_name});
    if let Some(name) = &user.username {
        u["username"] = json!(name);
    }
    if let Some(lang) = &user.language_code {
        u["language_code"] = json!(lang);
    }
    u
}

/// The `bot_command` entity Telegram adds to a message that starts with a command; offsets
/// and lengths are in UTF-16 code units.
fn command_entities(text: &str) -> Option<Value> {
    if !text.starts_with('/') {
        return None;
    }
    let command = text.split(char::is_whitespace).next().unwrap_or_default();
    let length = command.encode_utf16().count();
    (length > 1).then(|| json!([{"type": "bot_command", "offset": 0, "length": length}]))
}

/// The inline keyboard a message keeps from a `reply_markup`, if any (an empty keyboard is
/// none).
fn inline_markup(markup: Option<&Value>) -> Option<Value> {
    let markup = markup?;
    let rows = markup.get("inline_keyboard")?.as_array()?;
    rows.iter()
        .any(|row| row.as_array().is_some_and(|r| !r.is_empty()))
        .then(|| markup.clone())
}

fn check_markup(markup: Option<&Value>) -> Result<(), ApiErr> {
    let Some(rows) = markup.and_then(|m| m.get("inline_keyboard")) else {
        return Ok(());
    };
    let rows = rows
        .as_array()
        .ok_or_else(|| ApiErr::bad("inline keyboard must be an array of button rows"))?;
    for row in rows {
        let row = row
            .as_array()
            .ok_or_else(|| ApiErr::bad("inline keyboard row must be an array"))?;
        for button in row {
            if button["text"].as_str().is_none_or(str::is_empty) {
                return Err(ApiErr::bad("BUTTON_TEXT_INVALID"));
            }
            let actions = [
                "callback_data",
                "url",
                "switch_inline_query",
                "switch_inline_query_current_chat",
                "web_app",
                "login_url",
                "copy_text",
                "callback_game",
                "pay",
            ];
            if !actions.iter().any(|a| button.get(*a).is_some()) {
                return Err(ApiErr::bad(
                    "text buttons are unallowed in the inline keyboard",
                ));
            }
            if let Some(data) = button.get("callback_data") {
                let len = data.as_str().map_or(0, str::len);
                if !(1..=64).contains(&len) {
                    return Err(ApiErr::bad("BUTTON_DATA_INVALID"));
                }
            }
        }
    }
    Ok(())
}

/// Checks a message text or caption as Telegram does: HTML must parse, the visible text must
/// not be empty (when `empty` names the error) nor longer than `max` characters.
fn check_text(
    text: &str,
    parse_mode: Option<&str>,
    max: usize,
    empty: Option<&str>,
    too_long: &str,
) -> Result<(), ApiErr> {
    let visible = match parse_mode {
        Some(mode) if mode.eq_ignore_ascii_case("html") => {
            html_visible(text).map_err(|e| ApiErr::bad(&format!("can't parse entities: {e}")))?
        }
        _ => text.to_string(),
    };
    if let Some(empty) = empty.filter(|_| visible.trim().is_empty()) {
        return Err(ApiErr::bad(empty));
    }
    if visible.chars().count() > max {
        return Err(ApiErr::bad(too_long));
    }
    Ok(())
}

/// The visible text of Telegram HTML: only the tags Telegram supports, properly nested; the
/// entities `&lt; &gt; &amp; &quot;` and numeric ones count as one character.
fn html_visible(html: &str) -> Result<String, String> {
    const TAGS: &[&str] = &[
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    ];
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(c) = html[i..].chars().next() {
        let rest = &html[i..];
        if c == '<' {
            let end = rest
                .find('>')
                .ok_or_else(|| format!("Unclosed start tag at byte offset {i}"))?;
            let tag = &rest[1..end];
            if let Some(name) = tag.strip_prefix('/') {
                let name = name.trim().to_ascii_lowercase();
                match open.pop() {
                    Some(expected) if expected == name => {}
                    Some(expected) => {
                        return Err(format!(
                            "Unmatched end tag at byte offset {i}, expected \"</{expected}>\", \
                             found \"</{name}>\""
                        ));
                    }
                    None => return Err(format!("Unexpected end tag at byte offset {i}")),
                }
            } else {
                let name = tag
                    .split(char::is_whitespace)
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if !TAGS.contains(&name.as_str()) {
                    return Err(format!(
                        "Unsupported start tag \"{name}\" at byte offset {i}"
                    ));
                }
                open.push(name);
            }
            i += end + 1;
        } else if c == '&' {
            let entity = rest
                .find(';')
                .filter(|&semi| semi <= 10)
                .and_then(|semi| decode_entity(&rest[1..semi]).map(|ch| (ch, semi)));
            match entity {
                Some((ch, semi)) => {
                    out.push(ch);
                    i += semi + 1;
                }
                None => {
                    out.push('&');
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += c.len_utf8();
        }
    }
    match open.pop() {
        Some(tag) => Err(format!(
            "Can't find end tag corresponding to start tag {tag}"
        )),
        None => Ok(out),
    }
}

fn decode_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Width and height from a PNG header, so photo sizes look real.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let width = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let height = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((width, height))
}
