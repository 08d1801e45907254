//! Discord's rules the fake enforces: message fields, embeds, components, modals and
//! command definitions, with Discord's `50035 Invalid Form Body` errors.

use super::*;

// ---- Discord rules -----------------------------------------------------------------------------

/// Sets content, embeds, components and allowed_mentions from the fields present.
pub(super) fn apply_fields(stored: &mut Stored, fields: &Value, at: &str) -> Result<(), ApiErr> {
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

pub(super) fn check_not_empty(stored: &Stored, fields: &Value) -> Result<(), ApiErr> {
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

pub(super) fn check_embeds(
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
pub(super) fn check_components(components: &Value, at: &str) -> Result<(), ApiErr> {
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

pub(super) fn check_component(item: &Value, at: &str) -> Result<(), ApiErr> {
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
pub(super) fn check_modal(data: &Value) -> Result<(), ApiErr> {
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

pub(super) fn command_type(command: &Value) -> u64 {
    command["type"].as_u64().unwrap_or(1)
}

/// Discord's rules for a command: names, descriptions, options.
pub(super) fn check_command(command: &Value, at: &str) -> Result<(), ApiErr> {
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

pub(super) fn check_options(options: &Value, at: &str, depth: usize) -> Result<(), ApiErr> {
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
pub(super) fn valid_name(name: &str, lowercase: bool) -> bool {
    let count = name.chars().count();
    (1..=32).contains(&count)
        && name.chars().all(|c| {
            let allowed =
                c.is_alphanumeric() || matches!(c, '-' | '_' | '\'') || (!lowercase && c == ' ');
            allowed && !(lowercase && c.is_uppercase())
        })
}
