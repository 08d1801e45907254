//! Running the service: what `canvass run` says at start (and what will not work), and
//! reloading surveys and templates on SIGHUP without a restart.

use crate::app::App;
use crate::config::Config;
use crate::core::event::Platform;
use crate::render::Renderer;
use crate::store::SurveySync;

/// Logs at info what started, and warns about what will not work: a digest destination on a
/// platform that is not configured, a digest survey that is not in the file.
pub async fn announce(app: &App) {
    let c = &app.config;
    let adapters: Vec<&str> = [
        (Platform::Telegram, c.telegram.is_some()),
        (Platform::Discord, c.discord.is_some()),
        (Platform::Console, c.console.is_some()),
    ]
    .into_iter()
    .filter_map(|(platform, on)| on.then_some(platform.as_str()))
    .collect();
    tracing::info!(
        config = %c.path.display(),
        adapters = %adapters.join(", "),
        "canvass started; SIGHUP reloads surveys and templates"
    );
    // A file as its full path, so the operator sees which file it is whatever the folder.
    let database = match app.database.as_str() {
        d if d.starts_with("sqlite:") || d.starts_with(":memory:") => d.to_string(),
        d => std::path::absolute(d)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| d.to_string()),
    };
    // `App::start` already refused a database it cannot write.
    tracing::info!(%database, "database");
    // A survey already stored shows its stored status (closed with /close, or kept as
    // stored on reload), which is what members see; the config's status only otherwise.
    let stored = app.store.surveys().await.unwrap_or_default();
    let now = app.clock.now();
    let surveys: Vec<String> = c
        .surveys
        .iter()
        .map(|s| {
            let status = stored
                .iter()
                .find(|st| st.survey.id == s.survey.id)
                .map_or(s.status, |st| st.effective_status(now));
            format!("{} ({})", s.survey.id, status.as_str())
        })
        .collect();
    tracing::info!(
        count = surveys.len(),
        surveys = %surveys.join(", "),
        "surveys from the config"
    );
    match &c.digest {
        Some(d) => {
            let next = crate::digest::schedule::Schedule::parse(&d.schedule, &d.timezone)
                .ok()
                .and_then(|s| s.next_after(app.clock.now()))
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "none".into());
            tracing::info!(
                schedule = %d.schedule,
                timezone = %d.timezone,
                next = %next,
                telegram_chats = ?d.telegram_chats,
                discord_channels = ?d.discord_channels,
                "digest on"
            );
        }
        None => tracing::info!("digest off (no [digest] section)"),
    }
    match &c.narrative {
        Some(n) => {
            tracing::info!(model = %n.model, base_url = %without_secrets(&n.base_url), "narrative on")
        }
        None => tracing::info!("narrative off (no [narrative] section)"),
    }
    // Tokens were read when the adapters started; the rest is what parses but will not work.
    for p in c.problems(true) {
        tracing::warn!("{p}");
    }
}

/// A URL as it may be logged: without user and password, query or fragment (where keys
/// and passwords go).
pub fn without_secrets(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}{path}")
}

/// Reloads on every SIGHUP until the process ends. Listening starts before this returns, so
/// a SIGHUP sent after `canvass started` is logged never ends the process.
pub fn reload_on_hangup(app: App) -> tokio::task::JoinHandle<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(mut hup) => tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    tracing::info!("SIGHUP: reloading {}", app.config.path.display());
                    match reload(&app).await {
                        Ok(changes) => {
                            tracing::info!("reloaded: {}", changes.join("; "))
                        }
                        Err(why) => tracing::error!(
                            "reload refused, still running the previous surveys and templates: {why}"
                        ),
                    }
                }
            }),
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGHUP; reloading needs a restart");
                tokio::spawn(async {})
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = app;
        tokio::spawn(async {})
    }
}

/// Reads the config file and the template folder again and, only when they pass what
/// `canvass check` checks, brings the surveys into the store, their translations into the
/// bot and the templates into the running renderer. Returns what changed; `Err` (nothing applied) says why it was refused.
pub async fn reload(app: &App) -> Result<Vec<String>, String> {
    let fresh = Config::load(&app.config.path).map_err(|e| e.to_string())?;
    // As `canvass check` without `--offline`: an unset token or key variable is refused too.
    let problems = fresh.problems(false);
    if !problems.is_empty() {
        let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(all.join("; "));
    }
    let dir = app.renderer.dir().to_path_buf();
    let templates = Renderer::load(&dir)
        .map_err(|e| e.to_string())?
        .with_team_locale(app.renderer.team_locale());
    templates
        .check_samples()
        .and_then(|_| templates.check_reports())
        .map_err(|e| e.to_string())?;

    let mut changes = Vec::new();
    let synced = app
        .store
        .sync_surveys(&fresh.surveys, app.clock.now())
        .await
        .map_err(|e| format!("the surveys could not be saved: {e}"))?;
    let (mut added, mut updated) = (Vec::new(), Vec::new());
    for s in synced {
        match s {
            SurveySync::Created(id) => added.push(id),
            SurveySync::Updated(id) => updated.push(id),
            SurveySync::Unchanged(_) => {}
            SurveySync::Refused { slug, reason } => {
                tracing::error!(survey = %slug, "kept the stored definition: {reason}");
                changes.push(format!("survey {slug} kept as stored"));
            }
        }
    }
    for (what, ids) in [("new surveys", added), ("changed surveys", updated)] {
        if !ids.is_empty() {
            changes.push(format!("{what}: {}", ids.join(", ")));
        }
    }
    let gone: Vec<String> = app
        .config
        .surveys
        .iter()
        .filter(|s| fresh.survey(&s.survey.id).is_none())
        .map(|s| s.survey.id.to_string())
        .collect();
    if !gone.is_empty() {
        changes.push(format!(
            "no longer in the config (kept in the database, with their answers): {}",
            gone.join(", ")
        ));
    }
    changes.push(format!(
        "templates from {} ({} file(s) over the built-in ones)",
        dir.display(),
        templates.overrides()
    ));
    if templates.locales() != app.renderer.locales() {
        tracing::warn!("a locale folder was added or removed: the new locale list needs a restart");
    }
    app.renderer.replace_templates(templates);
    app.service.set_wording(&fresh);
    let later = needs_restart(&app.config, &fresh);
    if !later.is_empty() {
        tracing::warn!(
            "changed in the config, applied only after a restart: {}",
            later.join(", ")
        );
    }
    Ok(changes)
}

/// The settings outside survey definitions and templates that differ: they are read once,
/// at start.
fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let same =
        |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") == format!("{b:?}");
    // Survey translations are reloaded; the list of languages members can choose is not.
    let languages = |c: &Config| -> std::collections::BTreeSet<String> {
        c.surveys
            .iter()
            .flat_map(|s| s.locales.keys().cloned())
            .collect()
    };
    [
        ("[storage]", same(&old.storage, &new.storage)),
        ("[team]", same(&old.team, &new.team)),
        ("[segments]", same(&old.segments, &new.segments)),
        ("[privacy]", same(&old.privacy, &new.privacy)),
        ("[persona]", same(&old.persona, &new.persona)),
        ("[console]", same(&old.console, &new.console)),
        ("[telegram]", same(&old.telegram, &new.telegram)),
        ("[discord]", same(&old.discord, &new.discord)),
        ("[digest]", same(&old.digest, &new.digest)),
        ("[narrative]", same(&old.narrative, &new.narrative)),
        (
            "the languages of survey translations",
            languages(old) == languages(new),
        ),
    ]
    .into_iter()
    .filter_map(|(name, same)| (!same).then_some(name))
    .collect()
}
