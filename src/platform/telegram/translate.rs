//! Telegram updates in, core events out: the only place that knows Telegram's update shapes.

use crate::core::event::{Actor, Body, Chat, ChatKind, Inbound, Platform};
use teloxide::types::{Update, UpdateKind, User};

/// The inbound event of an update, with the callback query id when it is a tap.
pub(super) struct Translated {
    pub inbound: Inbound,
    pub callback_id: Option<String>,
}

fn actor(u: &User) -> Actor {
    let mut a = Actor::new(Platform::Telegram, u.id.0.to_string());
    a.display_name = Some(u.full_name());
    a.locale = u.language_code.clone();
    a
}

fn chat(c: &teloxide::types::Chat) -> Chat {
    Chat {
        id: c.id.0.to_string(),
        kind: if c.is_private() {
            ChatKind::Private
        } else {
            ChatKind::Group
        },
        title: c.title().map(str::to_string),
    }
}

/// Translates the updates canvass acts on; everything else is `None`.
pub(super) fn translate(update: &Update) -> Option<Translated> {
    let event_id = format!("tg:{}", update.id.0);
    match &update.kind {
        UpdateKind::Message(m) => {
            let from = m.from.as_ref()?;
            if from.is_bot {
                return None;
            }
            let text = m.text()?;
            Some(Translated {
                inbound: Inbound {
                    event_id,
                    actor: actor(from),
                    chat: chat(&m.chat),
                    body: Body::Text(text.to_string()),
                },
                callback_id: None,
            })
        }
        UpdateKind::CallbackQuery(q) => {
            let message = q.message.as_ref()?;
            Some(Translated {
                inbound: Inbound {
                    event_id,
                    actor: actor(&q.from),
                    chat: chat(message.chat()),
                    body: Body::Button(q.data.clone().unwrap_or_default()),
                },
                callback_id: Some(q.id.0.clone()),
            })
        }
        _ => None,
    }
}
