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
//!
//! Files: `fake` (the `FakeDiscord` a test drives), `model` (the records tests read and the
//! simulated world `Sim`), `rest` (router, faults, commands, HTTP plumbing), `messages`
//! (interaction callbacks, followups, channel messages), `gateway` (the websocket), `world`
//! (guild/channel/member JSON, members' interactions), `rules` (Discord's validation), `json`.

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

pub(crate) const TOKEN: &str = "discord-test-token";
pub(crate) const APP_ID: u64 = 900_000_000_000_000_001;
/// The bot user's id: for applications created since 2020 it equals the application id.
pub(crate) const BOT_ID: u64 = APP_ID;
pub(crate) const BOT_USERNAME: &str = "canvass";
/// The human who owns the application (`GET /oauth2/applications/@me`).
pub(crate) const OWNER_ID: u64 = 900_000_000_000_000_777;
/// What Hello tells the bot; Discord sends 41250.
pub(crate) const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// Interaction `attachment_size_limit`, and the largest file the fake accepts (10 MiB).
pub(crate) const ATTACHMENT_SIZE_LIMIT: usize = 10 * 1024 * 1024;

/// The first callback to an interaction must arrive within this time after dispatch.
const ACK_DEADLINE: Duration = Duration::from_secs(3);
/// How long `wait_for` waits before it fails the test.
const WAIT_LIMIT: Duration = Duration::from_secs(15);
const MAX_BODY: usize = 4 * ATTACHMENT_SIZE_LIMIT;
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
const JOINED_AT: &str = "2025-01-06T10:00:00.000000+00:00";

// Message flags.
pub(crate) const SUPPRESS_EMBEDS: u64 = 1 << 2;
pub(crate) const EPHEMERAL: u64 = 1 << 6;
/// The "Bot is thinking..." state of a deferred interaction response.
pub(crate) const LOADING: u64 = 1 << 7;
pub(crate) const SUPPRESS_NOTIFICATIONS: u64 = 1 << 12;
pub(crate) const IS_COMPONENTS_V2: u64 = 1 << 15;

// Gateway intents the fake looks at.
const INTENT_GUILD_MEMBERS: u64 = 1 << 1;
const PRIVILEGED_INTENTS: u64 = (1 << 1) | (1 << 8) | (1 << 15);

// Permissions.
pub(crate) const ADMINISTRATOR: u64 = 1 << 3;
/// Every permission Discord documents (bits 0-46, 49, 50): what an administrator has.
pub(crate) const ALL_PERMISSIONS: u64 = ((1 << 47) - 1) | (1 << 49) | (1 << 50);
/// Discord's default `@everyone` permissions in a new guild: view, send, embed, attach,
/// history, reactions, external emoji/stickers, application commands, threads, voice basics.
pub(crate) const DEFAULT_PERMISSIONS: u64 = (1 << 0)
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

pub(crate) mod adapter;
mod fake;
mod gateway;
mod json;
mod messages;
mod model;
mod rest;
mod rules;
mod world;

pub(crate) use fake::*;
use gateway::*;
use json::*;
pub(crate) use model::*;
use rest::*;
use rules::*;
