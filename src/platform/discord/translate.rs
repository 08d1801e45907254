//! Discord interactions in, core events out: the only place that knows interaction shapes.

use crate::core::event::{Actor, Body, Chat, ChatKind, Inbound, Platform};
use chrono::Utc;
use serenity::all::{
    ActionRowComponent, CommandInteraction, ComponentInteraction, ComponentInteractionDataKind,
    Member, MessageFlags, ModalInteraction, Permissions, User,
};

fn actor(user: &User, member: Option<&Member>, locale: &str) -> Actor {
    let mut a = Actor::new(Platform::Discord, user.id.get().to_string());
    a.display_name = Some(
        user.global_name
            .clone()
            .unwrap_or_else(|| user.name.clone()),
    );
    a.locale = Some(locale.to_string());
    if let Some(m) = member {
        a.roles = m.roles.iter().map(|r| r.get().to_string()).collect();
        a.is_admin = m
            .permissions
            .is_some_and(|p| p.contains(Permissions::ADMINISTRATOR));
        a.joined_at = m
            .joined_at
            .and_then(|t| chrono::DateTime::from_timestamp(t.unix_timestamp(), 0));
    }
    a
}

fn chat(channel: u64, guild: bool, private: bool) -> Chat {
    Chat {
        id: channel.to_string(),
        kind: if guild && !private {
            ChatKind::Group
        } else {
            ChatKind::Private
        },
        title: None,
    }
}

pub fn command(i: &CommandInteraction, text: String) -> Inbound {
    Inbound {
        event_id: format!("dc:{}", i.id.get()),
        actor: actor(&i.user, i.member.as_deref(), &i.locale),
        chat: chat(i.channel_id.get(), i.guild_id.is_some(), false),
        at: Utc::now(),
        body: Body::Text(text),
    }
}

/// What a component's `custom_id` asks for. Clients can send any string, so this never fails:
/// whatever is not ours is passed on as a button payload, which the core refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomId {
    /// "Write your answer": open a form allowing `max` characters (clamped to 1..=4000),
    /// headed by the question (its start: a custom id holds 100 characters). Display only:
    /// the submitted text answers the member's current question, whatever this says.
    Compose { max: u16, question: String },
    /// "Take the survey" in private: becomes `/start SURVEY`, parsed like any command.
    Take(String),
    /// A core button payload (`core::payload`), decoded strictly by the core.
    Payload(String),
}

/// Decodes a component's `custom_id`.
pub fn decode_custom_id(raw: &str) -> CustomId {
    if let Some(rest) = raw.strip_prefix("compose.") {
        let (max, question) = rest.split_once('.').unwrap_or((rest, ""));
        return CustomId::Compose {
            max: max.parse::<u16>().unwrap_or(500).clamp(1, 4000),
            question: question.to_string(),
        };
    }
    match raw.strip_prefix("take.") {
        Some(survey) => CustomId::Take(survey.to_string()),
        None => CustomId::Payload(raw.to_string()),
    }
}

/// A button or select on a message. Ephemeral messages are the member's private flow.
pub fn component(i: &ComponentInteraction) -> Inbound {
    let private = i
        .message
        .flags
        .is_some_and(|f| f.contains(MessageFlags::EPHEMERAL));
    let custom_id = &i.data.custom_id;
    let decoded = decode_custom_id(custom_id);
    let body = match &i.data.kind {
        // Select options carry the payload of the option picked.
        ComponentInteractionDataKind::StringSelect { values } => {
            Body::Button(values.first().cloned().unwrap_or_default())
        }
        _ => match &decoded {
            CustomId::Take(survey) => Body::Text(format!("/start {survey}")),
            CustomId::Compose { .. } | CustomId::Payload(_) => Body::Button(custom_id.clone()),
        },
    };
    let take = matches!(decoded, CustomId::Take(_));
    Inbound {
        event_id: format!("dc:{}", i.id.get()),
        actor: actor(&i.user, i.member.as_ref(), &i.locale),
        chat: chat(i.channel_id.get(), i.guild_id.is_some(), private || take),
        at: Utc::now(),
        body,
    }
}

/// A submitted "write your answer" modal: free text for the member's current question.
pub fn modal(i: &ModalInteraction) -> Inbound {
    let text = i
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default();
    Inbound {
        event_id: format!("dc:{}", i.id.get()),
        actor: actor(&i.user, i.member.as_ref(), &i.locale),
        chat: chat(i.channel_id.get(), i.guild_id.is_some(), true),
        at: Utc::now(),
        body: Body::Text(text),
    }
}
