//! JSON helpers: gateway frames, user, member and role objects, ids, query strings, snowflake
//! times and PNG sizes.

use super::*;

// ---- JSON helpers ------------------------------------------------------------------------------

pub(super) fn frame(op: u64, d: Value) -> Value {
    json!({"op": op, "d": d, "s": null, "t": null})
}

pub(super) fn dispatch_frame(seq: u64, t: &str, d: &Value) -> Value {
    json!({"op": 0, "s": seq, "t": t, "d": d})
}

pub(super) fn token_ok(token: Option<&str>) -> bool {
    matches!(token, Some(t) if t == TOKEN || t.strip_prefix("Bot ") == Some(TOKEN))
}

pub(super) fn username(name: &str) -> String {
    name.to_lowercase().replace(' ', "_")
}

pub(super) fn user_json(u: &DcUser) -> Value {
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

pub(super) fn bot_user_json() -> Value {
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
pub(super) fn current_user_json() -> Value {
    merged(
        bot_user_json(),
        json!({"verified": true, "mfa_enabled": false, "email": null, "locale": "en-US", "premium_type": 0}),
    )
}

/// A member object; `permissions` only inside interactions.
pub(super) fn member_json(u: &DcUser, permissions: Option<u64>) -> Value {
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

pub(super) fn bot_member_json() -> Value {
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

pub(super) fn role_json(id: u64, name: &str, position: usize, permissions: u64) -> Value {
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
pub(super) fn normalize_options(options: Value) -> Value {
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

pub(super) fn find_component<'a>(components: &'a Value, custom_id: &str) -> Option<&'a Value> {
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

pub(super) fn collect_custom_ids(components: &Value, out: &mut Vec<String>) {
    for item in components.as_array().into_iter().flatten() {
        if let Some(id) = item["custom_id"].as_str() {
            out.push(id.to_string());
        }
        collect_custom_ids(&item["components"], out);
    }
}

pub(super) fn strings(v: &Value) -> Vec<String> {
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
pub(super) fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

pub(super) fn parse_id(s: &str) -> Option<u64> {
    s.parse().ok()
}

/// Adds `extra`'s keys to `target` (both objects).
pub(super) fn merge(target: &mut Value, extra: Value) {
    if let (Some(t), Value::Object(e)) = (target.as_object_mut(), extra) {
        t.extend(e);
    }
}

pub(super) fn merged(mut target: Value, extra: Value) -> Value {
    merge(&mut target, extra);
    target
}

pub(super) fn strip_api(path: &str) -> &str {
    path.strip_prefix("/api/v10").unwrap_or(path)
}

pub(super) fn query_param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

pub(super) fn query_flag(query: &str, key: &str) -> bool {
    matches!(query_param(query, key), Some("true" | "True" | "1"))
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(DISCORD_EPOCH_MS, |d| d.as_millis() as u64)
}

/// The ISO 8601 time of a snowflake, as Discord writes message timestamps.
pub(super) fn snowflake_time(id: u64) -> String {
    let ms = (id >> 22) + DISCORD_EPOCH_MS;
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

/// Width and height from a PNG header.
pub(super) fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return None;
    }
    let width = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let height = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((width, height))
}
