//! The world as Discord describes it (guild, channel and member JSON) and the interactions
//! members make (slash commands, components, modal submits).

use super::*;

impl Sim {
    // ---- JSON of the world ---------------------------------------------------------------------

    pub(super) fn guild_json(&self, guild_id: u64, for_gateway: bool) -> Value {
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

    pub(super) fn channel_json(&self, channel_id: u64) -> Value {
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
    pub(super) fn place(&mut self, guild_id: u64, channel_id: u64, user: &DcUser) -> Value {
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
    pub(super) fn interact(&mut self, new: NewInteraction) -> u64 {
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

    pub(super) fn slash(
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
    pub(super) fn resolve_options(&self, guild_id: u64, options: &Value) -> Value {
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

    pub(super) fn component(
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

    pub(super) fn submit_modal(
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
    pub(super) fn interaction_metadata(&self, id: u64, original: Option<u64>) -> Option<Value> {
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
}
