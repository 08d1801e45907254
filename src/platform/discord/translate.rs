//! Discord interactions in, core events out: the only place that knows interaction shapes.

use crate::core::event::{Actor, Body, Chat, ChatKind, Inbound, Platform};
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

pub(super) fn command(i: &CommandInteraction, text: String) -> Inbound {
    Inbound {
        event_id: format!("dc:{}", i.id.get()),
        actor: actor(&i.user, i.member.as_deref(), &i.locale),
        chat: chat(i.channel_id.get(), i.guild_id.is_some(), false),
        body: Body::Text(text),
    }
}

// Pure, so it is decoded in the core crate (and fuzzed there without serenity).
pub use crate::core::payload::{CustomId, decode_custom_id};

/// A button or select on a message. Ephemeral messages are the member's private flow.
pub(super) fn component(i: &ComponentInteraction) -> Inbound {
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
        body,
    }
}

/// A submitted "write your answer" modal: free text for the member's current question.
pub(super) fn modal(i: &ModalInteraction) -> Inbound {
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
        body: Body::Text(text),
    }
}
