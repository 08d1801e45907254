//! The `[section]` tables of bot.toml other than surveys and the persona question: storage,
//! team, privacy, segments, the platforms, digest and narrative, each with its defaults.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// SQLite file path (or `sqlite://path`).
    #[serde(default = "default_database")]
    pub database: String,
    /// Folder of template overrides; default `prompts` beside the config file.
    #[serde(default)]
    pub prompts: Option<String>,
}

fn default_database() -> String {
    "canvass.db".into()
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            database: default_database(),
            prompts: None,
        }
    }
}

/// Who may create, post and close surveys and read insights, per platform.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    #[serde(default)]
    pub console: Vec<String>,
    #[serde(default)]
    pub telegram: Vec<i64>,
    #[serde(default)]
    pub discord_users: Vec<u64>,
    #[serde(default)]
    pub discord_roles: Vec<u64>,
    /// Locale of insights, digests and posted polls (`en`, `de`, `es`, ...); default `en`.
    #[serde(default = "default_locale")]
    pub locale: String,
    /// Chats where team commands answer in the chat: Telegram chat ids and Discord channel
    /// ids (numbers), console chat names (text). Anywhere else team output goes privately.
    #[serde(default)]
    pub chats: Vec<TeamChat>,
}

// By hand, so a config without `[team]` gets the default locale and `locale = ""` is refused.
impl Default for TeamConfig {
    fn default() -> Self {
        Self {
            console: Vec::new(),
            telegram: Vec::new(),
            discord_users: Vec::new(),
            discord_roles: Vec::new(),
            locale: default_locale(),
            chats: Vec::new(),
        }
    }
}

/// A team chat: a Telegram chat id or Discord channel id, or a console chat name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(
    untagged,
    expecting = "a Telegram chat id or Discord channel id (a number), or a console chat name (text)"
)]
pub enum TeamChat {
    Id(i64),
    Name(String),
}

impl TeamChat {
    /// The chat id as adapters write it in `Chat::id`.
    pub fn as_chat_id(&self) -> String {
        match self {
            TeamChat::Id(n) => n.to_string(),
            TeamChat::Name(s) => s.clone(),
        }
    }
}

/// Where the anonymity key comes from: never the database.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// NAME of an environment variable holding the key; when set, `key_file` is not used.
    #[serde(default)]
    pub key_env: Option<String>,
    /// Key file, relative to the config file's folder; created (mode 0600) if missing.
    #[serde(default = "default_key_file")]
    pub key_file: String,
}

fn default_key_file() -> String {
    "canvass.key".into()
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            key_env: None,
            key_file: default_key_file(),
        }
    }
}

fn default_locale() -> String {
    crate::locale::DEFAULT.to_string()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentsConfig {
    /// Segments smaller than this are never shown.
    #[serde(default = "default_min_segment")]
    pub min_size: usize,
    /// Platform role id -> segment name.
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
    /// Chat or channel id -> segment name. Unmapped group chats get "chat: <title>".
    #[serde(default)]
    pub chats: BTreeMap<String, String>,
}

fn default_min_segment() -> usize {
    10
}

impl Default for SegmentsConfig {
    fn default() -> Self {
        Self {
            min_size: default_min_segment(),
            roles: BTreeMap::new(),
            chats: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// The member you are when the console starts.
    #[serde(default = "default_console_user")]
    pub user: String,
    /// Name of the simulated group chat.
    #[serde(default = "default_console_chat")]
    pub chat: String,
}

fn default_console_user() -> String {
    "alex".into()
}
fn default_console_chat() -> String {
    "community".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    pub token_env: String,
    #[serde(default = "default_telegram_api")]
    pub api_url: String,
    /// At most one edit of a poll message per this many milliseconds: Telegram allows about
    /// one message per second per chat, and edits count.
    #[serde(default = "default_refresh_ms")]
    pub poll_refresh_ms: u64,
}
fn default_refresh_ms() -> u64 {
    3000
}
fn default_telegram_api() -> String {
    "https://api.telegram.org".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    pub token_env: String,
    #[serde(default = "default_discord_api")]
    pub api_url: String,
    /// Register commands in these guilds; empty registers them globally.
    #[serde(default)]
    pub guilds: Vec<u64>,
    /// At most one edit of a posted poll message per this many milliseconds.
    #[serde(default = "default_refresh_ms")]
    pub poll_refresh_ms: u64,
}
fn default_discord_api() -> String {
    "https://discord.com".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestConfig {
    /// e.g. "mon 09:00"
    pub schedule: String,
    /// IANA zone, e.g. "Europe/Berlin".
    pub timezone: String,
    #[serde(default)]
    pub telegram_chats: Vec<i64>,
    #[serde(default)]
    pub discord_channels: Vec<u64>,
    /// Survey ids to include; empty means all.
    #[serde(default)]
    pub surveys: Vec<String>,
}

/// The optional model-written narrative: an OpenAI-compatible chat endpoint (a hosted API,
/// or Ollama, vLLM, llama.cpp on your own machine). Without this section nothing is sent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NarrativeConfig {
    /// The API root that `/chat/completions` is appended to, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub model: String,
    /// NAME of the environment variable holding the API key; none for a local server.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// The whole budget for one narrative, retry included: a slow endpoint costs at most this.
    #[serde(default = "default_narrative_timeout")]
    pub timeout_ms: u64,
    /// Longer replies are dropped.
    #[serde(default = "default_narrative_chars")]
    pub max_chars: usize,
}
fn default_narrative_timeout() -> u64 {
    20_000
}
fn default_narrative_chars() -> usize {
    1200
}
