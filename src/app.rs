//! Builds the shared state (config, store, renderer, service) and runs the enabled adapters.

use crate::config::{Config, ConfigError};
use crate::platform::console::Console;
use crate::render::{RenderError, Renderer};
use crate::service::{Clock, Service, SystemClock};
use crate::store::{Store, StoreError, SurveySync};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{0}")]
    Unsupported(String),
    /// The platform's error is the source; the sentence stays the one it always was.
    #[error("adapter could not start: {source}")]
    Adapter {
        /// "telegram" or "discord".
        platform: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Narrative(#[from] crate::narrative::NarrativeError),
    #[error(transparent)]
    Key(#[from] crate::privacy::KeyError),
}

/// How to start: overrides from the command line and, in tests, a clock.
#[derive(Clone)]
pub struct Options {
    pub database: Option<String>,
    pub prompts: Option<PathBuf>,
    pub clock: Arc<dyn Clock>,
    /// The anonymity key; `None` loads it as `[privacy]` says.
    pub anon_key: Option<crate::privacy::AnonKey>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            database: None,
            prompts: None,
            clock: Arc::new(SystemClock),
            anon_key: None,
        }
    }
}

/// The running application's shared state.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub store: Store,
    pub service: Service,
    pub renderer: Arc<Renderer>,
    pub database: String,
    pub clock: Arc<dyn crate::service::Clock>,
}

/// The override folder: `[storage] prompts` or `prompts/`, beside the config file, unless
/// overridden. Templates it
/// lacks (or all, when it does not exist) come from the ones built into the binary.
pub fn prompts_dir(cfg: &Config, opts: &Options) -> PathBuf {
    opts.prompts.clone().unwrap_or_else(|| cfg.prompts_dir())
}

impl App {
    /// Loads templates (failing on a broken one), opens the database, applies migrations and
    /// brings configured surveys in.
    pub async fn start(config: Config, opts: Options) -> Result<Self, AppError> {
        let renderer =
            Renderer::load(&prompts_dir(&config, &opts))?.with_team_locale(&config.team.locale);
        let database = opts.database.clone().unwrap_or_else(|| config.database());
        // The database first: one that cannot be opened leaves no new key file behind.
        let store = Store::open_writable(&database).await?;
        let key = match opts.anon_key.clone() {
            Some(k) => k,
            None => crate::privacy::load(&config.privacy, &config.path)?,
        };
        let now = opts.clock.now();
        let (store, _) = store
            .with_anon_key(key, now, crate::privacy::accept_new_key())
            .await?;
        // The first start on a fresh database records when this install began.
        store.record_install(now).await?;
        for r in store.sync_surveys(&config.surveys, now).await? {
            match r {
                SurveySync::Refused { slug, reason } => {
                    tracing::error!(survey = %slug, "kept the stored definition: {reason}")
                }
                other => tracing::debug!(?other, "survey synced"),
            }
        }
        Self::assemble(config, opts, renderer, store, database)
    }

    /// For the commands that only read (`surveys`, `insights`, `digest`): the database is
    /// opened read-only, with no migration, no anonymity key (none is created) and no survey
    /// brought in from the config; only `run`, `console` (at start and on SIGHUP), `migrate`
    /// and `import` write.
    pub async fn start_read_only(config: Config, opts: Options) -> Result<Self, AppError> {
        let renderer =
            Renderer::load(&prompts_dir(&config, &opts))?.with_team_locale(&config.team.locale);
        let database = opts.database.clone().unwrap_or_else(|| config.database());
        let store = Store::open_read_only(&database).await?;
        Self::assemble(config, opts, renderer, store, database)
    }

    /// The service and the shared state around an opened store.
    fn assemble(
        config: Config,
        opts: Options,
        renderer: Renderer,
        store: Store,
        database: String,
    ) -> Result<Self, AppError> {
        let config = Arc::new(config);
        let renderer = Arc::new(renderer);
        let narrator = match &config.narrative {
            Some(n) => Some(Arc::new(crate::narrative::Narrator::new(
                n,
                renderer.clone(),
            )?)),
            None => None,
        };
        let bot = Service::new(store.clone(), config.clone(), opts.clock.clone())
            .with_locales(renderer.locale_names())
            .with_narrator(narrator)
            .with_charts(crate::render::report::charts(renderer.clone()));
        Ok(Self {
            config,
            store,
            service: bot,
            renderer,
            database,
            clock: opts.clock.clone(),
        })
    }

    pub fn console(&self) -> Console {
        Console::new(self.service.clone(), self.renderer.clone(), &self.database)
    }

    /// Runs every enabled adapter until Ctrl-C / SIGTERM (or, with only the console, until
    /// the console ends). `started` runs once the adapters are up (the start-up log and the
    /// reload handler live in `operate`, which builds on `App`).
    pub async fn run(self, started: impl AsyncFnOnce(&App)) -> Result<(), AppError> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let tx = Arc::new(tx);
        let on_signal = tx.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = on_signal.send(true);
        });
        let mut tasks: tokio::task::JoinSet<Result<(), AppError>> = tokio::task::JoinSet::new();
        let mut sinks: Vec<Arc<dyn crate::digest::Sink>> = Vec::new();
        if let Some(tg) = &self.config.telegram {
            let token = Config::secret(&tg.token_env, "telegram.token_env")?;
            let adapter = crate::platform::telegram::Telegram::start(
                self.service.clone(),
                self.renderer.clone(),
                tg,
                &token,
            )
            .await
            .map_err(|e| AppError::Adapter {
                platform: "telegram",
                source: e.into(),
            })?;
            sinks.push(adapter.digest_sink());
            let stop = until(rx.clone());
            tasks.spawn(async move {
                adapter.run(stop).await;
                Ok(())
            });
        }
        if let Some(dc) = &self.config.discord {
            let token = Config::secret(&dc.token_env, "discord.token_env")?;
            let adapter = crate::platform::discord::Discord::start(
                self.service.clone(),
                self.renderer.clone(),
                dc,
                &token,
            )
            .await
            .map_err(|e| AppError::Adapter {
                platform: "discord",
                source: e.into(),
            })?;
            sinks.push(adapter.digest_sink());
            let stop = until(rx.clone());
            tasks.spawn(async move {
                adapter.run(stop).await;
                Ok(())
            });
        }
        if let Some(runner) = self.digest_runner(sinks)? {
            let stop = rx.clone();
            tasks.spawn(async move {
                runner.run(stop).await;
                Ok(())
            });
        }
        if self.config.console.is_some() {
            let console = self.console();
            let stop = rx.clone();
            // With no other chat adapter, `/quit` or the end of input ends the service, the
            // digest runner too; beside Telegram or Discord it ends only the console.
            let alone = self.config.telegram.is_none() && self.config.discord.is_none();
            let tx = tx.clone();
            tasks.spawn(async move {
                let stdin = tokio::io::BufReader::new(tokio::io::stdin());
                let result = console.run(stdin, tokio::io::stdout(), stop).await;
                if alone {
                    let _ = tx.send(true);
                }
                result?;
                Ok(())
            });
        }
        if tasks.is_empty() {
            return Err(AppError::Unsupported(
                "no adapter is enabled: add a [console], [telegram] or [discord] section to the config".into(),
            ));
        }
        started(&self).await;
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "adapter stopped with an error"),
                Err(e) => tracing::error!(error = %e, "adapter task failed"),
            }
        }
        self.store.close().await;
        Ok(())
    }
}

impl App {
    /// The digest runner, when `[digest]` is configured.
    pub fn digest_runner(
        &self,
        sinks: Vec<Arc<dyn crate::digest::Sink>>,
    ) -> Result<Option<crate::digest::Runner>, AppError> {
        let Some(d) = &self.config.digest else {
            return Ok(None);
        };
        let schedule = crate::digest::schedule::Schedule::parse(&d.schedule, &d.timezone)
            .map_err(|e| AppError::Unsupported(e.to_string()))?;
        Ok(Some(
            crate::digest::Runner::new(
                self.service.clone(),
                d.clone(),
                schedule,
                self.config.segments.min_size,
                sinks,
                self.clock.clone(),
            )
            .with_narrator(self.service.narrator().cloned())
            .with_charts(self.service.charts())
            .with_wording({
                let bot = self.service.clone();
                let locale = self.config.team.locale.clone();
                Arc::new(move |s| bot.worded(s, &locale))
            }),
        ))
    }
}

/// A future that resolves once the shutdown flag is set.
async fn until(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Resolves on the first Ctrl-C or SIGTERM. From then on the adapters finish what is in hand
/// (each within its own bound), and a second Ctrl-C or SIGTERM exits the process at once
/// (status 130 or 143), for an operator who will not wait.
pub async fn shutdown_signal() {
    let mut signals = Signals::new();
    signals.next().await;
    tracing::info!("shutting down; a second Ctrl-C or SIGTERM stops at once");
    tokio::spawn(async move {
        let code = signals.next().await;
        tracing::warn!("second signal: exiting now, without finishing what is in hand");
        std::process::exit(code);
    });
}

/// Ctrl-C and SIGTERM, listened to for the life of the process, so no signal falls between
/// two listeners.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind, name: &str| match signal(kind) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::error!(error = %e, "cannot listen for {name}");
                    None
                }
            };
            Signals {
                interrupt: listen(SignalKind::interrupt(), "Ctrl-C"),
                terminate: listen(SignalKind::terminate(), "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// The next signal, as the exit status a shell gives a process it stopped (128 + number).
    async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                let received = match s {
                    Some(s) => s.recv().await.is_some(),
                    None => false,
                };
                if !received {
                    std::future::pending::<()>().await;
                }
            }
            tokio::select! {
                () = recv(&mut self.interrupt) => 130,
                () = recv(&mut self.terminate) => 143,
            }
        }
        #[cfg(not(unix))]
        {
            if let Err(e) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %e, "cannot listen for Ctrl-C");
                std::future::pending::<()>().await;
            }
            130
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;
    use std::error::Error as _;

    /// An adapter that cannot start says the same sentence as ever, and its error stays
    /// reachable as the source (for a log's cause chain), not flattened into text.
    #[test]
    fn an_adapter_error_keeps_its_source_and_its_sentence() {
        let e = AppError::Adapter {
            platform: "telegram",
            source: std::io::Error::other("connection refused").into(),
        };
        assert_eq!(e.to_string(), "adapter could not start: connection refused");
        let source = e.source().expect("the platform's error is the source");
        assert!(
            source.downcast_ref::<std::io::Error>().is_some(),
            "{source:?}"
        );
    }
}
