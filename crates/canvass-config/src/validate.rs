//! `Config::parse`: the file into a validated `Config`, and the rules of each setting. Every
//! error names the line of its key; every wrong survey is reported, not only the first.

use crate::core::ids::QuestionId;
use crate::core::survey::{DefinitionError, Question, QuestionKind, make_choices};
use crate::locale_tag::{NOT_A_TAG, config_tag};
use crate::locate::{Locator, line_of, type_error};
use crate::sections::{
    ConsoleConfig, DigestConfig, DiscordConfig, NarrativeConfig, PrivacyConfig, SegmentsConfig,
    StorageConfig, TeamChat, TeamConfig, TelegramConfig,
};
use crate::survey::{
    ConfiguredSurvey, OptionCfg, PERSONA_DECLINED_ID, Persona, PersonaConfig, SurveyCfg,
    build_survey, persona_field, question_ids, survey_field,
};
use crate::{Config, ConfigError, Source};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

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

impl Config {
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
