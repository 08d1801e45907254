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
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
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
}

fn default_database() -> String {
    "canvass.db".into()
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            database: default_database(),
        }
    }
}

/// Who may create, post and close surveys and read insights, per platform.
#[derive(Debug, Clone, Default, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OptionCfg {
    Label(String),
    Full { id: String, label: String },
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
        if path == ":memory:" || path.starts_with(":memory:") || Path::new(path).is_absolute() {
            return raw.to_string();
        }
        match self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => dir.join(path).display().to_string(),
            None => path.to_string(),
        }
    }

    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&src, path)
    }

    /// Parses config text; `path` is only used in messages.
    pub fn parse(src: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(src).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let invalid = |offset: usize, e: DefinitionError| ConfigError::Invalid {
            path: path.to_path_buf(),
            line: line_of(src, offset),
            field: e.field,
            problem: e.problem,
        };

        let mut surveys = Vec::new();
        for (i, s) in raw.surveys.into_iter().enumerate() {
            let span = s.span().start;
            let prefix = format!("surveys[{i}]");
            let (survey, status, locales) = build_survey(s.into_inner())
                .map_err(|(off, e)| invalid(off.unwrap_or(span), e.within(&prefix)))?;
            if surveys
                .iter()
                .any(|c: &ConfiguredSurvey| c.survey.id == survey.id)
            {
                return Err(invalid(
                    span,
                    DefinitionError::new(
                        format!("{prefix}.id"),
                        format!("survey id {:?} is used twice", survey.id.as_str()),
                    ),
                ));
            }
            surveys.push(ConfiguredSurvey {
                survey,
                status,
                locales,
            });
        }

        let persona = match raw.persona {
            Some(p) => {
                let span = p.span().start;
                let p = p.into_inner();
                let options =
                    make_choices(p.options.into_iter().map(OptionCfg::into_pair).collect())
                        .map_err(|e| invalid(span, e.within("persona")))?;
                let question = Question::new(
                    QuestionId::parse("persona").map_err(|e| {
                        invalid(span, DefinitionError::new("persona", e.to_string()))
                    })?,
                    &p.question,
                    QuestionKind::Single { options },
                    false,
                )
                .map_err(|e| invalid(span, e.within("persona")))?;
                let mut locales = BTreeMap::new();
                for (tag, text) in p.locales {
                    let field = format!("persona.locales.{tag}");
                    let Some(code) = crate::locale::normalise(&tag) else {
                        return Err(invalid(
                            span,
                            DefinitionError::new(
                                field,
                                "is not a language tag such as de, es or pt-BR",
                            ),
                        ));
                    };
                    text.validate(&question, &field)
                        .map_err(|e| invalid(span, e))?;
                    locales.insert(code, text);
                }
                Some(Persona { question, locales })
            }
            None => None,
        };

        if raw.segments.min_size < 10 {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: find_key_line(src, "min_size"),
                field: "segments.min_size".into(),
                problem: "must be at least 10: smaller segments are noisy and can identify people"
                    .into(),
            });
        }
        if let Some(d) = &raw.digest {
            if let Err(e) = crate::schedule::Schedule::parse(&d.schedule, &d.timezone) {
                let (field, key) = match e {
                    crate::schedule::ScheduleError::Zone(_) => ("digest.timezone", "timezone"),
                    crate::schedule::ScheduleError::Syntax(_) => ("digest.schedule", "schedule"),
                };
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line: find_key_line(src, key),
                    field: field.into(),
                    problem: e.to_string(),
                });
            }
        }
        if let Some(n) = &raw.narrative {
            if let Err((key, problem)) = check_narrative(n) {
                return Err(ConfigError::Invalid {
                    path: path.to_path_buf(),
                    line: find_section_key_line(src, "narrative", key),
                    field: format!("narrative.{key}"),
                    problem,
                });
            }
        }
        for (field, env) in [
            (
                "telegram.token_env",
                raw.telegram.as_ref().map(|t| &t.token_env),
            ),
            (
                "discord.token_env",
                raw.discord.as_ref().map(|d| &d.token_env),
            ),
        ] {
            if let Some(env) = env {
                let ok = !env.is_empty()
                    && env
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if !ok {
                    return Err(ConfigError::Invalid {
                        path: path.to_path_buf(),
                        line: find_key_line(src, "token_env"),
                        field: field.into(),
                        problem: format!(
                            "{env:?} must be the NAME of an environment variable (A-Z, 0-9, _), never the token itself"
                        ),
                    });
                }
            }
        }

        if let Err((key, problem)) = check_privacy(&raw.privacy) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: find_section_key_line(src, "privacy", key),
                field: format!("privacy.{key}"),
                problem,
            });
        }
        if let Err(problem) = check_team_chats(&raw.team.chats) {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: find_section_key_line(src, "team", "chats"),
                field: "team.chats".into(),
                problem,
            });
        }

        let mut team = raw.team;
        // A config without `[team]` gets `Default`, whose locale is empty.
        if team.locale.is_empty() {
            team.locale = default_locale();
        }
        team.locale =
            crate::locale::normalise(&team.locale).ok_or_else(|| ConfigError::Invalid {
                path: path.to_path_buf(),
                line: find_key_line(src, "locale"),
                field: "team.locale".into(),
                problem: format!(
                    "{:?} is not a language tag such as en, de or pt-BR",
                    team.locale
                ),
            })?;

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
        })
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

fn find_key_line(src: &str, key: &str) -> usize {
    src.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map(|i| i + 1)
        .unwrap_or(1)
}

/// The line of `key` inside `[section]`, else the section header's line.
fn find_section_key_line(src: &str, section: &str, key: &str) -> usize {
    let header = format!("[{section}]");
    let Some(start) = src.lines().position(|l| l.trim() == header) else {
        return 1;
    };
    src.lines()
        .enumerate()
        .skip(start + 1)
        .take_while(|(_, l)| !l.trim_start().starts_with('['))
        .find(|(_, l)| {
            l.trim_start()
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(i, _)| i + 1)
        .unwrap_or(start + 1)
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

type BuildError = (Option<usize>, DefinitionError);

type Built = (Survey, Status, BTreeMap<String, SurveyText>);

fn build_survey(s: SurveyCfg) -> Result<Built, BuildError> {
    let id = SurveyId::parse(&s.id)
        .map_err(|e| (None, DefinitionError::new("id", format!("{:?} {e}", s.id))))?;
    let status = Status::parse(&s.status).ok_or_else(|| {
        (
            None,
            DefinitionError::new(
                "status",
                format!("{:?} is not one of draft, open, closed", s.status),
            ),
        )
    })?;
    let results = match s.results.as_deref() {
        None | Some("after_close") => ResultsVisibility::AfterClose,
        Some("live") => ResultsVisibility::Live,
        Some(other) => {
            return Err((
                None,
                DefinitionError::new(
                    "results",
                    format!("{other:?} is not one of after_close, live"),
                ),
            ));
        }
    };
    let time = |field: &str, t: &Option<TimeCfg>| -> Result<Option<DateTime<Utc>>, BuildError> {
        t.as_ref()
            .map(|t| {
                t.parse()
                    .map_err(|p| (None, DefinitionError::new(field, p)))
            })
            .transpose()
    };
    let follows = s
        .follows
        .as_deref()
        .map(|f| {
            SurveyId::parse(f)
                .map_err(|e| (None, DefinitionError::new("follows", format!("{f:?} {e}"))))
        })
        .transpose()?;
    let headline = s
        .headline
        .as_deref()
        .map(|h| {
            QuestionId::parse(h)
                .map_err(|e| (None, DefinitionError::new("headline", format!("{h:?} {e}"))))
        })
        .transpose()?;
    let opens_at = time("opens_at", &s.opens_at)?;
    let closes_at = time("closes_at", &s.closes_at)?;
    let mut questions = Vec::with_capacity(s.questions.len());
    for (i, q) in s.questions.into_iter().enumerate() {
        let span = q.span().start;
        let q = build_question(q.into_inner(), i)
            .map_err(|e| (Some(span), e.within(&format!("questions[{i}]"))))?;
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
    .validated()
    .map_err(|e| (None, e))?;
    let mut locales = BTreeMap::new();
    for (tag, text) in s.locales {
        let field = format!("locales.{tag}");
        let Some(code) = crate::locale::normalise(&tag) else {
            return Err((
                None,
                DefinitionError::new(field, "is not a language tag such as de, es or pt-BR"),
            ));
        };
        text.validate(&survey)
            .map_err(|e| (None, e.within(&field)))?;
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
        assert!(err.contains("surveys[0].questions[0].scale"), "{err}");
        assert!(err.contains("line 9"), "{err}");
        let long = OK.replace("Dark mode", &"D".repeat(81));
        let err = parse(&long).unwrap_err().to_string();
        assert!(err.contains("options[0].label"), "{err}");
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
}
