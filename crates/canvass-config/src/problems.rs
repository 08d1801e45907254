//! `Config::problems`: what parses but will not work where this runs (unset secrets, an
//! anonymity key or database `canvass run` would refuse, a digest posted nowhere).

use crate::locate::Locator;
use crate::{Config, ConfigError, plain_io};
use std::path::Path;

impl Config {
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
