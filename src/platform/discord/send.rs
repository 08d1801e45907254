//! Core replies out to Discord: Markdown text split at 2000 characters, components within
//! Discord's limits, no mentions ever, ephemeral where only the member should see it.

use crate::core::event::{ButtonAction, Keyboard, Msg};
use crate::render::{Renderer, Target, split};
use serde_json::json;
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption,
};

/// Discord's message limit.
pub const MAX_TEXT: usize = 2000;
const MAX_BUTTON_LABEL: usize = 80;
const MAX_SELECT_LABEL: usize = 100;

/// No @everyone, no roles, no users: member text never pings anyone.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .everyone(false)
        .all_users(false)
        .all_roles(false)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub fn markdown(renderer: &Renderer, msg: &Msg) -> String {
    renderer.render(Target::Markdown, msg).unwrap_or_else(|e| {
        tracing::error!(error = %e, template = msg.template, "template failed");
        "…".into()
    })
}

pub fn parts(text: &str) -> Vec<String> {
    split(text, MAX_TEXT, Target::Markdown)
}

fn custom_id(action: &ButtonAction) -> String {
    match action {
        ButtonAction::Payload(p) => p.clone(),
        ButtonAction::DeepLink { survey } => format!("take.{survey}"),
    }
}

/// Converts a core keyboard into at most 5 action rows. Short keyboards stay buttons (at
/// most 5 per row); option lists longer than that become one select menu, with control
/// buttons (Undo, Done, Skip) kept as a row under it.
pub fn components(
    renderer: &Renderer,
    kb: &Keyboard,
    extra: Option<CreateButton>,
    locale: Option<&str>,
) -> Vec<CreateActionRow> {
    let label = |b: &crate::core::event::Button| renderer.label(&b.label).unwrap_or_default();
    let is_control =
        |b: &crate::core::event::Button| matches!(&b.label, crate::core::event::Label::Template(_));
    let buttons: Vec<_> = kb.buttons().collect();
    let choices: Vec<_> = buttons.iter().filter(|b| !is_control(b)).collect();
    let controls: Vec<_> = buttons.iter().filter(|b| is_control(b)).collect();
    let mut rows = Vec::new();
    let fits = kb.rows.len() <= 4 && kb.rows.iter().all(|r| r.len() <= 5);
    if fits {
        for row in &kb.rows {
            let bs: Vec<CreateButton> = row
                .iter()
                .map(|b| {
                    CreateButton::new(custom_id(&b.action))
                        .label(truncate(&label(b), MAX_BUTTON_LABEL))
                        .style(if is_control(b) {
                            ButtonStyle::Secondary
                        } else {
                            ButtonStyle::Primary
                        })
                })
                .collect();
            if !bs.is_empty() {
                rows.push(CreateActionRow::Buttons(bs));
            }
        }
    } else {
        let options: Vec<CreateSelectMenuOption> = choices
            .iter()
            .take(25)
            .map(|b| {
                CreateSelectMenuOption::new(
                    truncate(&label(b), MAX_SELECT_LABEL),
                    custom_id(&b.action),
                )
            })
            .collect();
        if !options.is_empty() {
            let placeholder = renderer
                .render_in(Target::Plain, locale, "dc_select_placeholder", &json!({}))
                .unwrap_or_default();
            rows.push(CreateActionRow::SelectMenu(
                CreateSelectMenu::new("choose", CreateSelectMenuKind::String { options })
                    .placeholder(truncate(&placeholder, 150))
                    .min_values(1)
                    .max_values(1),
            ));
        }
        let bs: Vec<CreateButton> = controls
            .iter()
            .take(5)
            .map(|b| {
                CreateButton::new(custom_id(&b.action))
                    .label(truncate(&label(b), MAX_BUTTON_LABEL))
                    .style(ButtonStyle::Secondary)
            })
            .collect();
        if !bs.is_empty() {
            rows.push(CreateActionRow::Buttons(bs));
        }
    }
    if let Some(b) = extra {
        rows.push(CreateActionRow::Buttons(vec![b]));
    }
    rows.truncate(5);
    rows
}
