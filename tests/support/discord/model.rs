//! The fake's model: the public records tests read (`DcUser`, `Message`, `Response`) and the
//! simulated world behind them (`Sim`: guilds, channels, stored messages, interactions, the
//! gateway session, faults a test asked for).

use super::*;

/// A Discord user who is (or will be) a guild member.
#[derive(Clone, Debug)]
pub(crate) struct DcUser {
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
    pub(crate) fn new(id: u64, name: &str) -> Self {
        DcUser {
            id,
            name: name.to_string(),
            roles: Vec::new(),
            admin: false,
            locale: "en-US".to_string(),
        }
    }

    pub(crate) fn with_roles(mut self, roles: &[u64]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    pub(crate) fn admin(mut self) -> Self {
        self.admin = true;
        self
    }

    pub(crate) fn with_locale(mut self, locale: &str) -> Self {
        self.locale = locale.to_string();
        self
    }
}

/// A message the bot created, as it is now (after edits).
#[derive(Clone, Debug)]
pub(crate) struct Message {
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
    pub(crate) fn is_ephemeral(&self) -> bool {
        self.flags & EPHEMERAL != 0
    }

    /// Still the "thinking..." placeholder of a deferred response.
    pub(crate) fn is_loading(&self) -> bool {
        self.flags & LOADING != 0
    }

    /// Every `custom_id` in the message's components, in order.
    pub(crate) fn custom_ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        collect_custom_ids(&self.components, &mut out);
        out
    }

    /// The buttons as (label, custom_id); link buttons have their url as custom_id.
    pub(crate) fn buttons(&self) -> Vec<(String, String)> {
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
    pub(crate) fn pinged(&self) -> Vec<String> {
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
pub(crate) struct Response {
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

// ---- state -------------------------------------------------------------------------------------

pub(super) struct Guild {
    pub(super) name: String,
    pub(super) channels: Vec<u64>,
    pub(super) roles: Vec<(u64, String)>,
    pub(super) members: BTreeMap<u64, DcUser>,
}

pub(super) struct Channel {
    pub(super) guild_id: Option<u64>,
    pub(super) name: String,
    pub(super) position: usize,
    /// For a DM channel: the user on the other side.
    pub(super) recipient: Option<DcUser>,
}

#[derive(Clone)]
pub(super) struct Stored {
    pub(super) msg: Message,
    pub(super) guild_id: Option<u64>,
    /// Discord message type: 0 default, 19 reply, 20 chat input command.
    pub(super) kind: u64,
    pub(super) tts: bool,
    pub(super) edited_timestamp: Option<String>,
    /// (attachment object, bytes) in order; `msg.files` mirrors it.
    pub(super) attachments: Vec<(Value, Vec<u8>)>,
    pub(super) from_webhook: bool,
    pub(super) interaction_metadata: Option<Value>,
    /// The deprecated `interaction` field (command responses only).
    pub(super) interaction: Option<Value>,
    pub(super) message_reference: Option<Value>,
    /// Who may see an ephemeral message.
    pub(super) viewer: Option<u64>,
}

impl Stored {
    /// The message object; `mentions`, `mention_roles` and `mention_everyone` list what the
    /// message pings under its `allowed_mentions`.
    pub(super) fn to_json(&self, sim: &Sim) -> Value {
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

pub(super) struct Interaction {
    pub(super) token: String,
    /// 2 application command, 3 message component, 5 modal submit.
    pub(super) kind: u64,
    pub(super) guild_id: Option<u64>,
    pub(super) channel_id: u64,
    pub(super) user: DcUser,
    /// The command name, or the component's or modal's custom_id.
    pub(super) name: String,
    pub(super) payload: Value,
    /// For a component (or a modal opened from one): the message it is on.
    pub(super) component_message: Option<u64>,
    /// For a modal submit: the interaction the bot answered with the modal.
    pub(super) trigger: Option<u64>,
    pub(super) sent_at: Option<Instant>,
    pub(super) expired: bool,
    /// The callback type accepted, if any.
    pub(super) response: Option<u64>,
    /// What `@original` is.
    pub(super) original: Option<u64>,
    pub(super) followups: Vec<u64>,
}

/// Something for a connection task to send.
pub(super) enum Out {
    Frame(Value),
    Close(u16, &'static str),
}

pub(super) struct Session {
    pub(super) id: String,
    pub(super) seq: u64,
    /// Every dispatch of the session: (seq, event name, data, delivered, interaction id).
    pub(super) log: Vec<Logged>,
}

pub(super) struct Logged {
    pub(super) seq: u64,
    pub(super) t: String,
    pub(super) d: Value,
    pub(super) sent: bool,
    pub(super) interaction: Option<u64>,
}

#[derive(Default)]
pub(super) struct Gateway {
    pub(super) conns: HashMap<u64, mpsc::UnboundedSender<Out>>,
    pub(super) next_conn: u64,
    /// The newest connection; older ones are dropped when a new one opens.
    pub(super) current: Option<u64>,
    /// The current connection has identified or resumed and receives dispatches.
    pub(super) live: bool,
    pub(super) identified: HashSet<u64>,
    pub(super) session: Option<Session>,
    /// Events with no session to go to: (event name, data, interaction id).
    pub(super) pending: Vec<(String, Value, Option<u64>)>,
    pub(super) intents: u64,
    pub(super) identifies: usize,
    pub(super) resumes: usize,
    pub(super) readies: usize,
    pub(super) heartbeats: usize,
    pub(super) identify_payloads: Vec<Value>,
    pub(super) queries: Vec<String>,
    pub(super) bot_closes: Vec<u16>,
    pub(super) frames: Vec<Value>,
}

impl Gateway {
    pub(super) fn is_live(&self) -> bool {
        self.live && self.current.is_some()
    }

    /// Queues a frame on a connection; false if that connection is gone.
    pub(super) fn send(&mut self, conn: u64, frame: Value) -> bool {
        let Some(tx) = self.conns.get(&conn) else {
            return false;
        };
        let ok = tx.send(Out::Frame(frame.clone())).is_ok();
        if ok {
            self.frames.push(frame);
        }
        ok
    }

    pub(super) fn close(&mut self, conn: u64, code: u16, reason: &'static str) {
        if let Some(tx) = self.conns.get(&conn) {
            let _ = tx.send(Out::Close(code, reason));
        }
        if self.current == Some(conn) {
            self.live = false;
        }
    }

    /// Ends the session; what it never delivered waits for the next one.
    pub(super) fn drop_session(&mut self) {
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

pub(super) struct Sim {
    pub(super) ws_url: String,
    pub(super) last_snowflake: u64,
    pub(super) guilds: BTreeMap<u64, Guild>,
    pub(super) channels: BTreeMap<u64, Channel>,
    pub(super) messages: BTreeMap<u64, Stored>,
    pub(super) interactions: HashMap<u64, Interaction>,
    pub(super) tokens: HashMap<String, u64>,
    pub(super) responses: Vec<Response>,
    /// Registered commands by scope: `None` global, `Some(guild)`.
    pub(super) commands: BTreeMap<Option<u64>, Vec<Value>>,
    /// Ids of commands invoked without being registered, by name.
    pub(super) unregistered: HashMap<String, u64>,
    /// Every REST call: (method, path after `/api/v10`, when it arrived).
    pub(super) calls: Vec<(String, String, Instant)>,
    /// Failed REST calls, for the dump.
    pub(super) errors: Vec<String>,
    /// Failures tests asked for, first match first.
    pub(super) failures: VecDeque<Fault>,
    /// Channel messages created with a nonce: (channel, nonce) → message id, for
    /// `enforce_nonce` (Discord keeps them "for a few minutes"; the fake keeps them).
    pub(super) nonces: HashMap<(u64, String), u64>,
    /// Broken connections a test asked for: (method, path prefix, after carrying the call out).
    pub(super) resets: VecDeque<(String, String, bool)>,
    /// (method, path prefix, status): carried out, then answered with that status.
    pub(super) after_failures: VecDeque<(String, String, u16)>,
    pub(super) privileged_intents: bool,
    pub(super) gw: Gateway,
}

impl Sim {
    pub(super) fn new(ws_url: String) -> Self {
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
    pub(super) fn snowflake(&mut self) -> u64 {
        let ms = now_ms().saturating_sub(DISCORD_EPOCH_MS);
        let id = ((ms << 22) | (1 << 17)).max(self.last_snowflake + 1);
        self.last_snowflake = id;
        id
    }

    pub(super) fn add_guild(
        &mut self,
        guild_id: u64,
        name: &str,
        channels: &[u64],
        roles: &[(u64, &str)],
    ) {
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
    pub(super) fn user(&self, id: u64) -> Option<DcUser> {
        self.guilds
            .values()
            .find_map(|g| g.members.get(&id).cloned())
            .or_else(|| {
                self.channels
                    .values()
                    .find_map(|c| c.recipient.clone().filter(|r| r.id == id))
            })
    }

    pub(super) fn dm_channel(&mut self, user: &DcUser) -> u64 {
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
}

/// A failure a test asked for.
/// A failure a test asked for: the next call with this method and path prefix (and, if
/// set, answering this member's interaction) gets it.
pub(super) struct Fault {
    pub(super) method: String,
    pub(super) prefix: String,
    pub(super) user: Option<u64>,
    pub(super) failure: Failure,
}

pub(super) enum Failure {
    RateLimited(f64),
    /// (status, Discord error code, message).
    Error(u16, u64, String),
}

pub(super) struct NewInteraction {
    pub(super) kind: u64,
    pub(super) guild_id: u64,
    pub(super) channel_id: u64,
    pub(super) user: DcUser,
    pub(super) name: String,
    pub(super) data: Value,
    pub(super) message: Option<u64>,
    pub(super) trigger: Option<u64>,
}
