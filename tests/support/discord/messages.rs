//! REST for interactions and messages: callbacks within the 3 s deadline, followups and
//! `@original`, channel messages with attachments and nonces, and the dump for failures.

use super::*;

impl Sim {
    // ---- interactions --------------------------------------------------------------------------

    pub(super) fn callback(
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
    pub(super) fn webhook(&self, app: &str, token: &str) -> Result<u64, ApiErr> {
        if app != APP_ID.to_string() {
            return Err(ApiErr::new(404, 10015, "Unknown Webhook"));
        }
        self.tokens
            .get(token)
            .copied()
            .ok_or_else(|| ApiErr::new(401, 50027, "Invalid Webhook Token"))
    }

    pub(super) fn followup(&mut self, ix_id: u64, body: &Body) -> Result<Reply, ApiErr> {
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

    pub(super) fn webhook_message(
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

    pub(super) fn post_channel_message(
        &mut self,
        channel_id: u64,
        body: &Body,
    ) -> Result<Reply, ApiErr> {
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

    pub(super) fn list_messages(&self, channel_id: u64, query: &str) -> Reply {
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

    pub(super) fn channel_message(
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

    pub(super) fn insert(&mut self, mut stored: Stored) -> u64 {
        let id = self.snowflake();
        stored.msg.id = id;
        self.messages.insert(id, stored);
        id
    }

    pub(super) fn draft_empty(&mut self, channel_id: u64, flags: u64) -> Stored {
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
    pub(super) fn draft(
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
    pub(super) fn edit(
        &mut self,
        id: u64,
        fields: &Value,
        files: &[Part],
        at: &str,
    ) -> Result<(), ApiErr> {
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
    pub(super) fn new_attachments(
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
}

impl Sim {
    pub(super) fn dump(&self) -> String {
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
