//! A fake Discord (REST API v10 and gateway v10) on 127.0.0.1 for adapter tests: a stateful
//! simulator of guilds, channels, members with roles, messages and interactions that the real
//! serenity client talks to over HTTP and a plain `ws://` websocket.
//!
//! Point serenity at it with `HttpBuilder::new(TOKEN).proxy(&fake.url).ratelimiter_disabled(true)`
//! (serenity ignores the proxy while its rate limiter is on) and build the client with
//! `ClientBuilder::new_with_http`. The client asks `GET /api/v10/gateway` once, when it is built,
//! and connects to the `url` it gets (`ws://127.0.0.1:PORT/gateway`) with `?v=10` appended.
//!
//! Tests inject what members do (`slash`, `click`, `select`, `submit_modal`) as
//! `INTERACTION_CREATE` dispatches, let the bot run, and assert on what it did (`responses`,
//! with how long after dispatch each callback came, `messages`, `commands`, `calls` and
//! `call_times`). Faults (`rate_limit_next`, `fail_next`, `reset_next`) hit the next matching
//! call; `rate_limit_next_for` only calls answering one member's interactions. The fake behaves like Discord where that shapes an adapter:
//! snowflake ids, one callback per interaction (40060), the 3 s deadline for the first
//! callback (10062), deferred "thinking" messages, type 7 updates editing the message the
//! component sits on, `@original` and followups, ephemeral messages, multipart uploads with
//! `files[n]`, attachments replaced on edit, component and modal limits, command validation,
//! 401s for a wrong token, 429s with Discord's body and headers, and a gateway with Hello,
//! heartbeats, READY and GUILD_CREATE, sequence numbers, RECONNECT/RESUME with replay of missed
//! events, INVALID_SESSION, close codes, and privileged intents refused unless enabled.
//!
//! Deliberate simplifications: one shard; text JSON frames only (serenity sets `compress: true`
//! in IDENTIFY, which allows but does not require zlib-compressed binary frames; it never asks
//! for transport compression); role permissions are not modelled (members have Discord's
//! default `@everyone` permissions, admins have all); interaction tokens do not expire after
//! 15 minutes; components v2 are accepted unchecked; error messages of validation failures
//! follow Discord's format (`50035 Invalid Form Body` with `_errors`) but their wording is
//! approximate. The fake never answers 5xx unless a test asks for it (`fail_next`), and breaks
//! connections only when asked (`reset_next`).
//!
//! One bot per fake: a new gateway connection replaces the previous one. `replay` sends a
//! duplicate with the next sequence number. Mentions follow `allowed_mentions` (`pinged`).

use axum::Router;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, RawQuery, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::get;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

pub const TOKEN: &str = "discord-test-token";
pub const APP_ID: u64 = 900_000_000_000_000_001;
/// The bot user's id: for applications created since 2020 it equals the application id.
pub const BOT_ID: u64 = APP_ID;
pub const BOT_USERNAME: &str = "canvass";
/// The human who owns the application (`GET /oauth2/applications/@me`).
pub const OWNER_ID: u64 = 900_000_000_000_000_777;
/// What Hello tells the bot; Discord sends 41250.
pub const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// Interaction `attachment_size_limit`, and the largest file the fake accepts (10 MiB).
pub const ATTACHMENT_SIZE_LIMIT: usize = 10 * 1024 * 1024;

/// The first callback to an interaction must arrive within this time after dispatch.
const ACK_DEADLINE: Duration = Duration::from_secs(3);
/// How long `wait_for` waits before it fails the test.
const WAIT_LIMIT: Duration = Duration::from_secs(15);
const MAX_BODY: usize = 4 * ATTACHMENT_SIZE_LIMIT;
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
const JOINED_AT: &str = "2025-01-06T10:00:00.000000+00:00";

// Message flags.
pub const SUPPRESS_EMBEDS: u64 = 1 << 2;
pub const EPHEMERAL: u64 = 1 << 6;
/// The "Bot is thinking..." state of a deferred interaction response.
pub const LOADING: u64 = 1 << 7;
pub const SUPPRESS_NOTIFICATIONS: u64 = 1 << 12;
pub const IS_COMPONENTS_V2: u64 = 1 << 15;

// Gateway intents the fake looks at.
const INTENT_GUILD_MEMBERS: u64 = 1 << 1;
const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);

// Permissions.
pub const ADMINISTRATOR: u64 = 1 << 3;
/// Every permission Discord documents (bits 0-46, 49, 50): what an administrator has.
pub const ALL_PERMISSIONS: u64 = ((1 << 47) - 1) | (1 << 49) | (1 << 50);
/// Discord's default `@everyone` permissions in a new guild: view, send, embed, attach,
/// history, reactions, external emoji/stickers, application commands, threads, voice basics.
pub const DEFAULT_PERMISSIONS: u64 = (1 << 0)
    | (1 << 6)
    | (1 << 9)
    | (1 << 10)
    | (1 << 11)
    | (1 << 14)
    | (1 << 15)
    | (1 << 16)
    | (1 << 18)
    | (1 << 20)
    | (1 << 21)
    | (1 << 25)
    | (1 << 26)
    | (1 << 31)
    | (1 << 32)
    | (1 << 35)
    | (1 << 36)
    | (1 << 37)
    | (1 << 38)
    | (1 << 39)
    | (1 << 42)
    | (1 << 46)
    | (1 << 49)
    | (1 << 50);

/// A Discord user who is (or will be) a guild member.
#[derive(Clone, Debug)]
pub struct DcUser {
    pub id: u64,
    /// Shown as `global_name`; `username` is its lowercase form with spaces as underscores.
    pub name: String,
    pub roles: Vec<u64>,
    /// Administrators get every permission in interaction `member.permissions`.
    pub admin: bool,
    /// The interaction `locale` (Discord: the user's client language), default "en-US".
    pub locale: String,
}

impl DcUser {
    pub fn new(id: u64, name: &str) -> Self {
        DcUser {
            id,
            name: name.to_string(),
            roles: Vec::new(),
            admin: false,
            locale: "en-US".to_string(),
        }
    }

    pub fn with_roles(mut self, roles: &[u64]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    pub fn admin(mut self) -> Self {
        self.admin = true;
        self
    }

    pub fn with_locale(mut self, locale: &str) -> Self {
        self.locale = locale.to_string();
        self
    }
}

/// A message the bot created, as it is now (after edits).
#[derive(Clone, Debug)]
pub struct Message {
    pub id: u64,
    pub channel_id: u64,
    pub content: String,
    /// The components array as the bot last sent it (`[]` when none).
    pub components: Value,
    /// The embeds array (`[]` when none), with `type: "rich"` added as Discord does.
    pub embeds: Value,
    /// Message flags: `EPHEMERAL` (64), `LOADING` (128, a deferred response not yet edited),
    /// `SUPPRESS_EMBEDS`, `SUPPRESS_NOTIFICATIONS`.
    pub flags: u64,
    /// The `allowed_mentions` of the last create or edit that carried one.
    pub allowed_mentions: Option<Value>,
    /// Attached files (file name, bytes), in order.
    pub files: Vec<(String, Vec<u8>)>,
    /// How many times it was changed after creation (PATCH, or a type 7 update).
    pub edits: usize,
    /// "channel" (POST /channels/{id}/messages), "interaction" (a type 4 or 5 callback) or
    /// "followup" (POST /webhooks/{app}/{token}).
    pub via: &'static str,
    /// The interaction whose response or followup this is.
    pub interaction_id: Option<u64>,
}

impl Message {
    pub fn is_ephemeral(&self) -> bool {
        self.flags & EPHEMERAL != 0
    }

    /// Still the "thinking..." placeholder of a deferred response.
    pub fn is_loading(&self) -> bool {
        self.flags & LOADING != 0
    }

    /// Every `custom_id` in the message's components, in order.
    pub fn custom_ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_custom_ids(&self.components, &mut out);
        out
    }

    /// The buttons as (label, custom_id); link buttons have their url as custom_id.
    pub fn buttons(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for row in self.components.as_array().into_iter().flatten() {
            for c in row["components"].as_array().into_iter().flatten() {
                if c["type"] == 2 {
                    let target = c["custom_id"].as_str().or(c["url"].as_str());
                    out.push((
                        c["label"].as_str().unwrap_or_default().to_string(),
                        target.unwrap_or_default().to_string(),
                    ));
                }
            }
        }
        out
    }

    /// Who this message notifies, by Discord's rules for `allowed_mentions` (absent: every
    /// mention in the content pings): "user:ID", "role:ID", "@everyone" or "@here". An empty
    /// list means nobody was pinged.
    pub fn pinged(&self) -> Vec<String> {
        let (parse, users, roles): (Vec<String>, Vec<String>, Vec<String>) =
            match &self.allowed_mentions {
                None => (
                    vec!["users".into(), "roles".into(), "everyone".into()],
                    Vec::new(),
                    Vec::new(),
                ),
                Some(a) => (
                    strings(&a["parse"]),
                    strings(&a["users"]),
                    strings(&a["roles"]),
                ),
            };
        let mut out = Vec::new();
        let text = &self.content;
        let mut rest = text.as_str();
        while let Some(start) = rest.find("<@") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find('>') else { break };
            let inner = &rest[..end];
            if let Some(role) = inner.strip_prefix('&') {
                if role.parse::<u64>().is_ok()
                    && (parse.iter().any(|p| p == "roles") || roles.iter().any(|r| r == role))
                {
                    out.push(format!("role:{role}"));
                }
            } else {
                let user = inner.strip_prefix('!').unwrap_or(inner);
                if user.parse::<u64>().is_ok()
                    && (parse.iter().any(|p| p == "users") || users.iter().any(|u| u == user))
                {
                    out.push(format!("user:{user}"));
                }
            }
        }
        if parse.iter().any(|p| p == "everyone") {
            for everyone in ["@everyone", "@here"] {
                if text.contains(everyone) {
                    out.push(everyone.to_string());
                }
            }
        }
        out.dedup();
        out
    }
}

/// An accepted interaction callback (POST /interactions/{id}/{token}/callback).
#[derive(Clone, Debug)]
pub struct Response {
    pub interaction_id: u64,
    /// 4 message, 5 deferred message, 6 deferred update, 7 update message, 9 modal.
    pub kind: u64,
    /// The callback's `data` (`Null` when it had none).
    pub data: Value,
    /// Uploaded files (file name, bytes) of a multipart callback.
    pub files: Vec<(String, Vec<u8>)>,
    /// How long after the interaction reached the bot the callback was accepted (always
    /// within the 3 s deadline, or it is refused).
    pub after: Duration,
}

/// The fake server. Dropping it stops accepting connections.
pub struct FakeDiscord {
    /// `http://127.0.0.1:PORT`: what to give `HttpBuilder::proxy` (serenity replaces
    /// `https://discord.com` with it, keeping `/api/v10/...`).
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    state: Mutex<Sim>,
    /// Woken after every change, for `wait_for`.
    notify: Notify,
}

impl Shared {
    /// Changes the state and wakes everyone waiting for a change.
    fn with<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        let result = self.quiet(f);
        self.notify.notify_waiters();
        result
    }

    /// Uses the state without waking anyone (reads, so a waiter does not wake itself).
    fn quiet<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }
}

impl Drop for FakeDiscord {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeDiscord {
    /// Starts the fake on 127.0.0.1 on a free port: REST under `/api/v10/...`, the gateway
    /// websocket at `/gateway`.
    ///
    /// The url is loopback, so reqwest must not send it through a proxy: `.ci/run` exports
    /// `NO_PROXY=127.0.0.1,localhost` (or give serenity a client built with `no_proxy()`).
    pub async fn start() -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Discord server");
        let addr = listener.local_addr().expect("fake Discord address");
        let shared = Arc::new(Shared {
            state: Mutex::new(Sim::new(format!("ws://{addr}/gateway"))),
            notify: Notify::new(),
        });
        let app = Router::new()
            .route("/gateway", get(gateway_upgrade))
            .fallback(rest)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDiscord {
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

    /// The gateway url the fake hands out (`ws://127.0.0.1:PORT/gateway`).
    pub fn gateway_url(&self) -> String {
        self.read(|s| s.ws_url.clone())
    }

    // ---- the world ---------------------------------------------------------------------------

    /// A guild the bot is in, with text channels (the first is named "general") and roles
    /// (besides `@everyone`, whose id is the guild id). If the bot is connected it gets a
    /// GUILD_CREATE, as when it joins a guild.
    pub fn add_guild(&self, guild_id: u64, name: &str, channels: &[u64], roles: &[(u64, &str)]) {
        self.with(|s| s.add_guild(guild_id, name, channels, roles));
    }

    /// Adds or replaces a member of a guild.
    pub fn add_member(&self, guild_id: u64, user: &DcUser) {
        self.with(|s| {
            let guild = s
                .guilds
                .get_mut(&guild_id)
                .unwrap_or_else(|| panic!("fake Discord: no guild {guild_id}; add_guild first"));
            guild.members.insert(user.id, user.clone());
        });
    }

    /// The id of the bot's DM channel with `user` (made on first use; the same channel
    /// `POST /users/@me/channels` answers). Pass it with guild id 0 to `slash` and friends for
    /// an interaction in that DM.
    pub fn dm_channel(&self, user: &DcUser) -> u64 {
        self.with(|s| s.dm_channel(user))
    }

    /// Lets IDENTIFY ask for privileged intents (GUILD_MEMBERS, GUILD_PRESENCES,
    /// MESSAGE_CONTENT); by default the fake closes with 4014 like an application whose
    /// developer portal switches are off.
    pub fn enable_privileged_intents(&self) {
        self.with(|s| s.privileged_intents = true);
    }

    /// Waits until the bot has IDENTIFIED (or RESUMED) and the fake has sent READY on a
    /// connection that is still open.
    pub async fn wait_ready(&self) {
        self.wait_for("the bot to IDENTIFY and get READY", |f| {
            f.read(|s| (s.gw.readies > 0 && s.gw.is_live()).then_some(()))
        })
        .await;
    }

    // ---- what members do -----------------------------------------------------------------------

    /// A member runs slash command `name` in a guild channel (guild id 0: in their DM channel
    /// with the bot); returns the interaction id. `options` is Discord's array of
    /// `{name, type, value}`, or of one subcommand `{name, type: 1, options: [...]}`; user,
    /// channel and role options get `resolved` data. The command id is the registered one
    /// (guild commands first) or, if the bot registered no such command, a made-up one.
    ///
    /// `user` is the member as they are now: it also replaces the stored member.
    pub fn slash(
        &self,
        guild_id: u64,
        channel_id: u64,
        user: &DcUser,
        name: &str,
        options: Value,
    ) -> u64 {
        self.with(|s| s.slash(guild_id, channel_id, user, name, options))
    }

    /// A member clicks the button `custom_id` on stored message `message_id` (ephemeral ones
    /// too, by the member who received them); returns the interaction id. Panics if the
    /// message has no such enabled button, as Discord clients cannot send that.
    pub fn click(
        &self,
        guild_id: u64,
        channel_id: u64,
        user: &DcUser,
        message_id: u64,
        custom_id: &str,
    ) -> u64 {
        self.with(|s| s.component(guild_id, channel_id, user, message_id, custom_id, None))
    }

    /// A modified client sends a button click with a `custom_id` that is not on the message
    /// (a forged or stale payload); returns the interaction id.
    pub fn click_forged(
        &self,
        guild_id: u64,
        channel_id: u64,
        user: &DcUser,
        message_id: u64,
        custom_id: &str,
    ) -> u64 {
        self.with(|s| {
            assert!(
                s.messages.contains_key(&message_id),
                "fake Discord: no message {message_id}"
            );
            s.interact(NewInteraction {
                kind: 3,
                guild_id,
                channel_id,
                user: user.clone(),
                name: custom_id.to_string(),
                data: json!({"custom_id": custom_id, "component_type": 2}),
                message: Some(message_id),
                trigger: None,
            })
        })
    }

    /// A member picks `values` in the string select `custom_id` on a stored message; returns
    /// the interaction id. Panics if the select or a value does not exist, or the number of
    /// values is outside its min_values..=max_values.
    pub fn select(
        &self,
        guild_id: u64,
        channel_id: u64,
        user: &DcUser,
        message_id: u64,
        custom_id: &str,
        values: &[&str],
    ) -> u64 {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        self.with(|s| {
            s.component(
                guild_id,
                channel_id,
                user,
                message_id,
                custom_id,
                Some(values),
            )
        })
    }

    /// A member submits the modal `custom_id` that the bot opened for them (a type 9
    /// callback) with text inputs `fields` as (custom_id, value); returns the interaction id.
    /// Panics if the bot never opened that modal for this member or a field is not in it.
    pub fn submit_modal(
        &self,
        guild_id: u64,
        channel_id: u64,
        user: &DcUser,
        custom_id: &str,
        fields: &[(&str, &str)],
    ) -> u64 {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.with(|s| s.submit_modal(guild_id, channel_id, user, custom_id, &fields))
    }

    /// Dispatches an earlier INTERACTION_CREATE again, unchanged (same id and token), with the
    /// next sequence number: a duplicate delivery, as after a RESUME. Its callback state is
    /// kept, so answering it again gets 40060.
    pub fn replay(&self, interaction_id: u64) {
        self.with(|s| {
            let payload = s
                .interactions
                .get(&interaction_id)
                .unwrap_or_else(|| panic!("fake Discord: no interaction {interaction_id}"))
                .payload
                .clone();
            s.dispatch("INTERACTION_CREATE", payload, Some(interaction_id));
        });
    }

    /// Sends op 7 RECONNECT. serenity opens a new connection and RESUMEs; events dispatched
    /// meanwhile are held and replayed after the RESUME, then RESUMED.
    pub fn reconnect(&self) {
        self.with(|s| {
            let conn =
                s.gw.current
                    .expect("fake Discord: reconnect() needs a connected bot");
            s.gw.send(conn, frame(7, Value::Null));
            s.gw.live = false;
        });
    }

    /// Sends op 9 INVALID_SESSION (not resumable) and forgets the session: serenity restarts
    /// the shard and IDENTIFIEs again (after the 5 s serenity waits between IDENTIFYs).
    /// Events not yet delivered are dispatched in the new session after its GUILD_CREATEs.
    pub fn invalidate_session(&self) {
        self.with(|s| {
            let conn =
                s.gw.current
                    .expect("fake Discord: invalidate_session() needs a connected bot");
            s.gw.send(conn, frame(9, json!(false)));
            s.gw.live = false;
            s.gw.drop_session();
        });
    }

    /// Sends op 1 HEARTBEAT: serenity must heartbeat at once (see `heartbeats`).
    pub fn request_heartbeat(&self) {
        self.with(|s| {
            let conn =
                s.gw.current
                    .expect("fake Discord: request_heartbeat() needs a connected bot");
            s.gw.send(conn, frame(1, Value::Null));
        });
    }

    /// Acts as if the 3 s deadline of an interaction had passed: its first callback gets 404
    /// "Unknown interaction" (10062).
    pub fn expire_interaction(&self, interaction_id: u64) {
        self.with(|s| {
            s.interactions
                .get_mut(&interaction_id)
                .unwrap_or_else(|| panic!("fake Discord: no interaction {interaction_id}"))
                .expired = true;
        });
    }

    /// The next REST call with this method whose path (after `/api/v10`) starts with
    /// `path_prefix` answers 429 with Discord's body and headers. Calling it twice limits the
    /// next two such calls.
    pub fn rate_limit_next(&self, method: &str, path_prefix: &str, retry_after_secs: f64) {
        self.fault(
            None,
            method,
            path_prefix,
            Failure::RateLimited(retry_after_secs),
        );
    }

    /// As `rate_limit_next`, but only for calls answering one member's interactions
    /// (`/interactions/{id}/...` and `/webhooks/{app}/{token}...`).
    pub fn rate_limit_next_for(
        &self,
        user_id: u64,
        method: &str,
        path_prefix: &str,
        retry_after_secs: f64,
    ) {
        let failure = Failure::RateLimited(retry_after_secs);
        self.fault(Some(user_id), method, path_prefix, failure);
    }

    fn fault(&self, user: Option<u64>, method: &str, path_prefix: &str, failure: Failure) {
        let fault = Fault {
            method: method.to_ascii_uppercase(),
            prefix: strip_api(path_prefix).to_string(),
            user,
            failure,
        };
        self.with(|s| s.failures.push_back(fault));
    }

    /// The next matching REST call (as `rate_limit_next`) answers `status` with Discord's error
    /// body `{"message", "code"}`: e.g. 403 / 50013 "Missing Permissions", or a 5xx, which the
    /// fake otherwise never sends.
    pub fn fail_next(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        code: u64,
        message: &str,
    ) {
        let failure = Failure::Error(status, code, message.to_string());
        self.fault(None, method, path_prefix, failure);
    }

    /// The next matching REST call (as `rate_limit_next`) loses its connection: before the
    /// fake carries it out (`after` false: nothing happened) or after (`after` true: it
    /// happened, but the bot gets no answer).
    /// The next matching REST call is carried out (a message is created), and then answered
    /// with `status` anyway, as a proxy or an overloaded Discord can: the bot cannot know.
    pub fn fail_after_next(&self, method: &str, path_prefix: &str, status: u16) {
        let prefix = strip_api(path_prefix).to_string();
        self.with(|s| {
            s.after_failures
                .push_back((method.to_ascii_uppercase(), prefix, status))
        });
    }

    pub fn reset_next(&self, method: &str, path_prefix: &str, after: bool) {
        let prefix = strip_api(path_prefix).to_string();
        self.with(|s| {
            s.resets
                .push_back((method.to_ascii_uppercase(), prefix, after))
        });
    }

    // ---- what the bot did ----------------------------------------------------------------------

    /// Every accepted interaction callback, in order.
    pub fn responses(&self) -> Vec<Response> {
        self.read(|s| s.responses.clone())
    }

    /// The callback accepted for one interaction, if any.
    pub fn response(&self, interaction_id: u64) -> Option<Response> {
        self.read(|s| {
            s.responses
                .iter()
                .find(|r| r.interaction_id == interaction_id)
                .cloned()
        })
    }

    /// Every message the bot created in a channel and that still exists, ephemeral ones
    /// included, oldest first.
    pub fn messages(&self, channel_id: u64) -> Vec<Message> {
        self.read(|s| {
            s.messages
                .values()
                .filter(|m| m.msg.channel_id == channel_id)
                .map(|m| m.msg.clone())
                .collect()
        })
    }

    pub fn message(&self, channel_id: u64, id: u64) -> Option<Message> {
        self.read(|s| {
            s.messages
                .get(&id)
                .filter(|m| m.msg.channel_id == channel_id)
                .map(|m| m.msg.clone())
        })
    }

    /// The message an interaction's `@original` is now (its response message, or for a
    /// component answered with type 6/7 the message the component is on).
    pub fn original(&self, interaction_id: u64) -> Option<Message> {
        self.read(|s| {
            let id = s.interactions.get(&interaction_id)?.original?;
            s.messages.get(&id).map(|m| m.msg.clone())
        })
    }

    /// Registered application commands as stored (Discord's command objects, with `id`,
    /// `application_id`, `version` and, for guild commands, `guild_id`): global ones first.
    pub fn commands(&self) -> Vec<Value> {
        self.read(|s| s.commands.values().flatten().cloned().collect())
    }

    /// How many REST calls had this method (case-insensitive) and a path starting with
    /// `path_prefix` (with or without `/api/v10`), failed ones included.
    pub fn calls(&self, method: &str, path_prefix: &str) -> usize {
        let prefix = strip_api(path_prefix);
        self.read(|s| {
            s.calls
                .iter()
                .filter(|(m, p, _)| m.eq_ignore_ascii_case(method) && p.starts_with(prefix))
                .count()
        })
    }

    /// When each matching REST call (as `calls`) arrived, failed ones included, in order.
    pub fn call_times(&self, method: &str, path_prefix: &str) -> Vec<Instant> {
        let prefix = strip_api(path_prefix);
        self.read(|s| {
            s.calls
                .iter()
                .filter(|(m, p, _)| m.eq_ignore_ascii_case(method) && p.starts_with(prefix))
                .map(|(_, _, at)| *at)
                .collect()
        })
    }

    /// An interaction's token, e.g. to look at its follow-ups' calls
    /// (`/webhooks/{APP_ID}/{token}`).
    pub fn token(&self, interaction_id: u64) -> Option<String> {
        self.read(|s| {
            s.interactions
                .get(&interaction_id)
                .map(|ix| ix.token.clone())
        })
    }

    pub fn identifies(&self) -> usize {
        self.read(|s| s.gw.identifies)
    }

    pub fn resumes(&self) -> usize {
        self.read(|s| s.gw.resumes)
    }

    /// Heartbeats (op 1) received from the bot.
    pub fn heartbeats(&self) -> usize {
        self.read(|s| s.gw.heartbeats)
    }

    /// Every IDENTIFY payload (`d`) received, with the token replaced by "***".
    pub fn identify_payloads(&self) -> Vec<Value> {
        self.read(|s| s.gw.identify_payloads.clone())
    }

    /// The query string of every gateway websocket the bot opened (serenity: "v=10").
    pub fn gateway_connects(&self) -> Vec<String> {
        self.read(|s| s.gw.queries.clone())
    }

    /// Close codes the bot sent when closing a gateway connection (1000 on shutdown).
    pub fn bot_closes(&self) -> Vec<u16> {
        self.read(|s| s.gw.bot_closes.clone())
    }

    /// Every gateway frame the fake sent to the bot, in order (Hello, READY, dispatches...).
    pub fn frames(&self) -> Vec<Value> {
        self.read(|s| s.gw.frames.clone())
    }

    /// Whether a gateway connection is open and identified or resumed.
    pub fn connected(&self) -> bool {
        self.read(|s| s.gw.is_live())
    }

    /// Waits until `f` returns `Some`, re-checking after every change to the fake; panics with
    /// `what` and a dump of what the bot did after 15 s.
    pub async fn wait_for<T>(&self, what: &str, f: impl Fn(&FakeDiscord) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT_LIMIT;
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
                    "fake Discord: waited {} s for {what}; state:\n{}",
                    WAIT_LIMIT.as_secs(),
                    self.dump()
                );
            }
        }
    }

    /// A readable account of the fake's state and what the bot did, for failure messages.
    pub fn dump(&self) -> String {
        self.read(Sim::dump)
    }
}

// ---- state -------------------------------------------------------------------------------------

struct Guild {
    name: String,
    channels: Vec<u64>,
    roles: Vec<(u64, String)>,
    members: BTreeMap<u64, DcUser>,
}

struct Channel {
    guild_id: Option<u64>,
    name: String,
    position: usize,
    /// For a DM channel: the user on the other side.
    recipient: Option<DcUser>,
}

#[derive(Clone)]
struct Stored {
    msg: Message,
    guild_id: Option<u64>,
    /// Discord message type: 0 default, 19 reply, 20 chat input command.
    kind: u64,
    tts: bool,
    edited_timestamp: Option<String>,
    /// (attachment object, bytes) in order; `msg.files` mirrors it.
    attachments: Vec<(Value, Vec<u8>)>,
    from_webhook: bool,
    interaction_metadata: Option<Value>,
    /// The deprecated `interaction` field (command responses only).
    interaction: Option<Value>,
    message_reference: Option<Value>,
    /// Who may see an ephemeral message.
    viewer: Option<u64>,
}

impl Stored {
    /// The message object; `mentions`, `mention_roles` and `mention_everyone` list what the
    /// message pings under its `allowed_mentions`.
    fn to_json(&self, sim: &Sim) -> Value {
        let m = &self.msg;
        let pinged = m.pinged();
        let mentions: Vec<Value> = pinged
            .iter()
            .filter_map(|p| p.strip_prefix("user:")?.parse::<u64>().ok())
            .map(|id| match sim.user(id) {
                Some(user) => user_json(&user),
                None => json!({"id": id.to_string(), "username": "unknown", "discriminator": "0",
                               "global_name": null, "avatar": null}),
            })
            .collect();
        let mut j = json!({
            "id": m.id.to_string(),
            "channel_id": m.channel_id.to_string(),
            "author": bot_user_json(),
            "content": m.content,
            "timestamp": snowflake_time(m.id),
            "edited_timestamp": self.edited_timestamp,
            "tts": self.tts,
            "mention_everyone": pinged.iter().any(|p| p.starts_with('@')),
            "mentions": mentions,
            "mention_roles": pinged
                .iter()
                .filter_map(|p| p.strip_prefix("role:").map(str::to_string))
                .collect::<Vec<_>>(),
            "attachments": self.attachments.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>(),
            "embeds": m.embeds,
            "components": m.components,
            "pinned": false,
            "type": self.kind,
            "flags": m.flags,
        });
        if self.from_webhook {
            j["webhook_id"] = json!(APP_ID.to_string());
            j["application_id"] = json!(APP_ID.to_string());
        }
        if let Some(meta) = &self.interaction_metadata {
            j["interaction_metadata"] = meta.clone();
        }
        if let Some(interaction) = &self.interaction {
            j["interaction"] = interaction.clone();
        }
        if let Some(reference) = &self.message_reference {
            j["message_reference"] = reference.clone();
        }
        j
    }
}

struct Interaction {
    token: String,
    /// 2 application command, 3 message component, 5 modal submit.
    kind: u64,
    guild_id: Option<u64>,
    channel_id: u64,
    user: DcUser,
    /// The command name, or the component's or modal's custom_id.
    name: String,
    payload: Value,
    /// For a component (or a modal opened from one): the message it is on.
    component_message: Option<u64>,
    /// For a modal submit: the interaction the bot answered with the modal.
    trigger: Option<u64>,
    sent_at: Option<Instant>,
    expired: bool,
    /// The callback type accepted, if any.
    response: Option<u64>,
    /// What `@original` is.
    original: Option<u64>,
    followups: Vec<u64>,
}

/// Something for a connection task to send.
enum Out {
    Frame(Value),
    Close(u16, &'static str),
}

struct Session {
    id: String,
    seq: u64,
    /// Every dispatch of the session: (seq, event name, data, delivered, interaction id).
    log: Vec<Logged>,
}

struct Logged {
    seq: u64,
    t: String,
    d: Value,
    sent: bool,
    interaction: Option<u64>,
}

#[derive(Default)]
struct Gateway {
    conns: HashMap<u64, mpsc::UnboundedSender<Out>>,
    next_conn: u64,
    /// The newest connection; older ones are dropped when a new one opens.
    current: Option<u64>,
    /// The current connection has identified or resumed and receives dispatches.
    live: bool,
    identified: HashSet<u64>,
    session: Option<Session>,
    /// Events with no session to go to: (event name, data, interaction id).
    pending: Vec<(String, Value, Option<u64>)>,
    intents: u64,
    identifies: usize,
    resumes: usize,
    readies: usize,
    heartbeats: usize,
    identify_payloads: Vec<Value>,
    queries: Vec<String>,
    bot_closes: Vec<u16>,
    frames: Vec<Value>,
}

impl Gateway {
    fn is_live(&self) -> bool {
        self.live && self.current.is_some()
    }

    /// Queues a frame on a connection; false if that connection is gone.
    fn send(&mut self, conn: u64, frame: Value) -> bool {
        let Some(tx) = self.conns.get(&conn) else {
            return false;
        };
        let ok = tx.send(Out::Frame(frame.clone())).is_ok();
        if ok {
            self.frames.push(frame);
        }
        ok
    }

    fn close(&mut self, conn: u64, code: u16, reason: &'static str) {
        if let Some(tx) = self.conns.get(&conn) {
            let _ = tx.send(Out::Close(code, reason));
        }
        if self.current == Some(conn) {
            self.live = false;
        }
    }

    /// Ends the session; what it never delivered waits for the next one.
    fn drop_session(&mut self) {
        if let Some(session) = self.session.take() {
            let undelivered = session
                .log
                .into_iter()
                .filter(|l| {
                    !l.sent && !matches!(l.t.as_str(), "READY" | "GUILD_CREATE" | "RESUMED")
                })
                .map(|l| (l.t, l.d, l.interaction));
            let mut carried: Vec<_> = undelivered.collect();
            carried.append(&mut self.pending);
            self.pending = carried;
        }
    }
}

struct Sim {
    ws_url: String,
    last_snowflake: u64,
    guilds: BTreeMap<u64, Guild>,
    channels: BTreeMap<u64, Channel>,
    messages: BTreeMap<u64, Stored>,
    interactions: HashMap<u64, Interaction>,
    tokens: HashMap<String, u64>,
    responses: Vec<Response>,
    /// Registered commands by scope: `None` global, `Some(guild)`.
    commands: BTreeMap<Option<u64>, Vec<Value>>,
    /// Ids of commands invoked without being registered, by name.
    unregistered: HashMap<String, u64>,
    /// Every REST call: (method, path after `/api/v10`, when it arrived).
    calls: Vec<(String, String, Instant)>,
    /// Failed REST calls, for the dump.
    errors: Vec<String>,
    /// Failures tests asked for, first match first.
    failures: VecDeque<Fault>,
    /// Channel messages created with a nonce: (channel, nonce) → message id, for
    /// `enforce_nonce` (Discord keeps them "for a few minutes"; the fake keeps them).
    nonces: HashMap<(u64, String), u64>,
    /// Broken connections a test asked for: (method, path prefix, after carrying the call out).
    resets: VecDeque<(String, String, bool)>,
    /// (method, path prefix, status): carried out, then answered with that status.
    after_failures: VecDeque<(String, String, u16)>,
    privileged_intents: bool,
    gw: Gateway,
}

impl Sim {
    fn new(ws_url: String) -> Self {
        Sim {
            ws_url,
            last_snowflake: 0,
            guilds: BTreeMap::new(),
            channels: BTreeMap::new(),
            messages: BTreeMap::new(),
            interactions: HashMap::new(),
            tokens: HashMap::new(),
            responses: Vec::new(),
            commands: BTreeMap::new(),
            unregistered: HashMap::new(),
            calls: Vec::new(),
            errors: Vec::new(),
            failures: VecDeque::new(),
            resets: VecDeque::new(),
            after_failures: VecDeque::new(),
            nonces: HashMap::new(),
            privileged_intents: false,
            gw: Gateway::default(),
        }
    }

    /// A new snowflake: milliseconds since the Discord epoch, worker 1, always increasing.
    fn snowflake(&mut self) -> u64 {
        let ms = now_ms().saturating_sub(DISCORD_EPOCH_MS);
        let id = ((ms << 22) | (1 << 17)).max(self.last_snowflake + 1);
        self.last_snowflake = id;
        id
    }

    fn add_guild(&mut self, guild_id: u64, name: &str, channels: &[u64], roles: &[(u64, &str)]) {
        for (position, &channel) in channels.iter().enumerate() {
            let name = if position == 0 {
                "general".to_string()
            } else {
                format!("channel-{}", position + 1)
            };
            self.channels.insert(
                channel,
                Channel {
                    guild_id: Some(guild_id),
                    name,
                    position,
                    recipient: None,
                },
            );
        }
        let members = self
            .guilds
            .remove(&guild_id)
            .map(|g| g.members)
            .unwrap_or_default();
        self.guilds.insert(
            guild_id,
            Guild {
                name: name.to_string(),
                channels: channels.to_vec(),
                roles: roles.iter().map(|(id, n)| (*id, n.to_string())).collect(),
                members,
            },
        );
        if self.gw.session.is_some() {
            let guild = self.guild_json(guild_id, true);
            self.dispatch("GUILD_CREATE", guild, None);
        }
    }

    /// A member of any guild, or a DM recipient.
    fn user(&self, id: u64) -> Option<DcUser> {
        self.guilds
            .values()
            .find_map(|g| g.members.get(&id).cloned())
            .or_else(|| {
                self.channels
                    .values()
                    .find_map(|c| c.recipient.clone().filter(|r| r.id == id))
            })
    }

    fn dm_channel(&mut self, user: &DcUser) -> u64 {
        let existing = self
            .channels
            .iter()
            .find(|(_, c)| c.recipient.as_ref().is_some_and(|r| r.id == user.id))
            .map(|(id, _)| *id);
        if let Some(id) = existing {
            return id;
        }
        let id = self.snowflake();
        self.channels.insert(
            id,
            Channel {
                guild_id: None,
                name: String::new(),
                position: 0,
                recipient: Some(user.clone()),
            },
        );
        id
    }

    // ---- gateway -----------------------------------------------------------------------------

    /// Sends an event to the bot now if a connection is live, else keeps it for the RESUME
    /// (or, with no session, for the next READY).
    fn dispatch(&mut self, t: &str, d: Value, interaction: Option<u64>) {
        let Some(session) = self.gw.session.as_mut() else {
            self.gw.pending.push((t.to_string(), d, interaction));
            return;
        };
        session.seq += 1;
        let seq = session.seq;
        let event = dispatch_frame(seq, t, &d);
        let conn = self.gw.current.filter(|_| self.gw.live);
        let sent = conn.is_some_and(|c| self.gw.send(c, event));
        if let Some(session) = self.gw.session.as_mut() {
            session.log.push(Logged {
                seq,
                t: t.to_string(),
                d,
                sent,
                interaction,
            });
        }
        if sent {
            self.delivered(interaction);
        }
    }

    /// Starts an interaction's 3 s clock the first time it reaches the bot.
    fn delivered(&mut self, interaction: Option<u64>) {
        if let Some(ix) = interaction.and_then(|id| self.interactions.get_mut(&id)) {
            ix.sent_at.get_or_insert_with(Instant::now);
        }
    }

    fn connect(&mut self, tx: mpsc::UnboundedSender<Out>, query: &str) -> u64 {
        self.gw.next_conn += 1;
        let id = self.gw.next_conn;
        // A newer connection replaces the old one, whose task ends when its sender drops.
        if let Some(old) = self.gw.current.take() {
            self.gw.conns.remove(&old);
            self.gw.identified.remove(&old);
        }
        self.gw.live = false;
        self.gw.conns.insert(id, tx);
        self.gw.current = Some(id);
        self.gw.queries.push(query.to_string());
        self.gw.send(
            id,
            frame(10, json!({"heartbeat_interval": HEARTBEAT_INTERVAL_MS})),
        );
        id
    }

    fn disconnected(&mut self, conn: u64, close_code: Option<u16>) {
        self.gw.conns.remove(&conn);
        self.gw.identified.remove(&conn);
        if let Some(code) = close_code {
            self.gw.bot_closes.push(code);
        }
        if self.gw.current == Some(conn) {
            self.gw.current = None;
            self.gw.live = false;
            // Closing with 1000 or 1001 ends the session (the bot goes offline).
            if matches!(close_code, Some(1000 | 1001)) {
                self.gw.drop_session();
            }
        }
    }

    /// A text frame from the bot.
    fn gateway_in(&mut self, conn: u64, text: &str) {
        let Ok(payload) = serde_json::from_str::<Value>(text) else {
            self.gw.close(conn, 4002, "Error while decoding payload.");
            return;
        };
        let d = payload.get("d").cloned().unwrap_or(Value::Null);
        let identified = self.gw.identified.contains(&conn);
        match payload.get("op").and_then(Value::as_u64) {
            Some(1) => {
                self.gw.heartbeats += 1;
                self.gw.send(conn, frame(11, Value::Null));
            }
            Some(2) => self.identify(conn, d),
            Some(6) => self.resume(conn, &d),
            Some(3 | 4 | 8 | 31) if identified => {}
            Some(3 | 4 | 8 | 31) => self.gw.close(conn, 4003, "Not authenticated."),
            _ => self.gw.close(conn, 4001, "Unknown opcode."),
        }
    }

    fn identify(&mut self, conn: u64, d: Value) {
        if !token_ok(d["token"].as_str()) {
            self.gw.close(conn, 4004, "Authentication failed.");
            return;
        }
        if self.gw.identified.contains(&conn) {
            self.gw.close(conn, 4005, "Already authenticated.");
            return;
        }
        let Some(intents) = d["intents"].as_u64() else {
            self.gw.close(conn, 4013, "Invalid intent(s).");
            return;
        };
        if intents & PRIVILEGED_INTENTS != 0 && !self.privileged_intents {
            self.gw.close(conn, 4014, "Disallowed intent(s).");
            return;
        }
        let shard = d.get("shard").cloned().unwrap_or(json!([0, 1]));
        if shard != json!([0, 1]) {
            self.gw.close(conn, 4010, "Invalid shard.");
            return;
        }
        let mut recorded = d;
        recorded["token"] = json!("***");
        self.gw.identify_payloads.push(recorded);
        self.gw.identifies += 1;
        self.gw.intents = intents;
        self.gw.identified.insert(conn);
        self.gw.drop_session();
        let session_id = format!(
            "{:032x}",
            self.snowflake().wrapping_mul(0x9e37_79b9_7f4a_7c15)
        );
        self.gw.session = Some(Session {
            id: session_id.clone(),
            seq: 0,
            log: Vec::new(),
        });
        self.gw.live = self.gw.current == Some(conn);
        let guilds: Vec<Value> = self
            .guilds
            .keys()
            .map(|id| json!({"id": id.to_string(), "unavailable": true}))
            .collect();
        let ready = json!({
            "v": 10,
            "user": current_user_json(),
            "guilds": guilds,
            "session_id": session_id,
            "session_type": "normal",
            "resume_gateway_url": self.ws_url,
            "shard": shard,
            "application": {"id": APP_ID.to_string(), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
            "_trace": ["[\"fake-discord-gateway\",{}]"],
        });
        self.dispatch("READY", ready, None);
        self.gw.readies += 1;
        let guild_ids: Vec<u64> = self.guilds.keys().copied().collect();
        for id in guild_ids {
            let guild = self.guild_json(id, true);
            self.dispatch("GUILD_CREATE", guild, None);
        }
        for (t, d, interaction) in std::mem::take(&mut self.gw.pending) {
            self.dispatch(&t, d, interaction);
        }
    }

    fn resume(&mut self, conn: u64, d: &Value) {
        if !token_ok(d["token"].as_str()) {
            self.gw.close(conn, 4004, "Authentication failed.");
            return;
        }
        let matches = self
            .gw
            .session
            .as_ref()
            .is_some_and(|s| Some(s.id.as_str()) == d["session_id"].as_str());
        if !matches {
            self.gw.send(conn, frame(9, json!(false)));
            return;
        }
        let their_seq = d["seq"].as_u64().unwrap_or(0);
        let replay: Vec<(u64, Value, Option<u64>)> = {
            let Some(session) = self.gw.session.as_ref() else {
                return;
            };
            if their_seq > session.seq {
                self.gw.close(conn, 4007, "Invalid seq.");
                return;
            }
            session
                .log
                .iter()
                .filter(|l| l.seq > their_seq)
                .map(|l| (l.seq, dispatch_frame(l.seq, &l.t, &l.d), l.interaction))
                .collect()
        };
        self.gw.resumes += 1;
        self.gw.identified.insert(conn);
        self.gw.live = self.gw.current == Some(conn);
        for (seq, event, interaction) in replay {
            if self.gw.send(conn, event) {
                if let Some(session) = self.gw.session.as_mut() {
                    for l in session.log.iter_mut().filter(|l| l.seq == seq) {
                        l.sent = true;
                    }
                }
                self.delivered(interaction);
            }
        }
        self.dispatch("RESUMED", json!({"_trace": ["fake-discord-gateway"]}), None);
    }

    // ---- JSON of the world ---------------------------------------------------------------------

    fn guild_json(&self, guild_id: u64, for_gateway: bool) -> Value {
        let Some(g) = self.guilds.get(&guild_id) else {
            return Value::Null;
        };
        let mut roles = vec![role_json(guild_id, "@everyone", 0, DEFAULT_PERMISSIONS)];
        for (i, (id, name)) in g.roles.iter().enumerate() {
            roles.push(role_json(*id, name, i + 1, 0));
        }
        let mut j = json!({
            "id": guild_id.to_string(),
            "name": g.name,
            "icon": null,
            "icon_hash": null,
            "splash": null,
            "discovery_splash": null,
            "owner_id": OWNER_ID.to_string(),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "widget_enabled": false,
            "widget_channel_id": null,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "roles": roles,
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": null,
            "system_channel_id": g.channels.first().map(|c| c.to_string()),
            "system_channel_flags": 0,
            "rules_channel_id": null,
            "max_presences": null,
            "max_members": 500_000,
            "vanity_url_code": null,
            "description": null,
            "banner": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": false,
            "safety_alerts_channel_id": null,
            "incidents_data": null,
        });
        if for_gateway {
            // Without the privileged GUILD_MEMBERS intent Discord sends only the bot's member.
            let mut members = vec![bot_member_json()];
            if self.gw.intents & INTENT_GUILD_MEMBERS != 0 {
                members.extend(g.members.values().map(|u| member_json(u, None)));
            }
            let channels: Vec<Value> = g
                .channels
                .iter()
                .map(|c| {
                    let mut c = self.channel_json(*c);
                    if let Some(map) = c.as_object_mut() {
                        map.remove("guild_id");
                    }
                    c
                })
                .collect();
            let extra = json!({
                "joined_at": JOINED_AT,
                "large": false,
                "unavailable": false,
                "member_count": g.members.len() + 1,
                "voice_states": [],
                "members": members,
                "channels": channels,
                "threads": [],
                "presences": [],
                "stage_instances": [],
                "guild_scheduled_events": [],
                "soundboard_sounds": [],
            });
            merge(&mut j, extra);
        }
        j
    }

    fn channel_json(&self, channel_id: u64) -> Value {
        let Some(c) = self.channels.get(&channel_id) else {
            return Value::Null;
        };
        let last = self
            .messages
            .values()
            .rev()
            .find(|m| m.msg.channel_id == channel_id && !m.msg.is_ephemeral())
            .map(|m| m.msg.id.to_string());
        match (&c.recipient, c.guild_id) {
            (Some(user), _) => json!({
                "id": channel_id.to_string(),
                "type": 1,
                "last_message_id": last,
                "flags": 0,
                "recipients": [user_json(user)],
            }),
            (None, guild_id) => json!({
                "id": channel_id.to_string(),
                "type": 0,
                "guild_id": guild_id.map(|g| g.to_string()),
                "name": c.name,
                "position": c.position,
                "permission_overwrites": [],
                "topic": null,
                "nsfw": false,
                "last_message_id": last,
                "rate_limit_per_user": 0,
                "parent_id": null,
                "flags": 0,
                "last_pin_timestamp": null,
            }),
        }
    }

    /// Where an interaction happens: the fields it adds to the payload. Panics on a test's
    /// mistake (unknown guild, channel or member).
    fn place(&mut self, guild_id: u64, channel_id: u64, user: &DcUser) -> Value {
        let Some(channel) = self.channels.get(&channel_id) else {
            panic!("fake Discord: no channel {channel_id}; add_guild or dm_channel first");
        };
        let channel_json = self.channel_json(channel_id);
        if guild_id == 0 {
            assert!(
                channel.recipient.as_ref().is_some_and(|r| r.id == user.id),
                "fake Discord: channel {channel_id} is not {}'s DM channel; use dm_channel()",
                user.name
            );
            return json!({
                "channel_id": channel_id.to_string(),
                "channel": channel_json,
                "user": user_json(user),
                "app_permissions": DEFAULT_PERMISSIONS.to_string(),
                "context": 1,
                "authorizing_integration_owners": {"0": "0"},
            });
        }
        assert_eq!(
            channel.guild_id,
            Some(guild_id),
            "fake Discord: channel {channel_id} is not in guild {guild_id}"
        );
        let guild = self
            .guilds
            .get_mut(&guild_id)
            .unwrap_or_else(|| panic!("fake Discord: no guild {guild_id}"));
        assert!(
            guild.members.contains_key(&user.id),
            "fake Discord: {} ({}) is not a member of guild {guild_id}; add_member first",
            user.name,
            user.id
        );
        guild.members.insert(user.id, user.clone());
        let permissions = if user.admin {
            ALL_PERMISSIONS
        } else {
            DEFAULT_PERMISSIONS
        };
        json!({
            "guild_id": guild_id.to_string(),
            "guild": {"id": guild_id.to_string(), "locale": "en-US", "features": []},
            "channel_id": channel_id.to_string(),
            "channel": merged(channel_json, json!({"permissions": permissions.to_string()})),
            "member": member_json(user, Some(permissions)),
            "guild_locale": "en-US",
            "app_permissions": DEFAULT_PERMISSIONS.to_string(),
            "context": 0,
            "authorizing_integration_owners": {"0": guild_id.to_string()},
        })
    }

    /// Creates an interaction, dispatches it, and returns its id.
    fn interact(&mut self, new: NewInteraction) -> u64 {
        let id = self.snowflake();
        let token = format!(
            "aW50ZXJhY3Rpb246{id}OnRva2Vu{:016x}",
            id.wrapping_mul(0x2545_f491_4f6c_dd1d)
        );
        let place = self.place(new.guild_id, new.channel_id, &new.user);
        let mut payload = json!({
            "id": id.to_string(),
            "application_id": APP_ID.to_string(),
            "type": new.kind,
            "data": new.data,
            "token": token,
            "version": 1,
            "locale": new.user.locale,
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        });
        merge(&mut payload, place);
        if let Some(m) = new.message.and_then(|m| self.messages.get(&m)) {
            payload["message"] = m.to_json(self);
        }
        self.tokens.insert(token.clone(), id);
        self.interactions.insert(
            id,
            Interaction {
                token,
                kind: new.kind,
                guild_id: (new.guild_id != 0).then_some(new.guild_id),
                channel_id: new.channel_id,
                user: new.user,
                name: new.name,
                payload: payload.clone(),
                component_message: new.message,
                trigger: new.trigger,
                sent_at: None,
                expired: false,
                response: None,
                original: None,
                followups: Vec::new(),
            },
        );
        self.dispatch("INTERACTION_CREATE", payload, Some(id));
        id
    }

    fn slash(
        &mut self,
        guild_id: u64,
        channel_id: u64,
        user: &DcUser,
        name: &str,
        options: Value,
    ) -> u64 {
        let registered = self
            .commands
            .get(&Some(guild_id))
            .into_iter()
            .chain(self.commands.get(&None))
            .flatten()
            .find(|c| c["name"] == name && c["type"] == 1)
            .cloned();
        let (command_id, command_guild) = match &registered {
            Some(c) => (
                c["id"].as_str().unwrap_or_default().to_string(),
                c.get("guild_id").cloned(),
            ),
            None => {
                let fresh = self.snowflake();
                let id = *self.unregistered.entry(name.to_string()).or_insert(fresh);
                (id.to_string(), None)
            }
        };
        let options = normalize_options(options);
        let mut data = json!({"id": command_id, "name": name, "type": 1});
        if options.as_array().is_some_and(|o| !o.is_empty()) {
            let resolved = self.resolve_options(guild_id, &options);
            if resolved.as_object().is_some_and(|r| !r.is_empty()) {
                data["resolved"] = resolved;
            }
            data["options"] = options;
        }
        if let Some(g) = command_guild {
            data["guild_id"] = g;
        }
        self.interact(NewInteraction {
            kind: 2,
            guild_id,
            channel_id,
            user: user.clone(),
            name: name.to_string(),
            data,
            message: None,
            trigger: None,
        })
    }

    /// `resolved` for user (6), channel (7), role (8) and mentionable (9) options.
    fn resolve_options(&self, guild_id: u64, options: &Value) -> Value {
        let mut resolved = json!({});
        let mut stack: Vec<&Value> = options.as_array().into_iter().flatten().collect();
        while let Some(option) = stack.pop() {
            stack.extend(option["options"].as_array().into_iter().flatten());
            let Some(id) = id_of(&option["value"]) else {
                continue;
            };
            let kind = option["type"].as_u64().unwrap_or(0);
            let guild = self.guilds.get(&guild_id);
            if matches!(kind, 6 | 9) {
                if let Some(user) = guild.and_then(|g| g.members.get(&id)) {
                    resolved["users"][id.to_string()] = user_json(user);
                    let mut member = member_json(user, None);
                    if let Some(m) = member.as_object_mut() {
                        for partial in ["user", "deaf", "mute"] {
                            m.remove(partial);
                        }
                    }
                    resolved["members"][id.to_string()] = member;
                    continue;
                }
            }
            if matches!(kind, 8 | 9) {
                if let Some((i, (_, name))) = guild
                    .into_iter()
                    .flat_map(|g| g.roles.iter().enumerate())
                    .find(|(_, (r, _))| *r == id)
                {
                    resolved["roles"][id.to_string()] = role_json(id, name, i + 1, 0);
                }
            }
            if kind == 7 && self.channels.contains_key(&id) {
                resolved["channels"][id.to_string()] = self.channel_json(id);
            }
        }
        resolved
    }

    fn component(
        &mut self,
        guild_id: u64,
        channel_id: u64,
        user: &DcUser,
        message_id: u64,
        custom_id: &str,
        values: Option<Vec<String>>,
    ) -> u64 {
        let Some(stored) = self.messages.get(&message_id) else {
            panic!("fake Discord: no message {message_id} (deleted, or never sent by the bot)");
        };
        assert_eq!(
            stored.msg.channel_id, channel_id,
            "fake Discord: message {message_id} is not in channel {channel_id}"
        );
        if stored.msg.is_ephemeral() {
            assert_eq!(
                stored.viewer,
                Some(user.id),
                "fake Discord: message {message_id} is ephemeral and not shown to {}",
                user.name
            );
        }
        let Some(component) = find_component(&stored.msg.components, custom_id) else {
            panic!(
                "fake Discord: message {message_id} has no component {custom_id:?}; it has {:?}",
                stored.msg.custom_ids()
            );
        };
        assert!(
            component["disabled"] != true,
            "fake Discord: component {custom_id:?} is disabled"
        );
        let kind = component["type"].as_u64().unwrap_or(0);
        let data = match values {
            None => {
                assert_eq!(kind, 2, "fake Discord: {custom_id:?} is not a button");
                json!({"custom_id": custom_id, "component_type": 2})
            }
            Some(values) => {
                assert_eq!(
                    kind, 3,
                    "fake Discord: {custom_id:?} is not a string select"
                );
                let offered: Vec<&str> = component["options"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o["value"].as_str())
                    .collect();
                for v in &values {
                    assert!(
                        offered.contains(&v.as_str()),
                        "fake Discord: {custom_id:?} has no option {v:?}; it has {offered:?}"
                    );
                }
                let min = component["min_values"].as_u64().unwrap_or(1) as usize;
                let max = component["max_values"].as_u64().unwrap_or(1) as usize;
                assert!(
                    (min..=max).contains(&values.len()),
                    "fake Discord: {custom_id:?} takes {min}..={max} values, got {values:?}"
                );
                json!({"custom_id": custom_id, "component_type": 3, "values": values})
            }
        };
        self.interact(NewInteraction {
            kind: 3,
            guild_id,
            channel_id,
            user: user.clone(),
            name: custom_id.to_string(),
            data,
            message: Some(message_id),
            trigger: None,
        })
    }

    fn submit_modal(
        &mut self,
        guild_id: u64,
        channel_id: u64,
        user: &DcUser,
        custom_id: &str,
        fields: &[(String, String)],
    ) -> u64 {
        let opened = self.responses.iter().rev().find(|r| {
            r.kind == 9
                && r.data["custom_id"] == custom_id
                && self
                    .interactions
                    .get(&r.interaction_id)
                    .is_some_and(|ix| ix.user.id == user.id && ix.channel_id == channel_id)
        });
        let Some(opened) = opened else {
            panic!(
                "fake Discord: the bot never opened modal {custom_id:?} for {} in channel \
                 {channel_id}",
                user.name
            );
        };
        let mut inputs = Vec::new();
        collect_custom_ids(&opened.data["components"], &mut inputs);
        let trigger = opened.interaction_id;
        let mut rows = Vec::new();
        for (i, (field, value)) in fields.iter().enumerate() {
            assert!(
                inputs.contains(field),
                "fake Discord: modal {custom_id:?} has no text input {field:?}; it has {inputs:?}"
            );
            rows.push(json!({
                "type": 1,
                "id": 2 * i + 1,
                "components": [{"type": 4, "id": 2 * i + 2, "custom_id": field, "value": value}],
            }));
        }
        let message = self
            .interactions
            .get(&trigger)
            .and_then(|ix| ix.component_message);
        self.interact(NewInteraction {
            kind: 5,
            guild_id,
            channel_id,
            user: user.clone(),
            name: custom_id.to_string(),
            data: json!({"custom_id": custom_id, "components": rows}),
            message,
            trigger: Some(trigger),
        })
    }

    /// `interaction_metadata` of messages made for an interaction (`original` for followups).
    fn interaction_metadata(&self, id: u64, original: Option<u64>) -> Option<Value> {
        let ix = self.interactions.get(&id)?;
        let owners = ix.payload["authorizing_integration_owners"].clone();
        let mut meta = json!({
            "id": id.to_string(),
            "type": ix.kind,
            "user": user_json(&ix.user),
            "authorizing_integration_owners": owners,
        });
        if let Some(original) = original {
            meta["original_response_message_id"] = json!(original.to_string());
        }
        match ix.kind {
            2 => {
                meta["name"] = json!(ix.name);
                meta["command_type"] = json!(1);
            }
            3 => {
                meta["interacted_message_id"] = json!(ix.component_message.map(|m| m.to_string()));
            }
            5 => {
                meta["triggering_interaction_metadata"] =
                    self.interaction_metadata(ix.trigger?, None)?;
            }
            _ => {}
        }
        Some(meta)
    }

    // ---- REST --------------------------------------------------------------------------------

    /// Records the call, checks the token and any 429 a test asked for.
    fn begin(&mut self, method: &Method, path: &str, auth: Option<&str>) -> Result<(), ApiErr> {
        self.calls
            .push((method.to_string(), path.to_string(), Instant::now()));
        let token_in_path = path.starts_with("/interactions/") || path.starts_with("/webhooks/");
        let open = token_in_path || (path == "/gateway" && method == Method::GET);
        match auth {
            Some(value) if value != format!("Bot {TOKEN}") => return Err(ApiErr::unauthorized()),
            None if !open => return Err(ApiErr::unauthorized()),
            _ => {}
        }
        let user = self.caller(path);
        let failing = self.failures.iter().position(|f| {
            f.method == method.as_str()
                && path.starts_with(f.prefix.as_str())
                && (f.user.is_none() || f.user == user)
        });
        match failing
            .and_then(|i| self.failures.remove(i))
            .map(|f| f.failure)
        {
            Some(Failure::RateLimited(seconds)) => Err(ApiErr::rate_limited(seconds)),
            Some(Failure::Error(status, code, message)) => Err(ApiErr::new(status, code, &message)),
            None => Ok(()),
        }
    }

    /// The member whose interaction a callback or webhook call answers.
    fn caller(&self, path: &str) -> Option<u64> {
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let id = match seg.as_slice() {
            ["interactions", id, ..] => parse_id(id)?,
            ["webhooks", _, token, ..] => *self.tokens.get(*token)?,
            _ => return None,
        };
        self.interactions.get(&id).map(|ix| ix.user.id)
    }

    fn route(
        &mut self,
        method: &Method,
        path: &str,
        query: &str,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
        let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let m = method.as_str();
        match (m, seg.as_slice()) {
            ("GET", ["gateway"]) => Ok(Reply::json(json!({"url": self.ws_url}))),
            ("GET", ["gateway", "bot"]) => Ok(Reply::json(json!({
                "url": self.ws_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.gw.identifies.min(1000),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }))),
            ("GET", ["users", "@me"]) => Ok(Reply::json(current_user_json())),
            ("POST", ["users", "@me", "channels"]) => self.open_dm(body),
            ("GET", ["oauth2", "applications", "@me"]) => Ok(Reply::json(self.application_json())),
            (_, ["applications", app, rest @ ..]) => {
                if *app != APP_ID.to_string() {
                    return Err(ApiErr::new(403, 50001, "Missing Access"));
                }
                match rest {
                    ["commands"] => self.commands_route(m, None, body),
                    ["commands", id] => self.command_route(m, None, id, body),
                    ["guilds", guild, "commands"] => {
                        let guild = self.guild_id(guild)?;
                        self.commands_route(m, Some(guild), body)
                    }
                    ["guilds", guild, "commands", id] => {
                        let guild = self.guild_id(guild)?;
                        self.command_route(m, Some(guild), id, body)
                    }
                    _ => Err(ApiErr::not_found()),
                }
            }
            ("POST", ["interactions", id, token, "callback"]) => {
                self.callback(id, token, query, body)
            }
            (_, ["interactions", _, _, "callback"]) => Err(ApiErr::method_not_allowed()),
            ("POST", ["webhooks", app, token]) => {
                let ix = self.webhook(app, token)?;
                self.followup(ix, body)
            }
            (_, ["webhooks", app, token, "messages", target]) => {
                let ix = self.webhook(app, token)?;
                self.webhook_message(m, ix, target, body)
            }
            ("GET", ["channels", channel]) => {
                let channel = self.channel_id(channel)?;
                Ok(Reply::json(self.channel_json(channel)))
            }
            (_, ["channels", channel, "messages"]) => {
                let channel = self.channel_id(channel)?;
                match m {
                    "POST" => self.post_channel_message(channel, body),
                    "GET" => Ok(self.list_messages(channel, query)),
                    _ => Err(ApiErr::method_not_allowed()),
                }
            }
            (_, ["channels", channel, "messages", message]) => {
                let channel = self.channel_id(channel)?;
                self.channel_message(m, channel, message, body)
            }
            ("GET", ["guilds", guild]) => {
                let guild = self.guild_id(guild)?;
                Ok(Reply::json(self.guild_json(guild, false)))
            }
            ("GET", ["guilds", guild, "roles"]) => {
                let guild = self.guild_id(guild)?;
                Ok(Reply::json(self.guild_json(guild, false)["roles"].clone()))
            }
            ("GET", ["guilds", guild, "channels"]) => {
                let guild = self.guild_id(guild)?;
                let channels = self.guilds[&guild]
                    .channels
                    .iter()
                    .map(|c| self.channel_json(*c))
                    .collect();
                Ok(Reply::json(Value::Array(channels)))
            }
            ("GET", ["guilds", guild, "members", user]) => {
                let guild = self.guild_id(guild)?;
                let user = parse_id(user).ok_or_else(|| ApiErr::new(404, 10013, "Unknown User"))?;
                if user == BOT_ID {
                    return Ok(Reply::json(bot_member_json()));
                }
                self.guilds[&guild]
                    .members
                    .get(&user)
                    .map(|u| Reply::json(member_json(u, None)))
                    .ok_or_else(|| ApiErr::new(404, 10007, "Unknown Member"))
            }
            _ => Err(ApiErr::not_found()),
        }
    }

    fn guild_id(&self, segment: &str) -> Result<u64, ApiErr> {
        parse_id(segment)
            .filter(|g| self.guilds.contains_key(g))
            .ok_or_else(|| ApiErr::new(404, 10004, "Unknown Guild"))
    }

    fn channel_id(&self, segment: &str) -> Result<u64, ApiErr> {
        parse_id(segment)
            .filter(|c| self.channels.contains_key(c))
            .ok_or_else(|| ApiErr::new(404, 10003, "Unknown Channel"))
    }

    fn application_json(&self) -> Value {
        json!({
            "id": APP_ID.to_string(),
            "name": "Canvass",
            "icon": null,
            "description": "",
            "summary": "",
            "type": null,
            "bot": current_user_json(),
            "bot_public": true,
            "bot_require_code_grant": false,
            "verify_key": "0".repeat(64),
            "flags": 0,
            "hook": true,
            "is_monetized": false,
            "team": null,
            "owner": {
                "id": OWNER_ID.to_string(),
                "username": "owner",
                "discriminator": "0",
                "global_name": "Owner",
                "avatar": null,
                "public_flags": 0,
                "flags": 0,
            },
            "rpc_origins": [],
            "redirect_uris": [],
            "interactions_endpoint_url": null,
            "role_connections_verification_url": null,
            "tags": [],
            "integration_types_config": {"0": {}},
            "approximate_guild_count": self.guilds.len(),
            "approximate_user_install_count": 0,
        })
    }

    fn open_dm(&mut self, body: &Body) -> Result<Reply, ApiErr> {
        let Some(user_id) = id_of(&body.json["recipient_id"]) else {
            return Err(ApiErr::form(
                "recipient_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        let user = self
            .guilds
            .values()
            .find_map(|g| g.members.get(&user_id).cloned())
            .ok_or_else(|| ApiErr::new(400, 50007, "Cannot send messages to this user"))?;
        let id = self.dm_channel(&user);
        Ok(Reply::json(self.channel_json(id)))
    }

    // ---- commands ------------------------------------------------------------------------------

    fn commands_route(
        &mut self,
        method: &str,
        guild: Option<u64>,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
        match method {
            "GET" => Ok(Reply::json(Value::Array(
                self.commands.get(&guild).cloned().unwrap_or_default(),
            ))),
            "PUT" => {
                let Some(list) = body.json.as_array() else {
                    return Err(ApiErr::form(
                        "",
                        "LIST_TYPE_CONVERT",
                        "Only lists are allowed",
                    ));
                };
                if list.len() > 100 {
                    return Err(ApiErr::form(
                        "",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 100 or fewer in length.",
                    ));
                }
                let mut seen = HashSet::new();
                let mut stored = Vec::new();
                for (i, command) in list.iter().enumerate() {
                    check_command(command, &i.to_string())?;
                    let key = format!("{}:{}", command_type(command), command["name"]);
                    if !seen.insert(key) {
                        return Err(ApiErr::form(
                            &i.to_string(),
                            "APPLICATION_COMMANDS_DUPLICATE_NAME",
                            "Application command names must be unique",
                        ));
                    }
                    stored.push(self.store_command(guild, command));
                }
                self.commands.insert(guild, stored.clone());
                Ok(Reply::json(Value::Array(stored)))
            }
            "POST" => {
                check_command(&body.json, "")?;
                let command = self.store_command(guild, &body.json);
                let list = self.commands.entry(guild).or_default();
                let existing = list
                    .iter()
                    .position(|c| c["name"] == command["name"] && c["type"] == command["type"]);
                let status = match existing {
                    Some(i) => {
                        list[i] = command.clone();
                        200
                    }
                    None => {
                        list.push(command.clone());
                        201
                    }
                };
                Ok(Reply::Json(status, command))
            }
            _ => Err(ApiErr::method_not_allowed()),
        }
    }

    fn command_route(
        &mut self,
        method: &str,
        guild: Option<u64>,
        id: &str,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
        let unknown = || ApiErr::new(404, 10063, "Unknown application command");
        let list = self.commands.entry(guild).or_default();
        let i = list
            .iter()
            .position(|c| c["id"] == id)
            .ok_or_else(unknown)?;
        match method {
            "GET" => Ok(Reply::json(list[i].clone())),
            "DELETE" => {
                list.remove(i);
                Ok(Reply::NoContent)
            }
            "PATCH" => {
                let mut updated = list[i].clone();
                merge(&mut updated, body.json.clone());
                check_command(&updated, "")?;
                let updated = self.store_command(guild, &updated);
                let list = self.commands.entry(guild).or_default();
                list[i] = updated.clone();
                Ok(Reply::json(updated))
            }
            _ => Err(ApiErr::method_not_allowed()),
        }
    }

    /// The stored form of a command: what was sent, with Discord's fields filled in. A command
    /// with the same name and type as a registered one keeps its id.
    fn store_command(&mut self, guild: Option<u64>, command: &Value) -> Value {
        let kind = command_type(command);
        let existing = self
            .commands
            .get(&guild)
            .into_iter()
            .flatten()
            .find(|c| c["name"] == command["name"] && c["type"] == kind)
            .and_then(|c| c["id"].as_str().map(str::to_string));
        let id = existing.unwrap_or_else(|| self.snowflake().to_string());
        let version = self.snowflake().to_string();
        let mut stored = json!({
            "id": id,
            "application_id": APP_ID.to_string(),
            "version": version,
            "type": kind,
            "name": command["name"],
            "name_localizations": command.get("name_localizations").cloned().unwrap_or(Value::Null),
            "description": command.get("description").cloned().unwrap_or(json!("")),
            "description_localizations": command
                .get("description_localizations")
                .cloned()
                .unwrap_or(Value::Null),
            "options": command.get("options").cloned().unwrap_or(json!([])),
            "default_member_permissions": command
                .get("default_member_permissions")
                .cloned()
                .unwrap_or(Value::Null),
            "nsfw": command.get("nsfw").cloned().unwrap_or(json!(false)),
            "integration_types": command.get("integration_types").cloned().unwrap_or(json!([0])),
            "contexts": command.get("contexts").cloned().unwrap_or(Value::Null),
        });
        match guild {
            Some(g) => stored["guild_id"] = json!(g.to_string()),
            None => {
                stored["dm_permission"] =
                    command.get("dm_permission").cloned().unwrap_or(json!(true));
            }
        }
        stored
    }

    // ---- interactions --------------------------------------------------------------------------

    fn callback(
        &mut self,
        id: &str,
        token: &str,
        query: &str,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
        let id = parse_id(id).ok_or_else(ApiErr::unknown_interaction)?;
        let Some(ix) = self.interactions.get(&id) else {
            return Err(ApiErr::unknown_interaction());
        };
        if ix.token != token {
            return Err(ApiErr::unknown_interaction());
        }
        if ix.response.is_some() {
            return Err(ApiErr::new(
                400,
                40060,
                "Interaction has already been acknowledged.",
            ));
        }
        if ix.expired || ix.sent_at.is_some_and(|t| t.elapsed() > ACK_DEADLINE) {
            return Err(ApiErr::unknown_interaction());
        }
        let Some(kind) = body.json["type"].as_u64() else {
            return Err(ApiErr::form(
                "type",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        let data = body.json.get("data").cloned().unwrap_or(Value::Null);
        let on_component = ix.component_message.is_some();
        let (ix_kind, channel_id, guild_id, viewer) =
            (ix.kind, ix.channel_id, ix.guild_id, ix.user.id);
        let original = match kind {
            4 | 5 => {
                let ephemeral = data["flags"].as_u64().unwrap_or(0) & EPHEMERAL != 0;
                let mut stored = if kind == 4 {
                    let allowed =
                        SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2;
                    self.draft(channel_id, &data, &body.files, allowed, "data.")?
                } else {
                    if data["flags"].as_u64().unwrap_or(0) & !EPHEMERAL != 0 {
                        return Err(ApiErr::form(
                            "data.flags",
                            "INTERACTION_RESPONSE_FLAGS_INVALID",
                            "Only EPHEMERAL can be set on a deferred response",
                        ));
                    }
                    self.draft_empty(channel_id, LOADING | if ephemeral { EPHEMERAL } else { 0 })
                };
                stored.guild_id = guild_id;
                stored.kind = if ix_kind == 2 { 20 } else { 0 };
                stored.from_webhook = true;
                stored.msg.via = "interaction";
                stored.msg.interaction_id = Some(id);
                stored.interaction_metadata = self.interaction_metadata(id, None);
                if ix_kind == 2 {
                    let ix = &self.interactions[&id];
                    stored.interaction = Some(json!({
                        "id": id.to_string(),
                        "type": 2,
                        "name": ix.name,
                        "user": user_json(&ix.user),
                    }));
                }
                if stored.msg.is_ephemeral() {
                    stored.viewer = Some(viewer);
                }
                Some(self.insert(stored))
            }
            6 | 7 if on_component => {
                let message = self.interactions[&id].component_message;
                if kind == 7 {
                    let target = message.ok_or_else(ApiErr::unknown_message)?;
                    self.edit(target, &data, &body.files, "data.")?;
                }
                message
            }
            9 if ix_kind != 5 => {
                check_modal(&data)?;
                None
            }
            _ => {
                return Err(ApiErr::form(
                    "type",
                    "INTERACTION_CALLBACK_TYPE_INVALID",
                    "This callback type is not valid for this interaction",
                ));
            }
        };
        let mut after = Duration::ZERO;
        if let Some(ix) = self.interactions.get_mut(&id) {
            ix.response = Some(kind);
            ix.original = original;
            after = ix.sent_at.map(|t| t.elapsed()).unwrap_or_default();
        }
        self.responses.push(Response {
            interaction_id: id,
            kind,
            after,
            data,
            files: body
                .files
                .iter()
                .map(|p| (p.filename.clone(), p.bytes.clone()))
                .collect(),
        });
        if query_flag(query, "with_response") {
            let mut out = json!({
                "interaction": {
                    "id": id.to_string(),
                    "type": ix_kind,
                    "response_message_id": original.map(|m| m.to_string()),
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": original
                        .and_then(|m| self.messages.get(&m))
                        .is_some_and(|m| m.msg.is_ephemeral()),
                },
            });
            if matches!(kind, 4 | 7) {
                let message = original
                    .and_then(|m| self.messages.get(&m))
                    .map(|m| m.to_json(self));
                out["resource"] = json!({"type": kind, "message": message});
            } else {
                out["resource"] = json!({"type": kind});
            }
            return Ok(Reply::json(out));
        }
        Ok(Reply::NoContent)
    }

    /// The interaction a webhook path belongs to.
    fn webhook(&self, app: &str, token: &str) -> Result<u64, ApiErr> {
        if app != APP_ID.to_string() {
            return Err(ApiErr::new(404, 10015, "Unknown Webhook"));
        }
        self.tokens
            .get(token)
            .copied()
            .ok_or_else(|| ApiErr::new(401, 50027, "Invalid Webhook Token"))
    }

    fn followup(&mut self, ix_id: u64, body: &Body) -> Result<Reply, ApiErr> {
        let ix = &self.interactions[&ix_id];
        if ix.response.is_none() {
            return Err(ApiErr::new(404, 10015, "Unknown Webhook"));
        }
        // Right after a deferred response, a followup edits the loading message instead
        // (deprecated Discord behaviour; the ephemeral flag of the defer stays).
        let loading = ix
            .original
            .filter(|_| ix.response == Some(5))
            .filter(|m| self.messages.get(m).is_some_and(|m| m.msg.is_loading()));
        if let Some(message) = loading {
            self.edit(message, &body.json, &body.files, "")?;
            return Ok(Reply::json(self.messages[&message].to_json(self)));
        }
        let (channel_id, guild_id, viewer, original) =
            (ix.channel_id, ix.guild_id, ix.user.id, ix.original);
        let allowed = SUPPRESS_EMBEDS | EPHEMERAL | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2;
        let mut stored = self.draft(channel_id, &body.json, &body.files, allowed, "")?;
        stored.guild_id = guild_id;
        stored.from_webhook = true;
        stored.msg.via = "followup";
        stored.msg.interaction_id = Some(ix_id);
        stored.interaction_metadata = self.interaction_metadata(ix_id, original);
        if stored.msg.is_ephemeral() {
            stored.viewer = Some(viewer);
        }
        let id = self.insert(stored);
        if let Some(ix) = self.interactions.get_mut(&ix_id) {
            ix.followups.push(id);
        }
        Ok(Reply::json(self.messages[&id].to_json(self)))
    }

    fn webhook_message(
        &mut self,
        method: &str,
        ix_id: u64,
        target: &str,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
        let ix = &self.interactions[&ix_id];
        let message = if target == "@original" {
            ix.original
        } else {
            parse_id(target).filter(|m| ix.original == Some(*m) || ix.followups.contains(m))
        };
        let message = message
            .filter(|m| self.messages.contains_key(m))
            .ok_or_else(ApiErr::unknown_message)?;
        match method {
            "GET" => Ok(Reply::json(self.messages[&message].to_json(self))),
            "PATCH" => {
                self.edit(message, &body.json, &body.files, "")?;
                Ok(Reply::json(self.messages[&message].to_json(self)))
            }
            "DELETE" => {
                self.messages.remove(&message);
                Ok(Reply::NoContent)
            }
            _ => Err(ApiErr::method_not_allowed()),
        }
    }

    // ---- messages ------------------------------------------------------------------------------

    fn post_channel_message(&mut self, channel_id: u64, body: &Body) -> Result<Reply, ApiErr> {
        // With `enforce_nonce`, a second message with the same nonce returns the first.
        let nonce = body.json.get("nonce").and_then(|n| match n {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        if body.json["enforce_nonce"] == json!(true) {
            let earlier = nonce
                .as_ref()
                .and_then(|n| self.nonces.get(&(channel_id, n.clone())))
                .and_then(|id| self.messages.get(id));
            if let Some(m) = earlier {
                return Ok(Reply::json(m.to_json(self)));
            }
        }
        let allowed = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_COMPONENTS_V2;
        let mut stored = self.draft(channel_id, &body.json, &body.files, allowed, "")?;
        stored.guild_id = self.channels[&channel_id].guild_id;
        if let Some(reference) = body.json.get("message_reference").filter(|r| r.is_object()) {
            let mut reference = reference.clone();
            reference["channel_id"] = json!(channel_id.to_string());
            if let Some(g) = stored.guild_id {
                reference["guild_id"] = json!(g.to_string());
            }
            stored.kind = 19;
            stored.message_reference = Some(reference);
        }
        let id = self.insert(stored);
        if let Some(nonce) = nonce {
            self.nonces.insert((channel_id, nonce), id);
        }
        Ok(Reply::json(self.messages[&id].to_json(self)))
    }

    fn list_messages(&self, channel_id: u64, query: &str) -> Reply {
        let limit = query_param(query, "limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(50)
            .clamp(1, 100);
        let list: Vec<Value> = self
            .messages
            .values()
            .rev()
            .filter(|m| m.msg.channel_id == channel_id && !m.msg.is_ephemeral())
            .take(limit)
            .map(|m| m.to_json(self))
            .collect();
        Reply::json(Value::Array(list))
    }

    fn channel_message(
        &mut self,
        method: &str,
        channel_id: u64,
        segment: &str,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
        // Ephemeral messages exist only for their viewer; channel routes cannot see them.
        let message = parse_id(segment)
            .filter(|m| {
                self.messages
                    .get(m)
                    .is_some_and(|s| s.msg.channel_id == channel_id && !s.msg.is_ephemeral())
            })
            .ok_or_else(ApiErr::unknown_message)?;
        match method {
            "GET" => Ok(Reply::json(self.messages[&message].to_json(self))),
            "PATCH" => {
                self.edit(message, &body.json, &body.files, "")?;
                Ok(Reply::json(self.messages[&message].to_json(self)))
            }
            "DELETE" => {
                self.messages.remove(&message);
                Ok(Reply::NoContent)
            }
            _ => Err(ApiErr::method_not_allowed()),
        }
    }

    fn insert(&mut self, mut stored: Stored) -> u64 {
        let id = self.snowflake();
        stored.msg.id = id;
        self.messages.insert(id, stored);
        id
    }

    fn draft_empty(&mut self, channel_id: u64, flags: u64) -> Stored {
        Stored {
            msg: Message {
                id: 0,
                channel_id,
                content: String::new(),
                components: json!([]),
                embeds: json!([]),
                flags,
                allowed_mentions: None,
                files: Vec::new(),
                edits: 0,
                via: "channel",
                interaction_id: None,
            },
            guild_id: None,
            kind: 0,
            tts: false,
            edited_timestamp: None,
            attachments: Vec::new(),
            from_webhook: false,
            interaction_metadata: None,
            interaction: None,
            message_reference: None,
            viewer: None,
        }
    }

    /// A new message from a create body (`fields`: the body, or a callback's `data`); checks
    /// Discord's limits. `at` prefixes error paths ("data." for callbacks).
    fn draft(
        &mut self,
        channel_id: u64,
        fields: &Value,
        files: &[Part],
        allowed_flags: u64,
        at: &str,
    ) -> Result<Stored, ApiErr> {
        let flags = fields["flags"].as_u64().unwrap_or(0) & allowed_flags;
        let mut stored = self.draft_empty(channel_id, flags);
        let attachments =
            self.new_attachments(channel_id, fields, files, flags & EPHEMERAL != 0, at)?;
        stored.attachments = attachments;
        stored.tts = fields["tts"] == true;
        apply_fields(&mut stored, fields, at)?;
        check_not_empty(&stored, fields)?;
        Ok(stored)
    }

    /// Applies an edit (PATCH body, or a type 7 callback's `data`) to a stored message.
    fn edit(&mut self, id: u64, fields: &Value, files: &[Part], at: &str) -> Result<(), ApiErr> {
        let Some(current) = self.messages.get(&id) else {
            return Err(ApiErr::unknown_message());
        };
        let mut next = current.clone();
        let new = self.new_attachments(
            next.msg.channel_id,
            fields,
            files,
            next.msg.is_ephemeral(),
            at,
        )?;
        // With `attachments` present, only the listed existing ones stay (serenity always
        // sends it on a type 7 update, so an update drops earlier files); new files are added.
        if let Some(keep) = fields.get("attachments").and_then(Value::as_array) {
            let kept: Vec<String> = keep
                .iter()
                .filter_map(|a| id_of(&a["id"]).map(|i| i.to_string()))
                .collect();
            next.attachments
                .retain(|(a, _)| kept.iter().any(|k| a["id"] == k.as_str()));
        }
        next.attachments.extend(new);
        if let Some(flags) = fields.get("flags").and_then(Value::as_u64) {
            next.msg.flags = (next.msg.flags & !SUPPRESS_EMBEDS) | (flags & SUPPRESS_EMBEDS);
        }
        apply_fields(&mut next, fields, at)?;
        next.msg.flags &= !LOADING;
        check_not_empty(&next, &json!({}))?;
        next.msg.edits += 1;
        next.edited_timestamp = Some(snowflake_time(self.snowflake()));
        self.messages.insert(id, next);
        Ok(())
    }

    /// Attachment objects for the files of a request (`files[n]` parts, described by
    /// `attachments[{id: n, filename, description}]`).
    fn new_attachments(
        &mut self,
        channel_id: u64,
        fields: &Value,
        files: &[Part],
        ephemeral: bool,
        at: &str,
    ) -> Result<Vec<(Value, Vec<u8>)>, ApiErr> {
        let mut out = Vec::new();
        for part in files {
            let Some(n) = part
                .name
                .strip_prefix("files[")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if part.bytes.len() > ATTACHMENT_SIZE_LIMIT {
                return Err(ApiErr::new(413, 40005, "Request entity too large"));
            }
            let meta = fields["attachments"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| id_of(&a["id"]) == Some(n))
                .cloned()
                .unwrap_or(Value::Null);
            let filename = meta["filename"]
                .as_str()
                .unwrap_or(&part.filename)
                .to_string();
            if filename.is_empty() {
                return Err(ApiErr::form(
                    &format!("{at}attachments.{n}.filename"),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ));
            }
            let id = self.snowflake();
            let url =
                format!("https://cdn.discordapp.com/attachments/{channel_id}/{id}/{filename}");
            let mut attachment = json!({
                "id": id.to_string(),
                "filename": filename,
                "size": part.bytes.len(),
                "url": url,
                "proxy_url": url.replace("https://cdn.discordapp.com", "https://media.discordapp.net"),
                "content_type": part.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            });
            if let Some(description) = meta["description"].as_str() {
                attachment["description"] = json!(description);
            }
            if let Some((w, h)) = png_size(&part.bytes) {
                attachment["width"] = json!(w);
                attachment["height"] = json!(h);
            }
            if ephemeral {
                attachment["ephemeral"] = json!(true);
            }
            out.push((attachment, part.bytes.clone()));
        }
        Ok(out)
    }

    fn dump(&self) -> String {
        let mut out = String::new();
        let gw = &self.gw;
        out += &format!(
            "  gateway: connected {} live {} identifies {} resumes {} heartbeats {} session {:?} \
             seq {:?}; pending {:?}; bot closes {:?}\n",
            gw.current.is_some(),
            gw.live,
            gw.identifies,
            gw.resumes,
            gw.heartbeats,
            gw.session.as_ref().map(|s| s.id.clone()),
            gw.session.as_ref().map(|s| s.seq),
            gw.pending.iter().map(|p| p.0.clone()).collect::<Vec<_>>(),
            gw.bot_closes,
        );
        let mut ids: Vec<_> = self.interactions.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let ix = &self.interactions[&id];
            out += &format!(
                "  interaction {id} type {} {:?} by {} in {}: delivered {} response {:?} \
                 original {:?} followups {:?}\n",
                ix.kind,
                ix.name,
                ix.user.name,
                ix.channel_id,
                ix.sent_at.is_some(),
                ix.response,
                ix.original,
                ix.followups,
            );
        }
        for m in self.messages.values() {
            let m = &m.msg;
            out += &format!(
                "  message {} in {} via {} flags {} edits {}: {:?} components {} files {:?}\n",
                m.id,
                m.channel_id,
                m.via,
                m.flags,
                m.edits,
                m.content,
                m.components,
                m.files.iter().map(|f| &f.0).collect::<Vec<_>>(),
            );
        }
        for c in self.commands.values().flatten() {
            out += &format!(
                "  command {} {} guild {}\n",
                c["id"], c["name"], c["guild_id"]
            );
        }
        for e in &self.errors {
            out += &format!("  error: {e}\n");
        }
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for (m, p, _) in &self.calls {
            *counts.entry(format!("{m} {p}")).or_default() += 1;
        }
        out += &format!("  calls: {counts:?}\n");
        out
    }
}

/// A failure a test asked for.
/// A failure a test asked for: the next call with this method and path prefix (and, if
/// set, answering this member's interaction) gets it.
struct Fault {
    method: String,
    prefix: String,
    user: Option<u64>,
    failure: Failure,
}

enum Failure {
    RateLimited(f64),
    /// (status, Discord error code, message).
    Error(u16, u64, String),
}

struct NewInteraction {
    kind: u64,
    guild_id: u64,
    channel_id: u64,
    user: DcUser,
    name: String,
    data: Value,
    message: Option<u64>,
    trigger: Option<u64>,
}

// ---- Discord rules -----------------------------------------------------------------------------

/// Sets content, embeds, components and allowed_mentions from the fields present.
fn apply_fields(stored: &mut Stored, fields: &Value, at: &str) -> Result<(), ApiErr> {
    if let Some(content) = fields.get("content") {
        let content = content.as_str().unwrap_or_default();
        if content.chars().count() > 2000 {
            return Err(ApiErr::form(
                &format!("{at}content"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 2000 or fewer in length.",
            ));
        }
        stored.msg.content = content.to_string();
    }
    if let Some(components) = fields.get("components") {
        let components = if components.is_null() {
            json!([])
        } else {
            components.clone()
        };
        if stored.msg.flags & IS_COMPONENTS_V2 == 0 {
            check_components(&components, &format!("{at}components"))?;
        }
        stored.msg.components = components;
    }
    if let Some(embeds) = fields.get("embeds") {
        let embeds = if embeds.is_null() {
            json!([])
        } else {
            embeds.clone()
        };
        stored.msg.embeds = check_embeds(embeds, &stored.attachments, &format!("{at}embeds"))?;
    }
    if let Some(mentions) = fields.get("allowed_mentions").filter(|m| !m.is_null()) {
        stored.msg.allowed_mentions = Some(mentions.clone());
    }
    stored.msg.files = stored
        .attachments
        .iter()
        .map(|(a, bytes)| {
            (
                a["filename"].as_str().unwrap_or_default().to_string(),
                bytes.clone(),
            )
        })
        .collect();
    Ok(())
}

fn check_not_empty(stored: &Stored, fields: &Value) -> Result<(), ApiErr> {
    let m = &stored.msg;
    let empty = m.content.trim().is_empty()
        && m.embeds.as_array().is_none_or(Vec::is_empty)
        && m.components.as_array().is_none_or(Vec::is_empty)
        && stored.attachments.is_empty()
        && fields.get("poll").is_none_or(Value::is_null)
        && fields["sticker_ids"].as_array().is_none_or(Vec::is_empty);
    if empty && !m.is_loading() {
        return Err(ApiErr::new(400, 50006, "Cannot send an empty message"));
    }
    Ok(())
}

fn check_embeds(
    embeds: Value,
    attachments: &[(Value, Vec<u8>)],
    at: &str,
) -> Result<Value, ApiErr> {
    let Some(list) = embeds.as_array() else {
        return Err(ApiErr::form(
            at,
            "LIST_TYPE_CONVERT",
            "Only lists are allowed",
        ));
    };
    if list.len() > 10 {
        return Err(ApiErr::form(
            at,
            "BASE_TYPE_MAX_LENGTH",
            "Must be 10 or fewer in length.",
        ));
    }
    let mut out = Vec::new();
    let mut total = 0;
    for (i, embed) in list.iter().enumerate() {
        let mut embed = embed.clone();
        let limits = [("title", 256), ("description", 4096)];
        for (field, max) in limits {
            let len = embed[field].as_str().map_or(0, |s| s.chars().count());
            total += len;
            if len > max {
                return Err(ApiErr::form(
                    &format!("{at}.{i}.{field}"),
                    "BASE_TYPE_MAX_LENGTH",
                    &format!("Must be {max} or fewer in length."),
                ));
            }
        }
        let fields = embed["fields"].as_array().map_or(0, Vec::len);
        if fields > 25 {
            return Err(ApiErr::form(
                &format!("{at}.{i}.fields"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ));
        }
        for f in embed["fields"].as_array().into_iter().flatten() {
            total += f["name"].as_str().map_or(0, |s| s.chars().count());
            total += f["value"].as_str().map_or(0, |s| s.chars().count());
        }
        if embed.get("type").is_none() {
            embed["type"] = json!("rich");
        }
        // `attachment://name` points at a file of the same message.
        for key in ["image", "thumbnail"] {
            let Some(name) = embed[key]["url"]
                .as_str()
                .and_then(|u| u.strip_prefix("attachment://"))
            else {
                continue;
            };
            let Some((a, bytes)) = attachments.iter().find(|(a, _)| a["filename"] == name) else {
                continue;
            };
            let mut resolved = json!({"url": a["url"], "proxy_url": a["proxy_url"]});
            if let Some((w, h)) = png_size(bytes) {
                resolved["width"] = json!(w);
                resolved["height"] = json!(h);
            }
            embed[key] = resolved;
        }
        out.push(embed);
    }
    if total > 6000 {
        return Err(ApiErr::form(
            at,
            "BASE_TYPE_MAX_LENGTH",
            "Embed size exceeds maximum size of 6000",
        ));
    }
    Ok(Value::Array(out))
}

/// Discord's limits for action rows, buttons and selects.
fn check_components(components: &Value, at: &str) -> Result<(), ApiErr> {
    let Some(rows) = components.as_array() else {
        return Err(ApiErr::form(
            at,
            "LIST_TYPE_CONVERT",
            "Only lists are allowed",
        ));
    };
    if rows.len() > 5 {
        return Err(ApiErr::form(
            at,
            "BASE_TYPE_MAX_LENGTH",
            "Must be 5 or fewer in length.",
        ));
    }
    let mut ids = HashSet::new();
    for (r, row) in rows.iter().enumerate() {
        let at_row = format!("{at}.{r}");
        if row["type"] != 1 {
            return Err(ApiErr::form(
                &format!("{at_row}.type"),
                "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (1,).",
            ));
        }
        let items = row["components"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if items.is_empty() || items.len() > 5 {
            return Err(ApiErr::form(
                &format!("{at_row}.components"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 5 in length.",
            ));
        }
        let selects = items
            .iter()
            .filter(|c| matches!(c["type"].as_u64(), Some(3 | 5..=8)))
            .count();
        if selects > 0 && items.len() > 1 {
            return Err(ApiErr::form(
                &format!("{at_row}.components"),
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                "The specified component exceeds the maximum width",
            ));
        }
        for (c, item) in items.iter().enumerate() {
            let at_item = format!("{at_row}.components.{c}");
            check_component(item, &at_item)?;
            if let Some(id) = item["custom_id"].as_str() {
                if !ids.insert(id.to_string()) {
                    return Err(ApiErr::form(
                        &format!("{at_item}.custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_component(item: &Value, at: &str) -> Result<(), ApiErr> {
    let len = |key: &str| item[key].as_str().map(|s| s.chars().count());
    let bad = |key: &str, code: &str, message: &str| {
        Err(ApiErr::form(&format!("{at}.{key}"), code, message))
    };
    match item["type"].as_u64() {
        Some(2) => {
            let style = item["style"].as_u64().unwrap_or(0);
            match style {
                1..=4 => match len("custom_id") {
                    Some(1..=100) => {}
                    Some(_) => {
                        return bad(
                            "custom_id",
                            "BASE_TYPE_BAD_LENGTH",
                            "Must be between 1 and 100 in length.",
                        );
                    }
                    None => {
                        return bad("custom_id", "BASE_TYPE_REQUIRED", "This field is required");
                    }
                },
                5 => {
                    if len("url").is_none() {
                        return bad("url", "BASE_TYPE_REQUIRED", "This field is required");
                    }
                    if item.get("custom_id").is_some_and(|c| !c.is_null()) {
                        return bad(
                            "custom_id",
                            "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                            "A link button cannot have a custom id",
                        );
                    }
                }
                6 => {}
                _ => {
                    return bad(
                        "style",
                        "BASE_TYPE_CHOICES",
                        "Value must be one of {1, 2, 3, 4, 5, 6}.",
                    );
                }
            }
            if len("label").is_some_and(|l| l > 80) {
                return bad(
                    "label",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 80 or fewer in length.",
                );
            }
            if style != 6 && len("label").is_none_or(|l| l == 0) && item["emoji"].is_null() {
                return bad(
                    "label",
                    "BUTTON_COMPONENT_MISSING_LABEL",
                    "A button needs a label or an emoji",
                );
            }
        }
        Some(kind @ (3 | 5..=8)) => {
            match len("custom_id") {
                Some(1..=100) => {}
                Some(_) => {
                    return bad(
                        "custom_id",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    );
                }
                None => return bad("custom_id", "BASE_TYPE_REQUIRED", "This field is required"),
            }
            if len("placeholder").is_some_and(|l| l > 150) {
                return bad(
                    "placeholder",
                    "BASE_TYPE_MAX_LENGTH",
                    "Must be 150 or fewer in length.",
                );
            }
            let min = item["min_values"].as_u64().unwrap_or(1);
            let max = item["max_values"].as_u64().unwrap_or(1);
            if min > 25 {
                return bad(
                    "min_values",
                    "NUMBER_TYPE_MAX",
                    "int value should be less than or equal to 25.",
                );
            }
            if !(1..=25).contains(&max) || max < min {
                return bad(
                    "max_values",
                    "NUMBER_TYPE_MAX",
                    "max_values must be between min_values and 25",
                );
            }
            if kind == 3 {
                let options = item["options"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                if options.is_empty() || options.len() > 25 {
                    return bad(
                        "options",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 25 in length.",
                    );
                }
                if max as usize > options.len() {
                    return bad(
                        "max_values",
                        "SELECT_COMPONENT_MAX_VALUES_TOO_LARGE",
                        "max_values exceeds the number of options",
                    );
                }
                let mut values = HashSet::new();
                for (o, option) in options.iter().enumerate() {
                    for key in ["label", "value"] {
                        let l = option[key].as_str().map_or(0, |s| s.chars().count());
                        if !(1..=100).contains(&l) {
                            return bad(
                                &format!("options.{o}.{key}"),
                                "BASE_TYPE_BAD_LENGTH",
                                "Must be between 1 and 100 in length.",
                            );
                        }
                    }
                    if option["description"]
                        .as_str()
                        .is_some_and(|d| d.chars().count() > 100)
                    {
                        return bad(
                            &format!("options.{o}.description"),
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 100 or fewer in length.",
                        );
                    }
                    if !values.insert(option["value"].to_string()) {
                        return bad(
                            &format!("options.{o}.value"),
                            "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                            "Select component option values cannot be duplicated",
                        );
                    }
                }
            }
        }
        _ => {
            return bad(
                "type",
                "UNION_TYPE_CHOICES",
                "Value of field \"type\" must be one of (2, 3, 5, 6, 7, 8).",
            );
        }
    }
    Ok(())
}

/// A type 9 callback's data: custom_id, title and 1-5 rows of one text input each.
fn check_modal(data: &Value) -> Result<(), ApiErr> {
    let len = |v: &Value| v.as_str().map(|s| s.chars().count());
    if !matches!(len(&data["custom_id"]), Some(1..=100)) {
        return Err(ApiErr::form(
            "data.custom_id",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        ));
    }
    if !matches!(len(&data["title"]), Some(1..=45)) {
        return Err(ApiErr::form(
            "data.title",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 45 in length.",
        ));
    }
    let rows = data["components"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if rows.is_empty() || rows.len() > 5 {
        return Err(ApiErr::form(
            "data.components",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 5 in length.",
        ));
    }
    let mut ids = HashSet::new();
    for (r, row) in rows.iter().enumerate() {
        let items = row["components"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let at = format!("data.components.{r}.components");
        if row["type"] != 1 || items.len() != 1 || items[0]["type"] != 4 {
            return Err(ApiErr::form(
                &at,
                "MODAL_ROW_INVALID",
                "A modal row holds exactly one text input",
            ));
        }
        let input = &items[0];
        if !matches!(len(&input["custom_id"]), Some(1..=100))
            || !ids.insert(input["custom_id"].to_string())
        {
            return Err(ApiErr::form(
                &format!("{at}.0.custom_id"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length, and unique.",
            ));
        }
        if !matches!(len(&input["label"]), Some(1..=45)) {
            return Err(ApiErr::form(
                &format!("{at}.0.label"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 45 in length.",
            ));
        }
        if !matches!(input["style"].as_u64(), Some(1 | 2)) {
            return Err(ApiErr::form(
                &format!("{at}.0.style"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 2}.",
            ));
        }
        if input["max_length"]
            .as_u64()
            .is_some_and(|m| !(1..=4000).contains(&m))
            || input["min_length"].as_u64().is_some_and(|m| m > 4000)
        {
            return Err(ApiErr::form(
                &format!("{at}.0.max_length"),
                "NUMBER_TYPE_MAX",
                "Lengths must be at most 4000.",
            ));
        }
    }
    Ok(())
}

fn command_type(command: &Value) -> u64 {
    command["type"].as_u64().unwrap_or(1)
}

/// Discord's rules for a command: names, descriptions, options.
fn check_command(command: &Value, at: &str) -> Result<(), ApiErr> {
    let path = |field: &str| {
        if at.is_empty() {
            field.to_string()
        } else {
            format!("{at}.{field}")
        }
    };
    let kind = command_type(command);
    let name = command["name"].as_str().unwrap_or_default();
    if !valid_name(name, kind == 1) {
        return Err(ApiErr::form(
            &path("name"),
            "APPLICATION_COMMAND_INVALID_NAME",
            "Command name is invalid",
        ));
    }
    let description = command["description"].as_str();
    if kind == 1 {
        match description.map(|d| d.chars().count()) {
            Some(1..=100) => {}
            Some(_) => {
                return Err(ApiErr::form(
                    &path("description"),
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                ));
            }
            None => {
                return Err(ApiErr::form(
                    &path("description"),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                ));
            }
        }
    } else if description.is_some_and(|d| !d.is_empty()) {
        return Err(ApiErr::form(
            &path("description"),
            "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED",
            "Only chat input commands have descriptions",
        ));
    }
    check_options(&command["options"], &path("options"), 0)
}

fn check_options(options: &Value, at: &str, depth: usize) -> Result<(), ApiErr> {
    let Some(list) = options.as_array() else {
        return Ok(());
    };
    if list.len() > 25 {
        return Err(ApiErr::form(
            at,
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        ));
    }
    let mut optional_seen = false;
    let mut names = HashSet::new();
    for (i, option) in list.iter().enumerate() {
        let at_option = format!("{at}.{i}");
        let kind = option["type"].as_u64().unwrap_or(0);
        if !(1..=11).contains(&kind) {
            return Err(ApiErr::form(
                &format!("{at_option}.type"),
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, ..., 11}.",
            ));
        }
        let name = option["name"].as_str().unwrap_or_default();
        if !valid_name(name, true) || !names.insert(name.to_string()) {
            return Err(ApiErr::form(
                &format!("{at_option}.name"),
                "APPLICATION_COMMAND_INVALID_NAME",
                "Option names must be valid and unique",
            ));
        }
        if !matches!(
            option["description"].as_str().map(|d| d.chars().count()),
            Some(1..=100)
        ) {
            return Err(ApiErr::form(
                &format!("{at_option}.description"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            ));
        }
        if option["choices"].as_array().is_some_and(|c| c.len() > 25) {
            return Err(ApiErr::form(
                &format!("{at_option}.choices"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            ));
        }
        if matches!(kind, 1 | 2) {
            if depth >= 2 || (kind == 2 && depth >= 1) {
                return Err(ApiErr::form(
                    &at_option,
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Subcommands nest at most two levels",
                ));
            }
            check_options(
                &option["options"],
                &format!("{at_option}.options"),
                depth + 1,
            )?;
        } else if option["required"] == true {
            if optional_seen {
                return Err(ApiErr::form(
                    &format!("{at_option}.required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                ));
            }
        } else {
            optional_seen = true;
        }
    }
    Ok(())
}

/// `^[-_'\p{L}\p{N}]{1,32}$`, lowercase where a letter has a lowercase form (chat input).
fn valid_name(name: &str, lowercase: bool) -> bool {
    let count = name.chars().count();
    (1..=32).contains(&count)
        && name.chars().all(|c| {
            let allowed =
                c.is_alphanumeric() || matches!(c, '-' | '_' | '\'') || (!lowercase && c == ' ');
            allowed && !(lowercase && c.is_uppercase())
        })
}

// ---- JSON helpers ------------------------------------------------------------------------------

fn frame(op: u64, d: Value) -> Value {
    json!({"op": op, "d": d, "s": null, "t": null})
}

fn dispatch_frame(seq: u64, t: &str, d: &Value) -> Value {
    json!({"op": 0, "s": seq, "t": t, "d": d})
}

fn token_ok(token: Option<&str>) -> bool {
    matches!(token, Some(t) if t == TOKEN || t.strip_prefix("Bot ") == Some(TOKEN))
}

fn username(name: &str) -> String {
    name.to_lowercase().replace(' ', "_")
}

fn user_json(u: &DcUser) -> Value {
    json!({
        "id": u.id.to_string(),
        "username": username(&u.name),
        "discriminator": "0",
        "global_name": u.name,
        "avatar": null,
        "public_flags": 0,
        "flags": 0,
        "banner": null,
        "accent_color": null,
        "avatar_decoration_data": null,
        "collectibles": null,
        "primary_guild": null,
    })
}

fn bot_user_json() -> Value {
    json!({
        "id": BOT_ID.to_string(),
        "username": BOT_USERNAME,
        "discriminator": "4821",
        "global_name": null,
        "avatar": null,
        "bot": true,
        "public_flags": 0,
        "flags": 0,
    })
}

/// The bot as `GET /users/@me` and READY describe it.
fn current_user_json() -> Value {
    merged(
        bot_user_json(),
        json!({"verified": true, "mfa_enabled": false, "email": null, "locale": "en-US", "premium_type": 0}),
    )
}

/// A member object; `permissions` only inside interactions.
fn member_json(u: &DcUser, permissions: Option<u64>) -> Value {
    let mut m = json!({
        "user": user_json(u),
        "roles": u.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "nick": null,
        "avatar": null,
        "banner": null,
        "joined_at": JOINED_AT,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
        "unusual_dm_activity_until": null,
    });
    if let Some(p) = permissions {
        m["permissions"] = json!(p.to_string());
    }
    m
}

fn bot_member_json() -> Value {
    json!({
        "user": bot_user_json(),
        "roles": [],
        "nick": null,
        "avatar": null,
        "joined_at": JOINED_AT,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "communication_disabled_until": null,
    })
}

fn role_json(id: u64, name: &str, position: usize, permissions: u64) -> Value {
    json!({
        "id": id.to_string(),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "icon": null,
        "unicode_emoji": null,
        "position": position,
        "permissions": permissions.to_string(),
        "managed": false,
        "mentionable": false,
        "flags": 0,
    })
}

/// Subcommands need `options` (serenity requires it); everything else passes unchanged.
fn normalize_options(options: Value) -> Value {
    match options {
        Value::Null => json!([]),
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|mut o| {
                    if matches!(o["type"].as_u64(), Some(1 | 2)) {
                        o["options"] = normalize_options(o["options"].take());
                    }
                    o
                })
                .collect(),
        ),
        other => panic!("fake Discord: slash options must be an array, got {other}"),
    }
}

fn find_component<'a>(components: &'a Value, custom_id: &str) -> Option<&'a Value> {
    let items = components.as_array()?;
    for item in items {
        if item["custom_id"] == custom_id {
            return Some(item);
        }
        if let Some(found) = find_component(&item["components"], custom_id) {
            return Some(found);
        }
    }
    None
}

fn collect_custom_ids(components: &Value, out: &mut Vec<String>) {
    for item in components.as_array().into_iter().flatten() {
        if let Some(id) = item["custom_id"].as_str() {
            out.push(id.to_string());
        }
        collect_custom_ids(&item["components"], out);
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            s.as_str()
                .map(str::to_string)
                .or_else(|| s.as_u64().map(|n| n.to_string()))
        })
        .collect()
}

/// A snowflake given as a string or a number.
fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn parse_id(s: &str) -> Option<u64> {
    s.parse().ok()
}

/// Adds `extra`'s keys to `target` (both objects).
fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        t.extend(e);
    }
}

fn merged(mut target: Value, extra: Value) -> Value {
    merge(&mut target, extra);
    target
}

fn strip_api(path: &str) -> &str {
    path.strip_prefix("/api/v10").unwrap_or(path)
}

fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn query_flag(query: &str, key: &str) -> bool {
    matches!(query_param(query, key), Some("true" | "True" | "1"))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(DISCORD_EPOCH_MS, |d| d.as_millis() as u64)
}

/// The ISO 8601 time of a snowflake, as Discord writes message timestamps.
fn snowflake_time(id: u64) -> String {
    let ms = (id >> 22) + DISCORD_EPOCH_MS;
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// Width and height from a PNG header.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let width = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let height = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((width, height))
}

// ---- HTTP --------------------------------------------------------------------------------------

enum Reply {
    Json(u16, Value),
    NoContent,
}

impl Reply {
    fn json(value: Value) -> Self {
        Reply::Json(200, value)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> HttpResponse {
        match self {
            Reply::Json(status, body) => json_response(status, &body, &[]),
            Reply::NoContent => StatusCode::NO_CONTENT.into_response(),
        }
    }
}

/// A Discord error answer: `{"message", "code", "errors"?}` (or the 429 body) plus headers.
struct ApiErr {
    status: u16,
    body: Value,
    headers: Vec<(&'static str, String)>,
}

impl ApiErr {
    fn new(status: u16, code: u64, message: &str) -> Self {
        ApiErr {
            status,
            body: json!({"message": message, "code": code}),
            headers: Vec::new(),
        }
    }

    fn unauthorized() -> Self {
        ApiErr::new(401, 0, "401: Unauthorized")
    }

    fn not_found() -> Self {
        ApiErr::new(404, 0, "404: Not Found")
    }

    fn method_not_allowed() -> Self {
        ApiErr::new(405, 0, "405: Method Not Allowed")
    }

    fn unknown_interaction() -> Self {
        ApiErr::new(404, 10062, "Unknown interaction")
    }

    fn unknown_message() -> Self {
        ApiErr::new(404, 10008, "Unknown Message")
    }

    /// 400 Invalid Form Body with one error at a dotted path ("" for the body itself).
    fn form(path: &str, code: &str, message: &str) -> Self {
        let mut errors = json!({"_errors": [{"code": code, "message": message}]});
        for key in path.split('.').filter(|k| !k.is_empty()).rev() {
            errors = json!({ key: errors });
        }
        ApiErr {
            status: 400,
            body: json!({"message": "Invalid Form Body", "code": 50035, "errors": errors}),
            headers: Vec::new(),
        }
    }

    /// Discord's per-route ("user" scope) 429, as its rate limit documentation shows it.
    fn rate_limited(seconds: f64) -> Self {
        let reset = now_ms() as f64 / 1000.0 + seconds;
        ApiErr {
            status: 429,
            body: json!({"message": "You are being rate limited.", "retry_after": seconds, "global": false}),
            headers: vec![
                ("retry-after", format!("{}", seconds.ceil() as u64)),
                ("x-ratelimit-limit", "5".into()),
                ("x-ratelimit-remaining", "0".into()),
                ("x-ratelimit-reset", format!("{reset:.3}")),
                ("x-ratelimit-reset-after", format!("{seconds:.3}")),
                (
                    "x-ratelimit-bucket",
                    "fa6c1b9b8e4a4f1c9d2e7b3a5c6d8e0f".into(),
                ),
                ("x-ratelimit-scope", "user".into()),
            ],
        }
    }
}

impl IntoResponse for ApiErr {
    fn into_response(self) -> HttpResponse {
        json_response(self.status, &self.body, &self.headers)
    }
}

fn json_response(status: u16, body: &Value, headers: &[(&'static str, String)]) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

/// One REST call: everything under `/api/v10`.
async fn rest(State(shared): State<Arc<Shared>>, request: Request) -> HttpResponse {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let auth = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(api_path) = path.strip_prefix("/api/v10") else {
        return ApiErr::not_found().into_response();
    };
    let api_path = api_path.to_string();
    let reset = shared.with(|s| {
        let i = s
            .resets
            .iter()
            .position(|(m, p, _)| m == method.as_str() && api_path.starts_with(p.as_str()))?;
        s.resets.remove(i).map(|(_, _, after)| after)
    });
    if reset == Some(false) {
        shared.with(|s| {
            s.calls
                .push((method.to_string(), api_path.clone(), Instant::now()))
        });
        return broken_connection();
    }
    let outcome = match shared.with(|s| s.begin(&method, &api_path, auth.as_deref())) {
        Err(e) => Err(e),
        Ok(()) => match Body::read(request).await {
            Err(e) => Err(e),
            Ok(body) => shared.with(|s| s.route(&method, &api_path, &query, &body)),
        },
    };
    if reset == Some(true) {
        return broken_connection();
    }
    if outcome.is_ok() {
        let after = shared.with(|s| {
            let i = s
                .after_failures
                .iter()
                .position(|(m, p, _)| m == method.as_str() && api_path.starts_with(p.as_str()))?;
            s.after_failures.remove(i).map(|(_, _, status)| status)
        });
        if let Some(status) = after {
            return ApiErr::new(status, 0, "injected failure after the call was carried out")
                .into_response();
        }
    }
    match outcome {
        Ok(reply) => reply.into_response(),
        Err(e) => {
            shared.with(|s| {
                s.errors
                    .push(format!("{method} {api_path} -> {} {}", e.status, e.body))
            });
            e.into_response()
        }
    }
}

/// An answer whose body fails mid-way: the connection drops and the client sees a transport
/// error, as with a connection reset.
fn broken_connection() -> HttpResponse {
    let body = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
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

/// A file part of a multipart request.
struct Part {
    name: String,
    filename: String,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// A request body: JSON (`Null` when empty), or multipart with `payload_json` and files.
struct Body {
    json: Value,
    files: Vec<Part>,
}

impl Body {
    async fn read(request: Request) -> Result<Body, ApiErr> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if multipart {
            return Body::read_multipart(request).await;
        }
        let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY)
            .await
            .map_err(|_| ApiErr::new(413, 40005, "Request entity too large"))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body {
                json: Value::Null,
                files: Vec::new(),
            });
        }
        let json = serde_json::from_slice(&bytes)
            .map_err(|_| ApiErr::new(400, 50109, "The request body contains invalid JSON."))?;
        Ok(Body {
            json,
            files: Vec::new(),
        })
    }

    async fn read_multipart(request: Request) -> Result<Body, ApiErr> {
        let broken = |_| ApiErr::new(400, 50035, "Invalid Form Body");
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(|_| ApiErr::new(400, 50035, "Invalid Form Body"))?;
        let mut fields = Map::new();
        let mut json = None;
        let mut files = Vec::new();
        while let Some(part) = form.next_field().await.map_err(broken)? {
            let name = part.name().unwrap_or_default().to_string();
            let filename = part.file_name().map(str::to_string);
            let content_type = part.content_type().map(str::to_string);
            let bytes = part.bytes().await.map_err(broken)?;
            match filename {
                Some(filename) => files.push(Part {
                    name,
                    filename,
                    content_type,
                    bytes: bytes.to_vec(),
                }),
                None if name == "payload_json" => {
                    json = Some(serde_json::from_slice::<Value>(&bytes).map_err(|_| {
                        ApiErr::new(400, 50109, "The request body contains invalid JSON.")
                    })?);
                }
                None => {
                    fields.insert(
                        name,
                        Value::String(String::from_utf8_lossy(&bytes).into_owned()),
                    );
                }
            }
        }
        let json = match json {
            Some(mut json) => {
                merge(&mut json, Value::Object(fields));
                json
            }
            None => Value::Object(fields),
        };
        Ok(Body { json, files })
    }
}

// ---- gateway -----------------------------------------------------------------------------------

/// The gateway websocket. serenity connects to `{url from GET /gateway}?v=10` and asks for
/// no transport compression; the fake refuses `compress=...` and any encoding but JSON.
async fn gateway_upgrade(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> HttpResponse {
    let query = query.unwrap_or_default();
    if query_param(&query, "compress").is_some() {
        return (
            StatusCode::BAD_REQUEST,
            "the fake gateway supports no transport compression",
        )
            .into_response();
    }
    if query_param(&query, "encoding").is_some_and(|e| e != "json") {
        return (StatusCode::BAD_REQUEST, "the fake gateway speaks JSON only").into_response();
    }
    ws.on_upgrade(move |socket| gateway_connection(shared, socket, query))
}

async fn gateway_connection(shared: Arc<Shared>, mut socket: WebSocket, query: String) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let conn = shared.with(|s| s.connect(tx, &query));
    if query_param(&query, "v") != Some("10") {
        shared.with(|s| s.gw.close(conn, 4012, "Invalid API version."));
    }
    let mut close_code = None;
    // After a close frame either way, only read: axum answers the bot's close frame on the
    // next read, which serenity waits for on shutdown.
    let mut closing = false;
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if !closing {
                        shared.with(|s| s.gateway_in(conn, text.as_str()));
                    }
                }
                Some(Ok(WsMessage::Binary(_))) => {
                    shared.with(|s| s.gw.close(conn, 4002, "Error while decoding payload."));
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    close_code = Some(frame.map_or(1005, |f| f.code));
                    closing = true;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            out = rx.recv(), if !closing => match out {
                Some(Out::Frame(value)) => {
                    if socket.send(WsMessage::Text(value.to_string().into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Close(code, reason)) => {
                    let close = CloseFrame { code, reason: reason.into() };
                    let _ = socket.send(WsMessage::Close(Some(close))).await;
                    closing = true;
                }
                // A newer connection replaced this one.
                None => break,
            },
        }
    }
    shared.with(|s| s.disconnected(conn, close_code));
}
