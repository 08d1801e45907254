//! bot.toml: typed configuration. Unknown keys are rejected, errors name the key and line,
//! optional sections switch features on, and secrets come only from environment variables.
//!
//! One file per concern: `sections` (the `[section]` tables), `survey` (surveys, questions and
//! the persona question, built and validated), `locale_tag` (locale tags, checked and
//! normalised), `validate` (`Config::parse` and the rules of the settings), `problems`
//! (`Config::problems`: what parses but will not work here), `locate` (the line of a key, and
//! serde's errors in plain words).

// The pure crate's modules under the paths this file has always used.
use canvass_core::{core, locale, schedule};

mod locale_tag;
mod locate;
mod problems;
mod sections;
mod survey;
mod validate;

pub use problems::MIN_KEY_BYTES;
pub use sections::{
    ConsoleConfig, DigestConfig, DiscordConfig, NarrativeConfig, PrivacyConfig, SegmentsConfig,
    StorageConfig, TeamChat, TeamConfig, TelegramConfig,
};
pub use survey::{
    ConfiguredSurvey, OptionCfg, PERSONA_DECLINED_ID, Persona, PersonaConfig, QuestionCfg,
    QuestionType, SurveyCfg, TimeCfg, build_question,
};

use crate::core::ids::SurveyId;
use std::fmt;
use std::path::{Path, PathBuf};

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

    /// `[privacy] key_file`, relative to the config file's folder.
    pub fn key_file(&self) -> PathBuf {
        let file = Path::new(&self.privacy.key_file);
        match self.path.parent() {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file.to_path_buf(),
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

#[cfg(test)]
#[path = "lib_tests.rs"]
mod tests;
