//! `FakeDiscord`: the server a test starts, and what the test does through it (members
//! acting, faults to inject) and reads from it (responses, messages, commands, calls).

use super::*;

/// The fake server. Dropping it stops accepting connections.
pub(crate) struct FakeDiscord {
    /// `http://127.0.0.1:PORT`: what to give `HttpBuilder::proxy` (serenity replaces
    /// `https://discord.com` with it, keeping `/api/v10/...`).
    pub url: String,
    pub(super) shared: Arc<Shared>,
    pub(super) server: tokio::task::JoinHandle<()>,
}

pub(super) struct Shared {
    pub(super) state: Mutex<Sim>,
    /// Woken after every change, for `wait_for`.
    pub(super) notify: Notify,
}

impl Shared {
    /// Changes the state and wakes everyone waiting for a change.
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        let result = self.quiet(f);
        self.notify.notify_waiters();
        result
    }

    /// Uses the state without waking anyone (reads, so a waiter does not wake itself).
    pub(super) fn quiet<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
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
    pub(crate) async fn start() -> FakeDiscord {
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

    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Sim) -> R) -> R {
        self.shared.with(f)
    }

    pub(super) fn read<R>(&self, f: impl FnOnce(&Sim) -> R) -> R {
        self.shared.quiet(|s| f(s))
    }

    /// The gateway url the fake hands out (`ws://127.0.0.1:PORT/gateway`).
    pub(crate) fn gateway_url(&self) -> String {
        self.read(|s| s.ws_url.clone())
    }

    // ---- the world ---------------------------------------------------------------------------

    /// A guild the bot is in, with text channels (the first is named "general") and roles
    /// (besides `@everyone`, whose id is the guild id). If the bot is connected it gets a
    /// GUILD_CREATE, as when it joins a guild.
    pub(crate) fn add_guild(
        &self,
        guild_id: u64,
        name: &str,
        channels: &[u64],
        roles: &[(u64, &str)],
    ) {
        self.with(|s| s.add_guild(guild_id, name, channels, roles));
    }

    /// Adds or replaces a member of a guild.
    pub(crate) fn add_member(&self, guild_id: u64, user: &DcUser) {
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
    pub(crate) fn dm_channel(&self, user: &DcUser) -> u64 {
        self.with(|s| s.dm_channel(user))
    }

    /// Lets IDENTIFY ask for privileged intents (GUILD_MEMBERS, GUILD_PRESENCES,
    /// MESSAGE_CONTENT); by default the fake closes with 4014 like an application whose
    /// developer portal switches are off.
    pub(crate) fn enable_privileged_intents(&self) {
        self.with(|s| s.privileged_intents = true);
    }

    /// Waits until the bot has IDENTIFIED (or RESUMED) and the fake has sent READY on a
    /// connection that is still open.
    pub(crate) async fn wait_ready(&self) {
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
    pub(crate) fn slash(
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
    pub(crate) fn click(
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
    pub(crate) fn click_forged(
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
    pub(crate) fn select(
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
    pub(crate) fn submit_modal(
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
    pub(crate) fn replay(&self, interaction_id: u64) {
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
    pub(crate) fn reconnect(&self) {
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
    pub(crate) fn invalidate_session(&self) {
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
    pub(crate) fn request_heartbeat(&self) {
        self.with(|s| {
            let conn =
                s.gw.current
                    .expect("fake Discord: request_heartbeat() needs a connected bot");
            s.gw.send(conn, frame(1, Value::Null));
        });
    }

    /// Acts as if the 3 s deadline of an interaction had passed: its first callback gets 404
    /// "Unknown interaction" (10062).
    pub(crate) fn expire_interaction(&self, interaction_id: u64) {
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
    pub(crate) fn rate_limit_next(&self, method: &str, path_prefix: &str, retry_after_secs: f64) {
        self.fault(
            None,
            method,
            path_prefix,
            Failure::RateLimited(retry_after_secs),
        );
    }

    /// As `rate_limit_next`, but only for calls answering one member's interactions
    /// (`/interactions/{id}/...` and `/webhooks/{app}/{token}...`).
    pub(crate) fn rate_limit_next_for(
        &self,
        user_id: u64,
        method: &str,
        path_prefix: &str,
        retry_after_secs: f64,
    ) {
        let failure = Failure::RateLimited(retry_after_secs);
        self.fault(Some(user_id), method, path_prefix, failure);
    }

    pub(super) fn fault(
        &self,
        user: Option<u64>,
        method: &str,
        path_prefix: &str,
        failure: Failure,
    ) {
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
    pub(crate) fn fail_next(
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
    pub(crate) fn fail_after_next(&self, method: &str, path_prefix: &str, status: u16) {
        let prefix = strip_api(path_prefix).to_string();
        self.with(|s| {
            s.after_failures
                .push_back((method.to_ascii_uppercase(), prefix, status))
        });
    }

    pub(crate) fn reset_next(&self, method: &str, path_prefix: &str, after: bool) {
        let prefix = strip_api(path_prefix).to_string();
        self.with(|s| {
            s.resets
                .push_back((method.to_ascii_uppercase(), prefix, after))
        });
    }

    // ---- what the bot did ----------------------------------------------------------------------

    /// Every accepted interaction callback, in order.
    pub(crate) fn responses(&self) -> Vec<Response> {
        self.read(|s| s.responses.clone())
    }

    /// The callback accepted for one interaction, if any.
    pub(crate) fn response(&self, interaction_id: u64) -> Option<Response> {
        self.read(|s| {
            s.responses
                .iter()
                .find(|r| r.interaction_id == interaction_id)
                .cloned()
        })
    }

    /// Every message the bot created in a channel and that still exists, ephemeral ones
    /// included, oldest first.
    pub(crate) fn messages(&self, channel_id: u64) -> Vec<Message> {
        self.read(|s| {
            s.messages
                .values()
                .filter(|m| m.msg.channel_id == channel_id)
                .map(|m| m.msg.clone())
                .collect()
        })
    }

    pub(crate) fn message(&self, channel_id: u64, id: u64) -> Option<Message> {
        self.read(|s| {
            s.messages
                .get(&id)
                .filter(|m| m.msg.channel_id == channel_id)
                .map(|m| m.msg.clone())
        })
    }

    /// The message an interaction's `@original` is now (its response message, or for a
    /// component answered with type 6/7 the message the component is on).
    pub(crate) fn original(&self, interaction_id: u64) -> Option<Message> {
        self.read(|s| {
            let id = s.interactions.get(&interaction_id)?.original?;
            s.messages.get(&id).map(|m| m.msg.clone())
        })
    }

    /// Registered application commands as stored (Discord's command objects, with `id`,
    /// `application_id`, `version` and, for guild commands, `guild_id`): global ones first.
    pub(crate) fn commands(&self) -> Vec<Value> {
        self.read(|s| s.commands.values().flatten().cloned().collect())
    }

    /// How many REST calls had this method (case-insensitive) and a path starting with
    /// `path_prefix` (with or without `/api/v10`), failed ones included.
    pub(crate) fn calls(&self, method: &str, path_prefix: &str) -> usize {
        let prefix = strip_api(path_prefix);
        self.read(|s| {
            s.calls
                .iter()
                .filter(|(m, p, _)| m.eq_ignore_ascii_case(method) && p.starts_with(prefix))
                .count()
        })
    }

    /// When each matching REST call (as `calls`) arrived, failed ones included, in order.
    pub(crate) fn call_times(&self, method: &str, path_prefix: &str) -> Vec<Instant> {
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
    pub(crate) fn token(&self, interaction_id: u64) -> Option<String> {
        self.read(|s| {
            s.interactions
                .get(&interaction_id)
                .map(|ix| ix.token.clone())
        })
    }

    pub(crate) fn identifies(&self) -> usize {
        self.read(|s| s.gw.identifies)
    }

    pub(crate) fn resumes(&self) -> usize {
        self.read(|s| s.gw.resumes)
    }

    /// Heartbeats (op 1) received from the bot.
    pub(crate) fn heartbeats(&self) -> usize {
        self.read(|s| s.gw.heartbeats)
    }

    /// Every IDENTIFY payload (`d`) received, with the token replaced by "***".
    pub(crate) fn identify_payloads(&self) -> Vec<Value> {
        self.read(|s| s.gw.identify_payloads.clone())
    }

    /// The query string of every gateway websocket the bot opened (serenity: "v=10").
    pub(crate) fn gateway_connects(&self) -> Vec<String> {
        self.read(|s| s.gw.queries.clone())
    }

    /// Close codes the bot sent when closing a gateway connection (1000 on shutdown).
    pub(crate) fn bot_closes(&self) -> Vec<u16> {
        self.read(|s| s.gw.bot_closes.clone())
    }

    /// Every gateway frame the fake sent to the bot, in order (Hello, READY, dispatches...).
    pub(crate) fn frames(&self) -> Vec<Value> {
        self.read(|s| s.gw.frames.clone())
    }

    /// Whether a gateway connection is open and identified or resumed.
    pub(crate) fn connected(&self) -> bool {
        self.read(|s| s.gw.is_live())
    }

    /// Waits until `f` returns `Some`, re-checking after every change to the fake; panics with
    /// `what` and a dump of what the bot did after 15 s.
    pub(crate) async fn wait_for<T>(&self, what: &str, f: impl Fn(&FakeDiscord) -> Option<T>) -> T {
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
    pub(crate) fn dump(&self) -> String {
        self.read(Sim::dump)
    }
}
