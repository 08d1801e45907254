//! The gateway: the websocket (Hello, heartbeats, IDENTIFY, RESUME, close codes) and
//! dispatching events with sequence numbers and replay of missed ones.

use super::*;

impl Sim {
    // ---- gateway -----------------------------------------------------------------------------

    /// Sends an event to the bot now if a connection is live, else keeps it for the RESUME
    /// (or, with no session, for the next READY).
    pub(super) fn dispatch(&mut self, t: &str, d: Value, interaction: Option<u64>) {
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
    pub(super) fn delivered(&mut self, interaction: Option<u64>) {
        if let Some(ix) = interaction.and_then(|id| self.interactions.get_mut(&id)) {
            ix.sent_at.get_or_insert_with(Instant::now);
        }
    }

    pub(super) fn connect(&mut self, tx: mpsc::UnboundedSender<Out>, query: &str) -> u64 {
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

    pub(super) fn disconnected(&mut self, conn: u64, close_code: Option<u16>) {
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
    pub(super) fn gateway_in(&mut self, conn: u64, text: &str) {
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

    pub(super) fn identify(&mut self, conn: u64, d: Value) {
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

    pub(super) fn resume(&mut self, conn: u64, d: &Value) {
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
}

// ---- gateway -----------------------------------------------------------------------------------

/// The gateway websocket. serenity connects to `{url from GET /gateway}?v=10` and asks for
/// no transport compression; the fake refuses `compress=...` and any encoding but JSON.
pub(super) async fn gateway_upgrade(
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

pub(super) async fn gateway_connection(shared: Arc<Shared>, mut socket: WebSocket, query: String) {
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
