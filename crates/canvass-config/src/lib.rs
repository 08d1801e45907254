//! bot.toml: typed configuration. Unknown keys are rejected, errors name the key and line,
//! optional sections switch features on, and secrets come only from environment variables.

// The pure crate's modules under the paths this file has always used.
use canvass_core::{core, locale, schedule};

use crate::core::ids::{QuestionId, SurveyId, slugify};
use crate::core::survey::{
    DEFAULT_MIN_PER_VARIANT, DEFAULT_OPEN_TEXT_CHARS, DEFAULT_PAIRS_PER_MEMBER, DefinitionError,
    Question, QuestionKind, QuestionText, ResultsVisibility, Status, Survey, SurveyText,
    make_choices,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A configuration problem, phrased for the operator.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The io error is in the message and not a `source`, so `{:#}` does not repeat it.
    #[error("cannot read {path}: {}", plain_io(.error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{path}, line {line}: this line is not UTF-8 text (byte {byte} of the line); save the file as UTF-8"
    )]
    NotUtf8 {
        path: PathBuf,
        line: usize,
        byte: usize,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}, line {line}: {field}: {problem}")]
    Invalid {
        path: PathBuf,
        line: usize,
        field: String,
        problem: String,
    },
    #[error("environment variable {var} (named by {key}) is not set")]
    MissingSecret { var: String, key: String },
    /// More than one survey is wrong: each one's error, so a check lists them all at once.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - "))]
    Several(Vec<ConfigError>),
}

impl ConfigError {
    /// Each problem as its own sentence: one, or each of `Several`.
    pub fn messages(&self) -> Vec<String> {
        match self {
            ConfigError::Several(all) => all.iter().flat_map(ConfigError::messages).collect(),
            e => vec![e.to_string()],
        }
    }
}

/// A secret read from the environment; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

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

/// The persona question, asked once per member and reused across surveys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaConfig {
    pub question: String,
    pub options: Vec<OptionCfg>,
    /// The question and option labels in other locales: `[persona.locales.de]`, with
    /// `text` and `options.<id>` as in a survey question's translation.
    #[serde(default)]
    pub locales: BTreeMap<String, QuestionText>,
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

/// An option: a bare label, or an explicit id and label.
#[derive(Debug, Clone)]
pub enum OptionCfg {
    Label(String),
    Full { id: String, label: String },
}

// By hand rather than `untagged`: an unknown key (`colour`) is named in a plain sentence
// at its line instead of "did not match any variant".
impl<'de> Deserialize<'de> for OptionCfg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = OptionCfg;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an option: a label in quotes, or { id = \"...\", label = \"...\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OptionCfg, E> {
                Ok(OptionCfg::Label(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OptionCfg, A::Error> {
                use serde::de::Error as _;
                let (mut id, mut label) = (None, None);
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "id" => id = Some(map.next_value::<String>()?),
                        "label" => label = Some(map.next_value::<String>()?),
                        other => {
                            return Err(A::Error::custom(format!(
                                "unknown key `{other}` in an option: an option has only `id` and `label`"
                            )));
                        }
                    }
                }
                match (id, label) {
                    (Some(id), Some(label)) => Ok(OptionCfg::Full { id, label }),
                    (None, _) => Err(A::Error::custom(
                        "an option written as a table needs an `id` (and a `label`)",
                    )),
                    (_, None) => Err(A::Error::custom(
                        "an option written as a table needs a `label` (and an `id`)",
                    )),
                }
            }
        }
        d.deserialize_any(Visit)
    }
}

impl OptionCfg {
    fn into_pair(self) -> (Option<String>, String) {
        match self {
            OptionCfg::Label(l) => (None, l),
            OptionCfg::Full { id, label } => (Some(id), label),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    Single,
    Multi,
    Rating,
    Nps,
    Ranking,
    Pairwise,
    MessageTest,
    OpenText,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionCfg {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    pub text: String,
    #[serde(default)]
    pub optional: bool,
    pub options: Option<Vec<OptionCfg>>,
    pub max_choices: Option<usize>,
    pub scale: Option<u8>,
    pub low_label: Option<String>,
    pub high_label: Option<String>,
    pub top_k: Option<usize>,
    pub pairs_per_member: Option<usize>,
    pub min_per_variant: Option<usize>,
    pub max_chars: Option<usize>,
}

/// A timestamp written either as a TOML datetime or an RFC 3339 string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum TimeCfg {
    Toml(toml::value::Datetime),
    Text(String),
}

impl TimeCfg {
    fn parse(&self) -> Result<DateTime<Utc>, String> {
        let s = match self {
            TimeCfg::Toml(d) => d.to_string(),
            TimeCfg::Text(s) => s.clone(),
        };
        DateTime::parse_from_rfc3339(&s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| format!("{s:?} is not an RFC 3339 time with offset ({e})"))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyCfg {
    pub id: String,
    pub title: String,
    pub intro: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// Initial status; afterwards /post and /close decide.
    #[serde(default = "default_status")]
    pub status: String,
    pub opens_at: Option<TimeCfg>,
    pub closes_at: Option<TimeCfg>,
    #[serde(default)]
    pub results: Option<String>,
    /// Id of the previous run of a recurring survey, for "what changed".
    pub follows: Option<String>,
    /// Id of the question the report's headline is about.
    pub headline: Option<String>,
    pub questions: Vec<Spanned<QuestionCfg>>,
    /// The survey's wording in other locales: `[surveys.locales.de]`.
    #[serde(default)]
    pub locales: BTreeMap<String, SurveyText>,
}

fn default_status() -> String {
    "open".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    storage: StorageConfig,
    #[serde(default)]
    team: TeamConfig,
    #[serde(default)]
    segments: SegmentsConfig,
    #[serde(default)]
    privacy: PrivacyConfig,
    persona: Option<Spanned<PersonaConfig>>,
    console: Option<ConsoleConfig>,
    telegram: Option<TelegramConfig>,
    discord: Option<DiscordConfig>,
    digest: Option<DigestConfig>,
    narrative: Option<NarrativeConfig>,
    #[serde(default)]
    surveys: Vec<Spanned<SurveyCfg>>,
}

/// A survey from config with its initial status.
#[derive(Debug, Clone)]
pub struct ConfiguredSurvey {
    pub survey: Survey,
    pub status: Status,
    /// Translations by normalised locale tag.
    pub locales: BTreeMap<String, SurveyText>,
}

/// The validated persona question.
#[derive(Debug, Clone)]
pub struct Persona {
    pub question: Question,
    /// Translations by normalised locale tag.
    pub locales: BTreeMap<String, QuestionText>,
}

impl Persona {
    /// The question worded for `locale`, falling back to the default text.
    pub fn worded(&self, locale: &str) -> Question {
        self.question
            .localised(crate::locale::pick(locale, &self.locales))
    }
}

/// The whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub storage: StorageConfig,
    pub team: TeamConfig,
    pub segments: SegmentsConfig,
    pub privacy: PrivacyConfig,
    pub persona: Option<Persona>,
    pub console: Option<ConsoleConfig>,
    pub telegram: Option<TelegramConfig>,
    pub discord: Option<DiscordConfig>,
    pub digest: Option<DigestConfig>,
    pub narrative: Option<NarrativeConfig>,
    pub surveys: Vec<ConfiguredSurvey>,
    /// The text it was parsed from, for the lines of `problems`.
    source: Source,
}

#[derive(Clone)]
struct Source(std::sync::Arc<str>);

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes", self.0.len())
    }
}

/// An io error as a plain sentence, without the OS error number.
pub fn plain_io(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound => "there is no such file or folder".into(),
        K::PermissionDenied => "permission denied".into(),
        K::IsADirectory => "it is a folder, not a file".into(),
        _ => e.to_string(),
    }
}

/// `%`, `?` and `#` percent-encoded, so a file name goes into a SQLite URL unchanged.
fn encode_path(path: &str) -> String {
    path.replace('%', "%25")
        .replace('?', "%3F")
        .replace('#', "%23")
}

fn line_of(src: &str, offset: usize) -> usize {
    src.get(..offset.min(src.len()))
        .map(|s| s.bytes().filter(|b| *b == b'\n').count() + 1)
        .unwrap_or(1)
}

impl Config {
    /// `[storage] database`, with a relative file path taken from the config file's folder
    /// (not the working folder), so `--config /srv/canvass/bot.toml` finds its database from
    /// anywhere. `:memory:` and absolute paths are kept as they are.
    pub fn database(&self) -> String {
        let raw = self.storage.database.as_str();
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path == ":memory:" || path.starts_with(":memory:") {
            return raw.to_string();
        }
        // SQLite URL options (`?mode=rwc`) are the text after the first `?` the operator wrote.
        let (file, query) = match path.split_once('?') {
            Some((f, q)) => (f, Some(q)),
            None => (path, None),
        };
        let file = match self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) if !Path::new(file).is_absolute() => dir.join(file).display().to_string(),
            _ => file.to_string(),
        };
        // A file whose folder has `?` or `#` in its name (`/tmp/qu?mark/canvass.db`) must not
        // be read as a URL: the store reads a `?` as the start of URL options, so such a path
        // goes as a URL with its name percent-encoded (sqlx decodes it) and harmless options.
        match query {
            None if !file.contains('?') => file,
            None => format!("sqlite://{}?mode=rwc", encode_path(&file)),
            Some(q) => format!("sqlite://{}?{q}", encode_path(&file)),
        }
    }

    /// The database file as a path, without `sqlite://` and URL options; `None` in memory.
    pub fn database_file(&self) -> Option<PathBuf> {
        let raw = self.storage.database.as_str();
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.starts_with(":memory:") {
            return None;
        }
        let file = Path::new(path.split_once('?').map_or(path, |(f, _)| f));
        match self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) if file.is_relative() => Some(dir.join(file)),
            _ => Some(file.to_path_buf()),
        }
    }

    /// The template override folder: `[storage] prompts`, else `prompts`, relative to the
    /// config file's folder.
    pub fn prompts_dir(&self) -> PathBuf {
        let dir = Path::new(self.storage.prompts.as_deref().unwrap_or("prompts"));
        match self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(base) if dir.is_relative() => base.join(dir),
            _ => dir.to_path_buf(),
        }
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let src = String::from_utf8(bytes).map_err(|e| {
            let bytes = e.as_bytes();
            let bad = e.utf8_error().valid_up_to();
            let before = &bytes[..bad];
            let start = before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |i| i + 1);
            ConfigError::NotUtf8 {
                path: path.to_path_buf(),
                line: before.iter().filter(|b| **b == b'\n').count() + 1,
                byte: bad - start + 1,
            }
        })?;
        Self::parse(&src, path)
    }

    /// Parses config text; `path` is only used in messages. Every error names the line of
    /// the key it is about, and surveys and questions by their ids.
    pub fn parse(src: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(src).map_err(|e| {
            type_error(src, path, &e).unwrap_or_else(|| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string().trim_end().to_string(),
            })
        })?;
        let at = Locator::new(src);
        // `key` is a path into the file (`digest.surveys[1]`), `field` how the message names it.
        let invalid =
            |key: &str, fallback: usize, field: String, problem: String| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: at.line(key).unwrap_or_else(|| line_of(src, fallback)),
                field,
                problem,
            };

        let mut surveys = Vec::new();
        // Every wrong survey is reported, not only the first.
        let mut wrong = Vec::new();
        for (i, s) in raw.surveys.into_iter().enumerate() {
            let span = s.span().start;
            let key = format!("surveys[{i}]");
            let named = s.get_ref().id.clone();
            let qids = question_ids(s.get_ref());
            let (survey, status, locales) = match build_survey(s.into_inner()) {
                Ok(built) => built,
                Err(e) => {
                    wrong.push(invalid(
                        &format!("{key}.{}", e.field),
                        span,
                        survey_field(&named, &qids, &e.field),
                        e.problem,
                    ));
                    continue;
                }
            };
            if surveys
                .iter()
                .any(|c: &ConfiguredSurvey| c.survey.id == survey.id)
            {
                wrong.push(invalid(
                    &format!("{key}.id"),
                    span,
                    survey_field(&named, &qids, "id"),
                    format!("survey id {:?} is used twice", survey.id.as_str()),
                ));
                continue;
            }
            surveys.push(ConfiguredSurvey {
                survey,
                status,
                locales,
            });
        }
        match wrong.len() {
            0 => {}
            1 => return Err(wrong.remove(0)),
            _ => return Err(ConfigError::Several(wrong)),
        }

        let persona = match raw.persona {
            Some(p) => {
                let span = p.span().start;
                let p = p.into_inner();
                let named: Vec<(Option<String>, String)> = p
                    .options
                    .iter()
                    .cloned()
                    .map(OptionCfg::into_pair)
                    .collect();
                let fail = |e: DefinitionError| {
                    invalid(&e.field, span, persona_field(&e.field, &named), e.problem)
                };
                let options =
                    make_choices(p.options.into_iter().map(OptionCfg::into_pair).collect())
                        .map_err(|e| fail(e.within("persona")))?;
                let question = Question::new(
                    QuestionId::parse("persona")
                        .map_err(|e| fail(DefinitionError::new("persona", e.to_string())))?,
                    &p.question,
                    QuestionKind::Single { options },
                    false,
                )
                .map_err(|e| fail(e.within("persona")))?;
                // The id the bot stores for a member who declines the persona question.
                if let Some(k) = question
                    .kind
                    .options()
                    .iter()
                    .position(|o| o.id.as_str() == PERSONA_DECLINED_ID)
                {
                    return Err(fail(DefinitionError::new(
                        format!("persona.options[{k}].id"),
                        format!(
                            "{PERSONA_DECLINED_ID:?} is reserved for members who decline the question; choose another id"
                        ),
                    )));
                }
                let mut locales = BTreeMap::new();
                for (tag, text) in p.locales {
                    let field = format!("persona.locales.{tag}");
                    let Some(code) = config_tag(&tag) else {
                        return Err(fail(DefinitionError::new(field, NOT_A_TAG)));
                    };
                    text.validate(&question, &field).map_err(fail)?;
                    locales.insert(code, text);
                }
                Some(Persona { question, locales })
            }
            None => None,
        };

        // Settings of the other sections: the key's own line, the section and key as names.
        let setting = |key: &str, problem: String| invalid(key, 0, key.to_string(), problem);
        if raw.segments.min_size < 10 {
            return Err(setting(
                "segments.min_size",
                "must be at least 10: smaller segments are noisy and can identify people".into(),
            ));
        }
        // Platform ids: 0 is no user, role, guild or chat, and listing one twice is a slip.
        let ids = |v: &[u64]| v.iter().map(|n| *n as i128).collect::<Vec<_>>();
        let signed = |v: &[i64]| v.iter().map(|n| *n as i128).collect::<Vec<_>>();
        let mut lists = vec![
            (
                "team.telegram",
                signed(&raw.team.telegram),
                "a Telegram user id",
            ),
            (
                "team.discord_users",
                ids(&raw.team.discord_users),
                "a Discord user id",
            ),
            (
                "team.discord_roles",
                ids(&raw.team.discord_roles),
                "a Discord role id",
            ),
        ];
        if let Some(d) = &raw.discord {
            lists.push((
                "discord.guilds",
                ids(&d.guilds),
                "a Discord server (guild) id",
            ));
        }
        if let Some(d) = &raw.digest {
            lists.push((
                "digest.telegram_chats",
                signed(&d.telegram_chats),
                "a chat or channel id",
            ));
            lists.push((
                "digest.discord_channels",
                ids(&d.discord_channels),
                "a chat or channel id",
            ));
        }
        for (list, values, what) in lists {
            for (k, v) in values.iter().enumerate() {
                let problem = if *v == 0 {
                    format!(
                        "0 is not {what}: copy the id from the platform (Telegram groups are negative, e.g. -1001234567890)"
                    )
                } else if values[..k].contains(v) {
                    format!("{v} is listed twice")
                } else {
                    continue;
                };
                return Err(invalid(
                    &format!("{list}[{k}]"),
                    0,
                    list.to_string(),
                    problem,
                ));
            }
        }
        if let Some(d) = &raw.digest {
            for (k, id) in d.surveys.iter().enumerate() {
                if d.surveys[..k].contains(id) {
                    return Err(invalid(
                        &format!("digest.surveys[{k}]"),
                        0,
                        "digest.surveys".into(),
                        format!("{id:?} is listed twice"),
                    ));
                }
            }
        }
        if let Some(d) = &raw.digest {
            if let Err(e) = crate::schedule::Schedule::parse(&d.schedule, &d.timezone) {
                let key = match e {
                    crate::schedule::ScheduleError::Zone(_) => "digest.timezone",
                    crate::schedule::ScheduleError::Syntax(_) => "digest.schedule",
                };
                return Err(setting(key, e.to_string()));
            }
        }
        if let Some(n) = &raw.narrative {
            if let Err((key, problem)) = check_narrative(n) {
                return Err(setting(&format!("narrative.{key}"), problem));
            }
        }
        for (key, env) in [
            (
                "telegram.token_env",
                raw.telegram.as_ref().map(|t| &t.token_env),
            ),
            (
                "discord.token_env",
                raw.discord.as_ref().map(|d| &d.token_env),
            ),
        ] {
            if let Some(env) = env.filter(|e| !is_env_name(e)) {
                return Err(setting(
                    key,
                    format!(
                        "{env:?} must be the NAME of an environment variable (A-Z, 0-9, _), never the token itself"
                    ),
                ));
            }
        }

        for (key, url) in [
            (
                "telegram.api_url",
                raw.telegram.as_ref().map(|t| &t.api_url),
            ),
            ("discord.api_url", raw.discord.as_ref().map(|d| &d.api_url)),
        ] {
            if let Some(problem) = url.and_then(|u| http_url_problem(u)) {
                return Err(setting(key, problem));
            }
        }
        if let Err((key, problem)) = check_privacy(&raw.privacy) {
            return Err(setting(&format!("privacy.{key}"), problem));
        }
        if let Err(problem) = check_team_chats(&raw.team.chats) {
            return Err(setting("team.chats", problem));
        }
        if raw
            .storage
            .prompts
            .as_deref()
            .is_some_and(|p| p.trim().is_empty())
        {
            return Err(setting(
                "storage.prompts",
                "must name a folder, e.g. \"prompts\"".into(),
            ));
        }

        let mut team = raw.team;
        team.locale = config_tag(&team.locale)
            .ok_or_else(|| setting("team.locale", format!("{:?} {NOT_A_TAG}", team.locale)))?;

        Ok(Config {
            path: path.to_path_buf(),
            storage: raw.storage,
            team,
            segments: raw.segments,
            privacy: raw.privacy,
            persona,
            console: raw.console,
            telegram: raw.telegram,
            discord: raw.discord,
            digest: raw.digest,
            narrative: raw.narrative,
            surveys,
            source: Source(src.into()),
        })
    }

    /// What parses but will not work where this runs: a token variable that is not set
    /// (skipped when `offline`), an anonymity key `run` would refuse, a database folder that
    /// does not exist or `mode=ro`, a digest with no destination or one on a platform with no
    /// section, a digest survey that is not in the file. `canvass check` and a SIGHUP reload
    /// (with `offline` false) fail on these; `canvass run` warns about them at start.
    pub fn problems(&self, offline: bool) -> Vec<ConfigError> {
        let src = &*self.source.0;
        let at = Locator::new(src);
        let mut out = Vec::new();
        let mut flag = |key: &str, field: &str, problem: String| {
            out.push(ConfigError::Invalid {
                path: self.path.clone(),
                line: at.line(key).unwrap_or(1),
                field: field.to_string(),
                problem,
            })
        };
        let vars = [
            (
                "telegram.token_env",
                self.telegram.as_ref().map(|t| &t.token_env),
            ),
            (
                "discord.token_env",
                self.discord.as_ref().map(|d| &d.token_env),
            ),
            (
                "narrative.api_key_env",
                self.narrative.as_ref().and_then(|n| n.api_key_env.as_ref()),
            ),
            ("privacy.key_env", self.privacy.key_env.as_ref()),
        ];
        for (key, var) in vars.into_iter().filter(|_| !offline) {
            if let Some(var) = var.filter(|v| Self::secret(v, key).is_err()) {
                flag(
                    key,
                    key,
                    format!(
                        "the environment variable {var} is not set (or empty) here; set it, or check without secrets with `canvass check --offline`"
                    ),
                );
            }
        }
        // The anonymity key as `canvass run` reads it (src/privacy.rs): a set variable, else
        // the file, which run creates (in an existing folder) when it is missing.
        match &self.privacy.key_env {
            Some(var) => {
                let value = std::env::var(var).unwrap_or_default();
                let n = value.trim().len();
                if n > 0 && n < MIN_KEY_BYTES {
                    flag(
                        "privacy.key_env",
                        "privacy.key_env",
                        format!(
                            "the anonymity key in {var} is {n} bytes; it must be at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)"
                        ),
                    );
                }
            }
            None => {
                if let Some(problem) = key_file_problem(&self.key_file()) {
                    flag("privacy.key_file", "privacy.key_file", problem);
                }
            }
        }
        if let Some(problem) = self.database_problem() {
            flag("storage.database", "storage.database", problem);
        }
        // The default `prompts/` may be missing (the built-in templates serve); a named one not.
        if self.storage.prompts.is_some() {
            let dir = self.prompts_dir();
            if let Err(e) = std::fs::read_dir(&dir) {
                flag(
                    "storage.prompts",
                    "storage.prompts",
                    format!("cannot read the folder {}: {}", dir.display(), plain_io(&e)),
                );
            }
        }
        if let Some(d) = &self.digest {
            for (list, n, platform, on) in [
                (
                    "telegram_chats",
                    d.telegram_chats.len(),
                    "[telegram]",
                    self.telegram.is_some(),
                ),
                (
                    "discord_channels",
                    d.discord_channels.len(),
                    "[discord]",
                    self.discord.is_some(),
                ),
            ] {
                if n > 0 && !on {
                    let key = format!("digest.{list}");
                    flag(
                        &key,
                        &key,
                        format!(
                            "the digest cannot be posted there: this config has no {platform} section"
                        ),
                    );
                }
            }
            if d.telegram_chats.is_empty() && d.discord_channels.is_empty() {
                flag(
                    "digest",
                    "digest",
                    "no telegram_chats or discord_channels: the scheduled digest would be posted nowhere (`/digest` still shows it)".into(),
                );
            }
            for (k, id) in d.surveys.iter().enumerate() {
                if !self.surveys.iter().any(|s| s.survey.id.as_str() == id) {
                    flag(
                        &format!("digest.surveys[{k}]"),
                        "digest.surveys",
                        format!("{id:?} is not the id of a survey in this file"),
                    );
                }
            }
        }
        out
    }

    /// `[privacy] key_file`, relative to the config file's folder.
    pub fn key_file(&self) -> PathBuf {
        let file = Path::new(&self.privacy.key_file);
        match self.path.parent() {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file.to_path_buf(),
        }
    }

    /// Why the database cannot be used for answers: opened read-only, or in a folder that
    /// does not exist (run creates the file, not its folder).
    fn database_problem(&self) -> Option<String> {
        let raw = &self.storage.database;
        let query = raw.split_once('?').map(|(_, q)| q).unwrap_or("");
        if query.split('&').any(|kv| kv.trim() == "mode=ro") {
            return Some(format!(
                "{raw:?} opens the database read-only (mode=ro); canvass must save answers, so remove `mode=ro`"
            ));
        }
        let file = self.database_file()?;
        let dir = file.parent().filter(|d| !d.as_os_str().is_empty())?;
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => None,
            Ok(_) => Some(format!("{} is not a folder", dir.display())),
            Err(e) => Some(format!(
                "the folder {} of the database cannot be used: {}",
                dir.display(),
                plain_io(&e)
            )),
        }
    }

    /// Reads a token from the environment variable a section names.
    pub fn secret(var: &str, key: &str) -> Result<Secret, ConfigError> {
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret::new(v.trim())),
            _ => Err(ConfigError::MissingSecret {
                var: var.into(),
                key: key.into(),
            }),
        }
    }

    pub fn survey(&self, id: &SurveyId) -> Option<&ConfiguredSurvey> {
        self.surveys.iter().find(|s| &s.survey.id == id)
    }
}

/// Where keys are in the source, from toml's own spans: `surveys[2].questions[0].options` is
/// the line of that `options` key, `surveys[2]` the line of its `[[surveys]]` header. A path
/// that goes deeper than the file (a default, a derived id) stops at its deepest part there.
struct Locator<'a> {
    src: &'a str,
    root: Option<Spanned<toml::de::DeTable<'a>>>,
}

impl<'a> Locator<'a> {
    fn new(src: &'a str) -> Self {
        Self {
            src,
            root: toml::de::DeTable::parse(src).ok(),
        }
    }

    fn line(&self, path: &str) -> Option<usize> {
        use toml::de::DeValue;
        let mut table = self.root.as_ref()?.get_ref();
        let mut value: Option<&DeValue<'a>> = None;
        let mut found = None;
        for seg in path.split('.').flat_map(segments) {
            let next = match (seg, value) {
                (Seg::Key(k), None) | (Seg::Key(k), Some(DeValue::Table(_))) => {
                    if let Some(DeValue::Table(t)) = value {
                        table = t;
                    }
                    table
                        .iter()
                        .find(|(key, _)| key.get_ref().as_ref() == k)
                        .map(|(key, v)| (key.span().start, v))
                }
                (Seg::Index(i), Some(DeValue::Array(a))) => a.get(i).map(|v| (v.span().start, v)),
                _ => None,
            };
            let Some((offset, v)) = next else { break };
            found = Some(line_of(self.src, offset));
            value = Some(v.get_ref());
        }
        found
    }
}

#[derive(Clone, Copy)]
enum Seg<'p> {
    Key(&'p str),
    Index(usize),
}

/// `options[2]` → `options`, `2`; `[1]` → `1`.
fn segments(part: &str) -> Vec<Seg<'_>> {
    let (name, mut rest) = part.split_at(part.find('[').unwrap_or(part.len()));
    let mut out = Vec::new();
    if !name.is_empty() {
        out.push(Seg::Key(name));
    }
    while let Some((n, tail)) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        match n.parse() {
            Ok(i) => out.push(Seg::Index(i)),
            Err(_) => break,
        }
        rest = tail;
    }
    out
}

/// A value of the wrong type, an unknown key or variant in a file that is valid TOML, said as
/// the other errors are: its line, the survey and question by id, the key, plain words.
fn type_error(src: &str, path: &Path, e: &toml::de::Error) -> Option<ConfigError> {
    use toml::de::DeValue;
    let offset = e.span()?.start;
    let root = toml::de::DeTable::parse(src).ok()?;
    let str_of = |v: &DeValue<'_>| match v {
        DeValue::String(s) => Some(s.to_string()),
        _ => None,
    };
    // Down from the root to the deepest key or item the offset lies in.
    let mut parts: Vec<String> = Vec::new();
    let (mut survey, mut question): (Option<String>, Option<String>) = (None, None);
    let mut table = Some(root.get_ref());
    while let Some(t) = table.take() {
        // The last key before the offset: a `[[table]]`'s span is only its header line.
        let Some((key, value)) = t
            .iter()
            .filter(|(k, _)| k.span().start <= offset)
            .max_by_key(|(k, _)| k.span().start)
        else {
            break;
        };
        let name = key.get_ref().to_string();
        match value.get_ref() {
            DeValue::Table(inner) => {
                parts.push(name);
                table = Some(inner);
            }
            DeValue::Array(items) => {
                // The item the offset is in, else (a table array's items) the last one before it.
                let k = items
                    .iter()
                    .position(|v| v.span().contains(&offset))
                    .or_else(|| items.iter().rposition(|v| v.span().start <= offset));
                let Some(k) = k else {
                    parts.push(name);
                    break;
                };
                if let DeValue::Table(inner) = items[k].get_ref() {
                    let id = inner.get("id").and_then(|v| str_of(v.get_ref()));
                    match (parts.as_slice(), name.as_str()) {
                        ([], "surveys") => survey = Some(id.unwrap_or(format!("{}", k + 1))),
                        ([s], "questions") if s.starts_with("surveys") => {
                            let text = inner.get("text").and_then(|v| str_of(v.get_ref()));
                            question = Some(id.unwrap_or_else(|| {
                                slugify(text.as_deref().unwrap_or(""), &format!("q{}", k + 1))
                            }));
                        }
                        _ => {}
                    }
                    parts.push(format!("{name}[{k}]"));
                    table = Some(inner);
                } else {
                    parts.push(format!("{name}[{k}]"));
                }
            }
            _ => parts.push(name),
        }
    }
    let field = match (survey, question) {
        (Some(s), q) => {
            let mut named = vec![format!("survey {s:?}")];
            named.extend(q.map(|q| format!("question {q:?}")));
            let rest: Vec<&str> = parts
                .iter()
                .skip(1 + usize::from(named.len() > 1))
                .map(String::as_str)
                .collect();
            let rest = rest.join(".");
            match rest
                .strip_prefix("options[")
                .and_then(|r| r.split_once(']'))
                .and_then(|(n, _)| n.parse::<usize>().ok())
            {
                Some(k) => named.push(format!("option {}", k + 1)),
                None if !rest.is_empty() => named.push(rest),
                None => {}
            }
            named.join(", ")
        }
        (None, _) if !parts.is_empty() => parts.join("."),
        (None, _) => return None,
    };
    Some(ConfigError::Invalid {
        path: path.to_path_buf(),
        line: line_of(src, offset),
        field,
        problem: plain_serde(e.message()),
    })
}

/// serde's wording in plain words: `invalid type: string "500", expected usize` is
/// `must be a whole number, not the text "500"`.
fn plain_serde(message: &str) -> String {
    let message = message.trim();
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        if let Some((found, expected)) = rest.split_once(", expected ") {
            let expected = match expected.trim() {
                "usize" | "u64" | "u32" | "u16" | "u8" | "i64" | "i32" | "an integer"
                | "integer" => "a whole number".to_string(),
                "a boolean" => "true or false".to_string(),
                "a string" => "text in quotes".to_string(),
                "a sequence" => "a list in [ ]".to_string(),
                other => other.to_string(),
            };
            let found = match found.split_once(' ') {
                Some(("string", v)) => format!("the text {v}"),
                Some(("integer", v)) | Some(("float", v)) => {
                    format!("the number {}", v.trim_matches('`'))
                }
                Some(("boolean", v)) => v.trim_matches('`').to_string(),
                _ => match found {
                    "sequence" => "a list".to_string(),
                    "map" => "a table".to_string(),
                    other => other.to_string(),
                },
            };
            return format!("must be {expected}, not {found}");
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        if let Some((found, expected)) = rest.split_once(", expected one of ") {
            let one_of = expected.replace('`', "");
            return format!("{} is not one of {one_of}", found.replace('`', "\""));
        }
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        if let Some((found, expected)) = rest.split_once(", expected one of ") {
            return format!(
                "unknown key {found}; the keys here are {}",
                expected.replace('`', "")
            );
        }
        return format!("unknown key {}", rest.split(',').next().unwrap_or(rest));
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("{rest} is missing");
    }
    message.to_string()
}

/// The ids of a survey's questions as they will be, for naming them in errors.
fn question_ids(s: &SurveyCfg) -> Vec<String> {
    s.questions
        .iter()
        .enumerate()
        .map(|(j, q)| {
            let q = q.get_ref();
            q.id.clone()
                .unwrap_or_else(|| slugify(&q.text, &format!("q{}", j + 1)))
        })
        .collect()
}

/// A field inside a survey as a person names it: `questions[1].options[0].label` of survey
/// `pulse` is `survey "pulse", question "mood", option 1 label`.
fn survey_field(survey: &str, qids: &[String], field: &str) -> String {
    let mut parts = vec![format!("survey {survey:?}")];
    let mut rest = field;
    if let Some((j, tail)) = field
        .strip_prefix("questions[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(n, tail)| Some((n.parse::<usize>().ok()?, tail)))
    {
        parts.push(match qids.get(j) {
            Some(q) => format!("question {q:?}"),
            None => format!("question {}", j + 1),
        });
        rest = tail.trim_start_matches('.');
    }
    let option = rest
        .strip_prefix("options[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(n, tail)| Some((n.parse::<usize>().ok()?, tail)));
    match option {
        Some((k, tail)) => parts.push(
            format!("option {} {}", k + 1, tail.trim_start_matches('.'))
                .trim_end()
                .to_string(),
        ),
        None if !rest.is_empty() => parts.push(rest.to_string()),
        None => {}
    }
    parts.join(", ")
}

/// The option id stored for a member who declines the persona question (the bot's
/// `PERSONA_DECLINED_ID`); no configured persona option may use it.
pub const PERSONA_DECLINED_ID: &str = "prefer_not_to_say";

/// A persona field as a person names it: `persona.options[1].label` is
/// `persona, option 2 ("Designer"), label`, the option by its number and id or label.
fn persona_field(field: &str, options: &[(Option<String>, String)]) -> String {
    let Some((k, tail)) = field
        .strip_prefix("persona.options[")
        .and_then(|r| r.split_once(']'))
        .and_then(|(n, tail)| Some((n.parse::<usize>().ok()?, tail)))
    else {
        return field.to_string();
    };
    let name = options.get(k).map(|(id, label)| {
        let name = id.as_deref().unwrap_or(label.trim());
        let short: String = name.chars().take(40).collect();
        if short.len() < name.len() {
            format!("{short}…")
        } else {
            short
        }
    });
    let mut out = format!("persona, option {}", k + 1);
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        out.push_str(&format!(" ({name:?})"));
    }
    let tail = tail.trim_start_matches('.');
    if !tail.is_empty() {
        out.push_str(&format!(", {tail}"));
    }
    out
}

const NOT_A_TAG: &str = "is not a language tag such as en, de or pt-BR";

/// A locale tag in the config, normalised (`de_de` → `de-DE`); `None` unless it is
/// well-formed BCP 47: a 2-3 letter language, then optionally a 4-letter script, a region
/// (2 letters or 3 digits) and variants (5-8 letters or digits, or a digit and 3 more).
fn config_tag(tag: &str) -> Option<String> {
    let parts: Vec<&str> = tag.trim().split(['-', '_']).collect();
    let (lang, rest) = parts.split_first()?;
    if !(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    let alpha = |s: &str| s.chars().all(|c| c.is_ascii_alphabetic());
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mut stage = 0; // 1 script seen, 2 region seen, 3 variants
    for p in rest {
        let next = if stage < 1 && p.len() == 4 && alpha(p) {
            1
        } else if stage < 2 && ((p.len() == 2 && alpha(p)) || (p.len() == 3 && digits(p))) {
            2
        } else if ((5..=8).contains(&p.len()) && alnum(p))
            || (p.len() == 4 && p.starts_with(|c: char| c.is_ascii_digit()) && alnum(p))
        {
            3
        } else {
            return None;
        };
        stage = next;
    }
    crate::locale::normalise(tag)
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The `[privacy]` rules: which key is wrong and why.
fn check_privacy(p: &PrivacyConfig) -> Result<(), (&'static str, String)> {
    if let Some(env) = &p.key_env {
        if !is_env_name(env) {
            return Err((
                "key_env",
                format!(
                    "{env:?} must be the NAME of an environment variable (A-Z, 0-9, _), never the key itself"
                ),
            ));
        }
    }
    if p.key_file.trim().is_empty() {
        return Err(("key_file", "must name a file, e.g. \"canvass.key\"".into()));
    }
    Ok(())
}

/// The shortest anonymity key accepted, in bytes, as `canvass run` checks it.
pub const MIN_KEY_BYTES: usize = 32;

/// Why `canvass run` would refuse this key file: a folder, unreadable, too short, or missing
/// in a folder that does not exist (a missing file in an existing folder is created).
fn key_file_problem(path: &Path) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let n = String::from_utf8_lossy(&bytes).trim().len();
            (n < MIN_KEY_BYTES).then(|| {
                format!(
                    "the anonymity key in {} is {n} bytes; it must be at least {MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)",
                    path.display()
                )
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
            (!dir.is_dir()).then(|| {
                format!(
                    "{} cannot be created: the folder {} does not exist",
                    path.display(),
                    dir.display()
                )
            })
        }
        Err(e) => Some(format!("cannot read {}: {}", path.display(), plain_io(&e))),
    }
}

/// `[team] chats`: real ids, each once.
fn check_team_chats(chats: &[TeamChat]) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for c in chats {
        match c {
            TeamChat::Id(0) => {
                return Err(
                    "0 is not a chat id: list Telegram chat ids (groups are negative, e.g. -1001234567890) and Discord channel ids"
                        .into(),
                );
            }
            TeamChat::Name(n) if n.trim().is_empty() => {
                return Err("an empty name is not a chat: list chat or channel ids".into());
            }
            _ => {}
        }
        if !seen.insert(c.as_chat_id()) {
            return Err(format!("{} is listed twice", c.as_chat_id()));
        }
    }
    Ok(())
}

/// Why `url` is not an http(s) URL with a host, or `None`.
fn http_url_problem(url: &str) -> Option<String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => None,
        Ok(_) => Some(format!("{url:?} must be an http or https URL")),
        Err(_) => Some(format!("{url:?} is not a URL such as https://example.org")),
    }
}

/// The `[narrative]` rules: which key is wrong and why.
fn check_narrative(n: &NarrativeConfig) -> Result<(), (&'static str, String)> {
    match url::Url::parse(&n.base_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        Ok(_) => {
            return Err((
                "base_url",
                format!("{:?} must be an http or https URL", n.base_url),
            ));
        }
        Err(e) => return Err(("base_url", format!("{:?} is not a URL: {e}", n.base_url))),
    }
    if n.model.trim().is_empty() {
        return Err(("model", "must name the model, e.g. \"llama3.1\"".into()));
    }
    if let Some(env) = &n.api_key_env {
        if !is_env_name(env) {
            return Err((
                "api_key_env",
                format!(
                    "{env:?} must be the NAME of an environment variable (A-Z, 0-9, _), never the key itself"
                ),
            ));
        }
    }
    if !(100..=300_000).contains(&n.timeout_ms) {
        return Err((
            "timeout_ms",
            format!("{} must be between 100 and 300000", n.timeout_ms),
        ));
    }
    if !(200..=8000).contains(&n.max_chars) {
        return Err((
            "max_chars",
            format!("{} must be between 200 and 8000", n.max_chars),
        ));
    }
    Ok(())
}

/// A problem in a survey, its field named from the survey down (`questions[1].options`).
type BuildError = DefinitionError;

type Built = (Survey, Status, BTreeMap<String, SurveyText>);

fn build_survey(s: SurveyCfg) -> Result<Built, BuildError> {
    let id = SurveyId::parse(&s.id)
        .map_err(|e| DefinitionError::new("id", format!("{:?} {e}", s.id)))?;
    let status = Status::parse(&s.status).ok_or_else(|| {
        DefinitionError::new(
            "status",
            format!("{:?} is not one of draft, open, closed", s.status),
        )
    })?;
    let results = match s.results.as_deref() {
        None => ResultsVisibility::AfterClose,
        Some(r) => match ResultsVisibility::parse(r) {
            Some(v) => v,
            None => {
                return Err(DefinitionError::new(
                    "results",
                    format!("{r:?} is not one of {}", ResultsVisibility::NAMES),
                ));
            }
        },
    };
    let time = |field: &str, t: &Option<TimeCfg>| -> Result<Option<DateTime<Utc>>, BuildError> {
        t.as_ref()
            .map(|t| t.parse().map_err(|p| DefinitionError::new(field, p)))
            .transpose()
    };
    let follows = s
        .follows
        .as_deref()
        .map(|f| {
            SurveyId::parse(f).map_err(|e| DefinitionError::new("follows", format!("{f:?} {e}")))
        })
        .transpose()?;
    let headline = s
        .headline
        .as_deref()
        .map(|h| {
            QuestionId::parse(h).map_err(|e| DefinitionError::new("headline", format!("{h:?} {e}")))
        })
        .transpose()?;
    let opens_at = time("opens_at", &s.opens_at)?;
    let closes_at = time("closes_at", &s.closes_at)?;
    let mut questions = Vec::with_capacity(s.questions.len());
    for (i, q) in s.questions.into_iter().enumerate() {
        let q =
            build_question(q.into_inner(), i).map_err(|e| e.within(&format!("questions[{i}]")))?;
        questions.push(q);
    }
    let survey = Survey {
        id,
        title: s.title,
        intro: s.intro,
        questions,
        anonymous: s.anonymous,
        opens_at,
        closes_at,
        results,
        follows,
        headline,
    }
    .validated()?;
    let mut locales = BTreeMap::new();
    for (tag, text) in s.locales {
        let field = format!("locales.{tag}");
        let Some(code) = config_tag(&tag) else {
            return Err(DefinitionError::new(field, NOT_A_TAG));
        };
        text.validate(&survey).map_err(|e| e.within(&field))?;
        locales.insert(code, text);
    }
    Ok((survey, status, locales))
}

/// Turns one `[[surveys.questions]]` table into a validated question, rejecting settings that
/// do not apply to its type so a typo is not silently ignored.
pub fn build_question(q: QuestionCfg, index: usize) -> Result<Question, DefinitionError> {
    let id_raw =
        q.id.clone()
            .unwrap_or_else(|| slugify(&q.text, &format!("q{}", index + 1)));
    let id = QuestionId::parse(&id_raw)
        .map_err(|e| DefinitionError::new("id", format!("{id_raw:?} {e}")))?;
    let t = q.kind;
    let allowed: &[&str] = match t {
        QuestionType::Single => &["options"],
        QuestionType::Multi => &["options", "max_choices"],
        QuestionType::Rating => &["scale", "low_label", "high_label"],
        QuestionType::Nps => &["low_label", "high_label"],
        QuestionType::Ranking => &["options", "top_k"],
        QuestionType::Pairwise => &["options", "pairs_per_member"],
        QuestionType::MessageTest => &["options", "min_per_variant"],
        QuestionType::OpenText => &["max_chars"],
    };
    let present = [
        ("options", q.options.is_some()),
        ("max_choices", q.max_choices.is_some()),
        ("scale", q.scale.is_some()),
        ("low_label", q.low_label.is_some()),
        ("high_label", q.high_label.is_some()),
        ("top_k", q.top_k.is_some()),
        ("pairs_per_member", q.pairs_per_member.is_some()),
        ("min_per_variant", q.min_per_variant.is_some()),
        ("max_chars", q.max_chars.is_some()),
    ];
    for (name, is) in present {
        if is && !allowed.contains(&name) {
            return Err(DefinitionError::new(
                name,
                format!("does not apply to a {} question", type_name(t)),
            ));
        }
    }
    let options = || -> Result<_, DefinitionError> {
        let raw = q
            .options
            .clone()
            .ok_or_else(|| DefinitionError::new("options", "is required for this type"))?;
        make_choices(raw.into_iter().map(OptionCfg::into_pair).collect())
    };
    let label = |v: &Option<String>, default: &str| v.clone().unwrap_or_else(|| default.into());
    let kind = match t {
        QuestionType::Single => QuestionKind::Single {
            options: options()?,
        },
        QuestionType::Multi => {
            let options = options()?;
            QuestionKind::Multi {
                max_choices: q.max_choices.unwrap_or(options.len()),
                options,
            }
        }
        QuestionType::Rating => QuestionKind::Rating {
            scale: q.scale.unwrap_or(5),
            low_label: label(&q.low_label, "Not at all"),
            high_label: label(&q.high_label, "Very much"),
        },
        QuestionType::Nps => QuestionKind::Nps {
            low_label: label(&q.low_label, "Not at all likely"),
            high_label: label(&q.high_label, "Extremely likely"),
        },
        QuestionType::Ranking => QuestionKind::Ranking {
            options: options()?,
            top_k: q.top_k,
        },
        QuestionType::Pairwise => {
            let options = options()?;
            let all = options.len() * options.len().saturating_sub(1) / 2;
            QuestionKind::Pairwise {
                pairs_per_member: q
                    .pairs_per_member
                    .unwrap_or(DEFAULT_PAIRS_PER_MEMBER.min(all.max(1))),
                options,
            }
        }
        QuestionType::MessageTest => QuestionKind::MessageTest {
            options: options()?,
            min_per_variant: q.min_per_variant.unwrap_or(DEFAULT_MIN_PER_VARIANT),
        },
        QuestionType::OpenText => QuestionKind::OpenText {
            max_chars: q.max_chars.unwrap_or(DEFAULT_OPEN_TEXT_CHARS),
        },
    };
    Question::new(id, &q.text, kind, q.optional)
}

fn type_name(t: QuestionType) -> &'static str {
    match t {
        QuestionType::Single => "single",
        QuestionType::Multi => "multi",
        QuestionType::Rating => "rating",
        QuestionType::Nps => "nps",
        QuestionType::Ranking => "ranking",
        QuestionType::Pairwise => "pairwise",
        QuestionType::MessageTest => "message_test",
        QuestionType::OpenText => "open_text",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Config, ConfigError> {
        Config::parse(src, Path::new("bot.toml"))
    }

    const OK: &str = r#"
[team]
console = ["pm"]

[[surveys]]
id = "next"
title = "Next"

[[surveys.questions]]
id = "feature"
type = "single"
text = "Which?"
options = ["Dark mode", { id = "sync", label = "Offline sync" }]
"#;

    #[test]
    fn parses_a_minimal_config() {
        let c = parse(OK).unwrap();
        assert_eq!(c.surveys.len(), 1);
        let q = &c.surveys[0].survey.questions[0];
        let ids: Vec<_> = q.kind.options().iter().map(|o| o.id.as_str()).collect();
        assert_eq!(ids, ["dark-mode", "sync"]);
        assert!(c.telegram.is_none());
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let src = OK.replace("[team]", "[team]\nconsoel = [\"x\"]");
        let err = parse(&src).unwrap_err().to_string();
        assert!(err.contains("consoel"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn invalid_question_names_field_and_line() {
        let src = OK.replace("type = \"single\"", "type = \"single\"\nscale = 5");
        let err = parse(&src).unwrap_err().to_string();
        assert!(
            err.contains("survey \"next\", question \"feature\", scale"),
            "{err}"
        );
        assert!(err.contains("line 12"), "{err}");
        let long = OK.replace("Dark mode", &"D".repeat(81));
        let err = parse(&long).unwrap_err().to_string();
        assert!(err.contains("option 1 label"), "{err}");
    }

    /// The 1-based line of the first line of `src` containing `needle`.
    fn line_with(src: &str, needle: &str) -> usize {
        src.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect("needle in source")
    }

    /// Asserts the error names `line` (and only that line) and says each of `says`.
    fn assert_at(err: &ConfigError, line: usize, says: &[&str]) {
        let text = err.to_string();
        assert!(
            text.contains(&format!(", line {line}:")),
            "want line {line}: {text}"
        );
        for s in says {
            assert!(text.contains(s), "want {s:?}: {text}");
        }
    }

    const TWO: &str = r#"
[team]
console = ["pm"]

[[surveys]]
id = "first"
title = "First"
[[surveys.questions]]
id = "q"
type = "single"
text = "Which?"
options = ["A", "B"]

[[surveys]]
id = "pulse"
title = "Pulse"

[[surveys.questions]]
id = "mood"
type = "single"
text = "How are you?"
options = [
  "Fine",
  "Good",
]

[[surveys.questions]]
id = "other"
type = "open_text"
text = "Anything else?"
"#;

    #[test]
    fn a_too_long_label_is_reported_at_its_own_line_by_survey_and_question_id() {
        let src = TWO.replace("\"Good\"", &format!("\"{}\"", "G".repeat(81)));
        let err = parse(&src).unwrap_err();
        assert_at(
            &err,
            line_with(&src, "GGGG"),
            &[
                "survey \"pulse\", question \"mood\", option 2 label",
                "81 characters",
            ],
        );
        assert!(!err.to_string().contains("surveys["), "{err}");
    }

    #[test]
    fn a_duplicate_question_id_is_reported_at_the_second_id_key() {
        let src = TWO.replace("id = \"other\"", "id = \"mood\"");
        let err = parse(&src).unwrap_err();
        let second = src.match_indices("id = \"mood\"").nth(1).expect("twice").0;
        let line = src[..second].lines().count() + 1;
        assert_at(
            &err,
            line,
            &["survey \"pulse\", question \"mood\", id", "used twice"],
        );
    }

    #[test]
    fn a_duplicate_survey_id_is_reported_at_the_second_id_key() {
        let src = TWO.replace("id = \"pulse\"", "id = \"first\"");
        let err = parse(&src).unwrap_err();
        let second = src.match_indices("id = \"first\"").nth(1).expect("twice").0;
        let line = src[..second].lines().count() + 1;
        assert_at(&err, line, &["survey \"first\", id", "used twice"]);
    }

    #[test]
    fn an_unset_telegram_token_variable_is_an_error_unless_offline() {
        let var = "CANVASS_TEST_UNSET_TOKEN_7F3A";
        let src = format!("{TWO}\n[telegram]\ntoken_env = \"{var}\"\n");
        let c = parse(&src).unwrap();
        let problems = c.problems(false);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_at(
            &problems[0],
            line_with(&src, "token_env"),
            &["telegram.token_env", var, "--offline"],
        );
        assert!(c.problems(true).is_empty());
    }

    #[test]
    fn digest_destinations_on_a_platform_without_its_section_are_errors() {
        let src = format!(
            "{TWO}\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"UTC\"\ntelegram_chats = [-100123]\ndiscord_channels = [42]\n"
        );
        let problems = parse(&src).unwrap().problems(true);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_at(
            &problems[0],
            line_with(&src, "telegram_chats"),
            &["digest.telegram_chats", "no [telegram] section"],
        );
        assert_at(
            &problems[1],
            line_with(&src, "discord_channels"),
            &["digest.discord_channels", "no [discord] section"],
        );
        let with = format!("{src}\n[telegram]\ntoken_env = \"T\"\n[discord]\ntoken_env = \"D\"\n");
        assert!(parse(&with).unwrap().problems(true).is_empty());
    }

    #[test]
    fn a_digest_survey_that_is_not_in_the_file_is_an_error_at_its_line() {
        let src = format!(
            "{TWO}\n[telegram]\ntoken_env = \"T\"\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"UTC\"\ntelegram_chats = [-1]\nsurveys = [\n  \"pulse\",\n  \"no-such-survey\",\n]\n"
        );
        let problems = parse(&src).unwrap().problems(true);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_at(
            &problems[0],
            line_with(&src, "\"no-such-survey\""),
            &[
                "digest.surveys",
                "\"no-such-survey\" is not the id of a survey",
            ],
        );
    }

    #[test]
    fn a_zero_digest_channel_is_an_error_at_its_line() {
        let src = format!(
            "{TWO}\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"UTC\"\ndiscord_channels = [0]\n"
        );
        let err = parse(&src).unwrap_err();
        assert_at(
            &err,
            line_with(&src, "discord_channels"),
            &["digest.discord_channels", "0 is not a chat or channel id"],
        );
        let src = src.replace("discord_channels", "telegram_chats");
        let err = parse(&src).unwrap_err();
        assert_at(
            &err,
            line_with(&src, "telegram_chats"),
            &["digest.telegram_chats"],
        );
    }

    #[test]
    fn a_bad_discord_token_env_is_reported_at_its_own_line_not_telegrams() {
        let src = format!(
            "{TWO}\n[telegram]\ntoken_env = \"CANVASS_TELEGRAM_TOKEN\"\n\n[discord]\ntoken_env = \"MTIz.abc\"\n"
        );
        let err = parse(&src).unwrap_err();
        assert_at(
            &err,
            line_with(&src, "MTIz.abc"),
            &["discord.token_env", "NAME of an environment variable"],
        );
    }

    #[test]
    fn a_locale_that_is_not_a_language_tag_is_rejected_at_its_line() {
        let with = |tag: &str| {
            TWO.replace(
                "console = [\"pm\"]",
                &format!("console = [\"pm\"]\nlocale = \"{tag}\""),
            )
        };
        let src = with("xx_YY_zz!");
        let err = parse(&src).unwrap_err();
        assert_at(
            &err,
            line_with(&src, "locale ="),
            &["team.locale", "\"xx_YY_zz!\" is not a language tag"],
        );
        for bad in ["xx-YY-zz", "e", "english", "de-DE-", "12"] {
            assert!(parse(&with(bad)).is_err(), "{bad} accepted");
        }
        for (good, is) in [
            ("pt_br", "pt-BR"),
            ("de", "de"),
            ("es-419", "es-419"),
            ("zh-Hant-TW", "zh"),
        ] {
            assert_eq!(parse(&with(good)).unwrap().team.locale, is, "{good}");
        }
        // A survey translation's tag too, at its own table's line.
        let src = format!("{TWO}\n[surveys.locales.\"de!\"]\ntitle = \"Puls\"\n");
        let err = parse(&src).unwrap_err();
        assert_at(
            &err,
            line_with(&src, "de!"),
            &["survey \"pulse\", locales.de!"],
        );
    }

    #[test]
    fn invalid_utf8_is_a_plain_sentence_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.toml");
        let mut bytes = TWO.as_bytes().to_vec();
        let at = TWO.find("Pulse").unwrap();
        bytes.splice(at..at + 1, [0xff]);
        std::fs::write(&path, &bytes).unwrap();
        let err = Config::load(&path).unwrap_err();
        assert_at(
            &err,
            line_with(TWO, "title = \"Pulse\""),
            &["not UTF-8", "byte 10"],
        );
    }

    #[test]
    fn a_missing_file_is_named_once_in_plain_words() {
        let err = Config::load(Path::new("/no/such/dir/bot.toml")).unwrap_err();
        let chain = format!("{:#}", anyhow::Error::from(err));
        assert_eq!(
            chain,
            "cannot read /no/such/dir/bot.toml: there is no such file or folder"
        );
    }

    #[test]
    fn a_prompts_folder_named_in_the_config_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.toml");
        let src = format!("[storage]\nprompts = \"templates\"\n{TWO}");
        let c = Config::parse(&src, &path).unwrap();
        assert_eq!(c.prompts_dir(), dir.path().join("templates"));
        let problems = c.problems(true);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_at(
            &problems[0],
            2,
            &["storage.prompts", "there is no such file or folder"],
        );
        let chain = format!(
            "{:#}",
            anyhow::Error::from(problems.into_iter().next().unwrap())
        );
        assert_eq!(chain.matches("no such file").count(), 1, "{chain}");
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        assert!(c.problems(true).is_empty());
    }

    #[test]
    fn narrative_section_is_optional_and_validated_with_lines() {
        assert!(parse(OK).unwrap().narrative.is_none());
        let good = format!(
            "{OK}\n[narrative]\nbase_url = \"http://127.0.0.1:11434/v1\"\nmodel = \"llama3.1\"\n"
        );
        let n = parse(&good).unwrap().narrative.unwrap();
        assert_eq!(
            (n.timeout_ms, n.max_chars, n.api_key_env),
            (20_000, 1200, None)
        );
        let bad = good.replace("model = \"llama3.1\"", "model = \"m\"\ntimeout_ms = 5");
        let err = parse(&bad).unwrap_err().to_string();
        assert!(err.contains("narrative.timeout_ms"), "{err}");
        assert!(err.contains("line 18"), "{err}");
        // max_chars also exists on open-text questions: the line is the narrative's.
        let bad = good.replace("model = \"llama3.1\"", "model = \"m\"\nmax_chars = 5");
        let err = parse(&bad).unwrap_err().to_string();
        assert!(
            err.contains("narrative.max_chars") && err.contains("line 18"),
            "{err}"
        );
        let bad = good.replace("http://127.0.0.1:11434/v1", "localhost");
        let err = parse(&bad).unwrap_err().to_string();
        assert!(
            err.contains("narrative.base_url") && err.contains("line 16"),
            "{err}"
        );
        let bad = format!("{good}api_key_env = \"sk-live-123\"\n");
        let err = parse(&bad).unwrap_err().to_string();
        assert!(err.contains("narrative.api_key_env"), "{err}");
        let bad = format!("{good}temperature = 1\n");
        let err = parse(&bad).unwrap_err().to_string();
        assert!(err.contains("temperature"), "{err}");
    }

    #[test]
    fn token_must_be_an_env_var_name() {
        let src = format!("{OK}\n[telegram]\ntoken_env = \"123:ABC\"\n");
        let err = parse(&src).unwrap_err().to_string();
        assert!(err.contains("telegram.token_env"), "{err}");
        assert!(!format!("{:?}", Secret::new("123:ABC")).contains("ABC"));
    }

    #[test]
    fn team_chats_are_ids_or_console_names_each_once() {
        let with = |chats: &str| {
            OK.replace(
                "console = [\"pm\"]",
                &format!("console = [\"pm\"]\nchats = {chats}"),
            )
        };
        let c = parse(&with("[-1001234567890, 123456789012345678, \"team-room\"]")).unwrap();
        let ids: Vec<String> = c.team.chats.iter().map(TeamChat::as_chat_id).collect();
        assert_eq!(ids, ["-1001234567890", "123456789012345678", "team-room"]);
        for (bad, says) in [
            ("[0]", "0 is not a chat id"),
            ("[5, 5]", "5 is listed twice"),
            ("[\"\"]", "empty name"),
        ] {
            let err = parse(&with(bad)).unwrap_err().to_string();
            assert!(
                err.contains("team.chats") && err.contains(says),
                "{bad}: {err}"
            );
            assert!(err.contains("line 4"), "{bad}: {err}");
        }
        let err = parse(&with("[1.5]")).unwrap_err().to_string();
        assert!(
            err.contains("Telegram chat id or Discord channel id"),
            "{err}"
        );
    }

    #[test]
    fn privacy_defaults_to_a_key_file_and_names_bad_keys() {
        let c = parse(OK).unwrap();
        assert_eq!(
            (c.privacy.key_env, c.privacy.key_file.as_str()),
            (None, "canvass.key")
        );
        let err = parse(&format!("{OK}\n[privacy]\nkey_env = \"sk-secret-value\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("privacy.key_env") && err.contains("NAME"),
            "{err}"
        );
        let err = parse(&format!("{OK}\n[privacy]\nkey_file = \" \"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("privacy.key_file"), "{err}");
        let err = parse(&format!("{OK}\n[privacy]\nsalt = \"x\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("salt"), "{err}");
    }

    #[test]
    fn unknown_keys_in_option_tables_are_rejected_at_their_line() {
        let src = OK.replace(
            "label = \"Offline sync\"",
            "label = \"Offline sync\", colour = \"red\"",
        );
        let err = parse(&src).unwrap_err().to_string();
        assert!(err.contains("unknown key `colour`"), "{err}");
        assert!(
            err.contains(&format!("line {}", line_with(&src, "colour"))),
            "{err}"
        );
        let src = format!(
            "{OK}\n[persona]\nquestion = \"Role?\"\noptions = [{{ id = \"dev\", label = \"Dev\", emoji = \"x\" }}, \"PM\"]\n"
        );
        let err = parse(&src).unwrap_err().to_string();
        assert!(err.contains("unknown key `emoji`"), "{err}");
        assert!(
            err.contains(&format!("line {}", line_with(&src, "emoji"))),
            "{err}"
        );
        // An option table without a label is named too, not "did not match any variant".
        let err = parse(&OK.replace(", label = \"Offline sync\"", ""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("needs a `label`"), "{err}");
    }

    #[test]
    fn persona_options_are_named_by_number_and_id_and_the_declined_id_is_reserved() {
        let persona = |options: &str| {
            format!("{OK}\n[persona]\nquestion = \"Role?\"\noptions = [\n  {options}\n]\n")
        };
        let src = persona("\"Dev\",\n  { id = \"prefer_not_to_say\", label = \"No\" }");
        let err = parse(&src).unwrap_err();
        assert_at(
            &err,
            line_with(&src, "prefer_not_to_say"),
            &["persona, option 2 (\"prefer_not_to_say\")", "reserved"],
        );
        let src = persona(&format!(
            "\"Dev\",\n  {{ id = \"pm\", label = \"{}\" }}",
            "L".repeat(200)
        ));
        let err = parse(&src).unwrap_err().to_string();
        assert!(err.contains("persona, option 2 (\"pm\"), label"), "{err}");
        assert!(!err.contains("options[1]"), "{err}");
    }

    #[test]
    fn zero_and_repeated_platform_ids_and_an_empty_locale_are_refused_once() {
        for (section, list) in [
            ("[team]\nconsole = [\"pm\"]", "telegram"),
            ("[team]\nconsole = [\"pm\"]", "discord_users"),
            ("[team]\nconsole = [\"pm\"]", "discord_roles"),
            ("[discord]\ntoken_env = \"D\"", "guilds"),
        ] {
            let head = OK.replace("[team]\nconsole = [\"pm\"]", "");
            let src = format!("{section}\n{list} = [5, 0]\n{head}");
            let err = parse(&src).unwrap_err();
            let key = format!("{}.{list}", &section[1..section.find(']').unwrap()]);
            assert_at(
                &err,
                line_with(&src, &format!("{list} = ")),
                &[&key, "0 is not"],
            );
            let src = format!("{section}\n{list} = [5, 5]\n{head}");
            let err = parse(&src).unwrap_err();
            assert_at(
                &err,
                line_with(&src, &format!("{list} = ")),
                &[&key, "5 is listed twice"],
            );
        }
        let digest = |lists: &str| {
            format!(
                "{TWO}\n[telegram]\ntoken_env = \"T\"\n[digest]\nschedule = \"mon 09:00\"\ntimezone = \"UTC\"\n{lists}\n"
            )
        };
        let err = parse(&digest("telegram_chats = [5, 5]"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("digest.telegram_chats: 5 is listed twice"),
            "{err}"
        );
        // An unknown survey listed twice is one error, not two.
        let err = parse(&digest("telegram_chats = [5]\nsurveys = [\"x\", \"x\"]")).unwrap_err();
        assert!(err.to_string().contains("\"x\" is listed twice"), "{err}");
        let ok = parse(&digest("telegram_chats = [5]\nsurveys = [\"pulse\"]")).unwrap();
        assert!(ok.problems(true).is_empty(), "{:?}", ok.problems(true));
        // A digest with nowhere to go fails check (and is warned about at run).
        let nowhere = parse(&digest("")).unwrap().problems(true);
        assert_eq!(nowhere.len(), 1, "{nowhere:?}");
        assert!(
            nowhere[0].to_string().contains("posted nowhere"),
            "{}",
            nowhere[0]
        );

        let err = parse(&OK.replace("[team]", "[team]\nlocale = \"\"")).unwrap_err();
        assert!(err.to_string().contains("team.locale"), "{err}");
        assert_eq!(parse(OK).unwrap().team.locale, "en");
        assert_eq!(parse("").unwrap().team.locale, "en");
    }

    #[test]
    fn api_urls_must_be_http_and_the_database_writable_in_an_existing_folder() {
        for section in ["telegram", "discord"] {
            for (url, says) in [
                ("not a url", "is not a URL"),
                ("ftp://x.org", "http or https"),
            ] {
                let src = format!("{OK}\n[{section}]\ntoken_env = \"T\"\napi_url = \"{url}\"\n");
                let err = parse(&src).unwrap_err();
                assert_at(
                    &err,
                    line_with(&src, "api_url"),
                    &[&format!("{section}.api_url"), says],
                );
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let at = |extra: &str| {
            Config::parse(&format!("{OK}{extra}"), &dir.path().join("bot.toml"))
                .unwrap()
                .problems(true)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert!(at("").is_empty(), "{:?}", at(""));
        let p = at("\n[storage]\ndatabase = \"nodir/u5.db\"\n");
        assert!(p.len() == 1 && p[0].contains("storage.database"), "{p:?}");
        let p = at("\n[storage]\ndatabase = \"sqlite://canvass.db?mode=ro\"\n");
        assert!(p.len() == 1 && p[0].contains("mode=ro"), "{p:?}");
        std::fs::create_dir(dir.path().join("kdir")).unwrap();
        std::fs::write(dir.path().join("short.key"), "abc").unwrap();
        std::fs::write(dir.path().join("good.key"), "k".repeat(64)).unwrap();
        for (file, says) in [
            ("nodir/k.key", "does not exist"),
            ("kdir", "it is a folder"),
            ("short.key", "is 3 bytes; it must be at least 32"),
        ] {
            let p = at(&format!("\n[privacy]\nkey_file = \"{file}\"\n"));
            assert!(
                p.len() == 1 && p[0].contains("privacy.key_file") && p[0].contains(says),
                "{file}: {p:?}"
            );
        }
        assert!(at("\n[privacy]\nkey_file = \"good.key\"\n").is_empty());
    }

    #[test]
    fn a_config_folder_with_a_question_mark_gives_a_file_not_url_options() {
        let c = Config::parse(OK, Path::new("/srv/qu?mark #1/bot.toml")).unwrap();
        assert_eq!(
            c.database(),
            "sqlite:///srv/qu%3Fmark %231/canvass.db?mode=rwc"
        );
        let c = Config::parse(OK, Path::new("/srv/plain/bot.toml")).unwrap();
        assert_eq!(c.database(), "/srv/plain/canvass.db");
        let src = format!("{OK}\n[storage]\ndatabase = \"sqlite://x.db?cache=shared\"\n");
        let c = Config::parse(&src, Path::new("/srv/plain/bot.toml")).unwrap();
        assert_eq!(c.database(), "sqlite:///srv/plain/x.db?cache=shared");
    }

    #[test]
    fn type_errors_name_survey_question_and_key_in_plain_words() {
        let q = |extra: &str, opts: &str| {
            format!(
                "[[surveys]]\nid = \"s1\"\ntitle = \"S\"\n[[surveys.questions]]\nid = \"q1\"\ntype = \"single\"\ntext = \"Which?\"\noptions = [{opts}]\n{extra}\n"
            )
        };
        let ab = "\"a\", \"b\"";
        let cases = [
            (
                q("max_chars = \"500\"", ab),
                "max_chars",
                "survey \"s1\", question \"q1\", max_chars: must be a whole number, not the text \"500\"",
            ),
            (
                q("", ab).replace("\"single\"", "\"NPS\""),
                "NPS",
                "survey \"s1\", question \"q1\", type: \"NPS\" is not one of single, multi",
            ),
            (
                q("", "{ id = \"a\", lable = \"A\" }, \"b\""),
                "lable",
                "survey \"s1\", question \"q1\", option 1: unknown key `lable`",
            ),
            (
                q("flavour = \"x\"", ab),
                "flavour",
                "survey \"s1\", question \"q1\", flavour: unknown key `flavour`",
            ),
        ];
        for (src, at, says) in cases {
            let err = parse(&src).unwrap_err();
            assert_at(&err, line_with(&src, at), &[says]);
            let text = err.to_string();
            assert!(
                !text.contains("expected usize")
                    && !text.contains("unknown variant")
                    && !text.contains("untagged"),
                "{text}"
            );
        }
        let err = parse("[team]\nconsole = \"pm\"\n").unwrap_err();
        assert_at(
            &err,
            2,
            &["team.console: must be a list in [ ], not the text \"pm\""],
        );
    }

    #[test]
    fn every_wrong_survey_is_reported_not_only_the_first() {
        let src = TWO
            .replace("options = [\"A\", \"B\"]", "options = [\"A\"]")
            .replace("type = \"open_text\"", "type = \"rating\"\nscale = 6");
        let err = parse(&src).unwrap_err();
        let all = err.messages();
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(
            all[0].contains("survey \"first\", question \"q\", options"),
            "{all:?}"
        );
        assert!(
            all[1].contains("survey \"pulse\", question \"other\", scale"),
            "{all:?}"
        );
        assert!(err.to_string().contains(&all[1]), "{err}");
    }
}
