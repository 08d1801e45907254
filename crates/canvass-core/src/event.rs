//! Platform-neutral events in and replies out. Adapters translate to and from these and
//! nothing else crosses the boundary.

use crate::core::ids::SurveyKey;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// Where a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Console,
    Telegram,
    Discord,
    /// Answers brought in by `canvass import`.
    Import,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Telegram => "telegram",
            Platform::Discord => "discord",
            Platform::Import => "import",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "console" => Some(Platform::Console),
            "telegram" => Some(Platform::Telegram),
            "discord" => Some(Platform::Discord),
            "import" => Some(Platform::Import),
            _ => None,
        }
    }
}

/// The person behind an event, as the platform describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub platform: Platform,
    pub user_id: String,
    pub display_name: Option<String>,
    /// Platform role ids (Discord); mapped to segments by config.
    pub roles: Vec<String>,
    /// Server administrator (Discord): counts as product team.
    pub is_admin: bool,
    /// Member's preferred language tag, where the platform tells.
    pub locale: Option<String>,
    /// When the member joined the community, where the platform tells (brigading checks).
    pub joined_at: Option<DateTime<Utc>>,
}

impl Actor {
    pub fn new(platform: Platform, user_id: impl Into<String>) -> Self {
        Self {
            platform,
            user_id: user_id.into(),
            display_name: None,
            roles: Vec::new(),
            is_admin: false,
            locale: None,
            joined_at: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Private,
    Group,
}

/// The conversation an event came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    pub id: String,
    pub kind: ChatKind,
    pub title: Option<String>,
}

/// What the member sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// A message; commands start with '/'.
    Text(String),
    /// A tapped button's payload, untrusted until decoded.
    Button(String),
}

/// One inbound event. `event_id` is the platform's own id (update id, interaction id) and is
/// the idempotency key: a redelivered event changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub event_id: String,
    pub actor: Actor,
    pub chat: Chat,
    pub body: Body,
}

/// A text to render: a template name from `prompts/` and the data it needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Msg {
    pub template: &'static str,
    pub data: Value,
    /// The reader's locale; `None` is the default. The bot sets it for every reply.
    pub locale: Option<String>,
    /// A reply the message asks for besides its buttons (set by the core, read by adapters
    /// that must offer a way to give it, such as Discord's form for a typed answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expects: Option<Expect>,
}

/// What kind of reply a message asks for, besides a tap on one of its buttons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// A typed answer to `question` (its text), of at most `max_chars` characters.
    FreeText { question: String, max_chars: usize },
}

impl Msg {
    pub fn new(template: &'static str, data: Value) -> Self {
        Self {
            template,
            data,
            locale: None,
            expects: None,
        }
    }

    /// The same message, asking for `expects` as its reply.
    pub fn expecting(mut self, expects: Expect) -> Self {
        self.expects = Some(expects);
        self
    }

    /// The same message for a reader in `locale`.
    pub fn in_locale(mut self, locale: &str) -> Self {
        self.locale = Some(locale.to_string());
        self
    }
}

/// A button's text: survey data shown as is, or a template (for "Undo", "Done", ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Label {
    Text(String),
    Template(Msg),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ButtonAction {
    /// Encoded [`super::payload::Payload`], at most 64 bytes.
    Payload(String),
    /// Open the private chat with the bot to take survey `survey` (its slug).
    DeepLink { survey: String },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Button {
    pub label: Label,
    pub action: ButtonAction,
}

/// Rows of buttons; the core keeps rows at most five wide, which suits every platform.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Keyboard {
    pub rows: Vec<Vec<Button>>,
}

impl Keyboard {
    /// Every templated button label, to set its locale.
    pub fn template_labels_mut(&mut self) -> impl Iterator<Item = &mut Msg> {
        self.rows
            .iter_mut()
            .flatten()
            .filter_map(|b| match &mut b.label {
                Label::Template(m) => Some(m),
                Label::Text(_) => None,
            })
    }
    pub fn is_empty(&self) -> bool {
        self.rows.iter().all(Vec::is_empty)
    }
    pub fn buttons(&self) -> impl Iterator<Item = &Button> {
        self.rows.iter().flatten()
    }
}

impl Outbound {
    /// Sets the locale of every member-facing text in this reply that has none yet.
    pub fn localise(&mut self, locale: &str) {
        let set = |m: &mut Msg| {
            if m.locale.is_none() {
                m.locale = Some(locale.to_string());
            }
        };
        match self {
            Outbound::Toast(m) => set(m),
            Outbound::Reply { msg, keyboard }
            | Outbound::Private { msg, keyboard }
            | Outbound::PostPoll { msg, keyboard, .. } => {
                set(msg);
                keyboard.template_labels_mut().for_each(set);
            }
            Outbound::File { caption, .. } => set(caption),
            Outbound::RefreshPolls { .. } | Outbound::Report { .. } | Outbound::Digest { .. } => {}
        }
    }
}

/// Where a report, digest or file goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum To {
    /// The chat the event came from.
    Chat,
    /// Only the actor: their private chat with the bot (Telegram), an ephemeral message
    /// (Discord).
    Private,
}

/// What the core asks an adapter to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Outbound {
    /// A short confirmation for the member who tapped (Telegram toast, Discord ephemeral).
    Toast(Msg),
    /// A message in the same chat.
    Reply { msg: Msg, keyboard: Keyboard },
    /// A message in the member's private chat.
    Private { msg: Msg, keyboard: Keyboard },
    /// Post survey `survey` as a new message in this chat; the adapter then records the
    /// posting with its message id so counters can be refreshed.
    PostPoll {
        survey: SurveyKey,
        msg: Msg,
        keyboard: Keyboard,
    },
    /// Counters on posted messages of this survey may have changed; adapters coalesce these.
    RefreshPolls { survey: SurveyKey },
    /// An insight report for the product team, rendered by the adapter for its platform,
    /// with the chart as a PNG when there is one.
    Report {
        report: Box<crate::insight::Report>,
        chart_png: Option<Vec<u8>>,
        to: To,
    },
    /// A digest posted on demand (`/digest`), rendered by the adapter, with its main chart.
    Digest {
        brief: Box<crate::insight::digest::Brief>,
        chart_png: Option<Vec<u8>>,
        to: To,
    },
    /// A file for the product team (CSV export, chart).
    File {
        name: String,
        mime: &'static str,
        bytes: Vec<u8>,
        caption: Msg,
        to: To,
    },
}

impl Outbound {
    /// The same reply for the actor only: chat messages, reports, digests and files go to
    /// their private chat; posted polls, toasts and refreshes stay what they are.
    pub fn privately(mut self) -> Self {
        if let Outbound::Reply { msg, keyboard } = self {
            return Outbound::Private { msg, keyboard };
        }
        if let Outbound::Report { to, .. }
        | Outbound::Digest { to, .. }
        | Outbound::File { to, .. } = &mut self
        {
            *to = To::Private;
        }
        self
    }
}
