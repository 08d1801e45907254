//! The `canvass` command line: parses arguments, loads config, starts tracing, calls the library.

use anyhow::Context as _;
use canvass::app::{App, Options, prompts_dir};
use canvass::config::Config;
use canvass::core::event::Msg;
use canvass::render::report::Format;
use canvass::render::{Renderer, Target};
use clap::{Parser, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

/// Prints a line to standard output; when the reader has gone (`canvass insights x | head -1`)
/// the program ends quietly with success instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {
        emit(format!($($t)*))
    };
}

fn emit(line: String) {
    use std::io::Write as _;
    let mut o = std::io::stdout().lock();
    if let Err(e) = writeln!(o, "{line}").and_then(|_| o.flush()) {
        quit_on_closed_pipe(&e);
        eprintln!("canvass: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// A closed pipe on standard output is the reader saying it has enough: exit 0, quietly.
fn quit_on_closed_pipe(e: &std::io::Error) {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
}

#[derive(Parser)]
#[command(
    name = "canvass",
    version,
    about = "Preference polls and surveys, turned into product insight"
)]
struct Cli {
    /// Configuration file.
    #[arg(long, global = true, default_value = "bot.toml")]
    config: PathBuf,
    /// SQLite database path or URL; overrides [storage] database. Unlike the paths in
    /// bot.toml (relative to the config file's folder), a relative path here is relative to
    /// the working folder.
    #[arg(long, global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start every enabled adapter (with the shipped config: the console).
    Run,
    /// A local chat with the bot in this terminal.
    Console,
    /// Validate the config and templates; exits non-zero with a report. Token and key
    /// variables the config names must be set, unless --offline.
    Check {
        /// Do not require the token and key environment variables (checking on a machine
        /// that does not hold them).
        #[arg(long)]
        offline: bool,
    },
    /// Apply database migrations.
    Migrate,
    /// List surveys, or show one.
    Surveys {
        /// Survey id to show.
        id: Option<String>,
    },
    /// Benchmarks: ingestion against the raw SQLite limit, insight at 10k/100k/1M answers with
    /// peak memory, and the digest at scale. Prints a Markdown table.
    Bench {
        /// Tiny sizes, to check the harness (CI runs this).
        #[arg(long)]
        smoke: bool,
        /// Internal: run one insight size in this process and print "seconds,answers,peak_mib".
        #[arg(long, hide = true)]
        insight_only: Option<usize>,
        /// Run only this workload.
        #[arg(long, value_enum)]
        only: Option<Workload>,
    },
    /// The digest: what the next one will post, or how deliveries went.
    Digest {
        /// Print what the next scheduled digest will post (same period and comparison), with
        /// the answers so far, as plain text.
        #[arg(long)]
        dry_run: bool,
        /// Show each period's deliveries: delivered, failed (with the error), pending, partial
        /// (which parts arrived, failed, or are uncertain).
        #[arg(long)]
        status: bool,
    },
    /// What a survey's answers mean: preferences, certainty, segments, next step.
    Insights {
        /// Survey id.
        survey: String,
        /// Only respondents in this segment (hidden if smaller than segments.min_size).
        #[arg(long)]
        segment: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
        /// Also write the chart as a PNG here.
        #[arg(long)]
        chart: Option<PathBuf>,
        /// Report on the model-written narrative ([narrative] in bot.toml) on standard error:
        /// shown or dropped and why, what was checked, and the outcome counts.
        #[arg(long)]
        narrative: bool,
    },
    /// Import answers collected elsewhere, from a survey file and a CSV of responses.
    Import {
        /// TOML file with one or more [[surveys]], in the bot.toml schema.
        #[arg(long)]
        survey: PathBuf,
        /// CSV: respondent, submitted_at (RFC 3339), optional segment, one column per question id.
        #[arg(long)]
        responses: PathBuf,
        /// Which survey of the file, when it holds several.
        #[arg(long)]
        survey_id: Option<String>,
        /// Import the good rows and list the bad ones, instead of importing nothing.
        #[arg(long)]
        skip_bad: bool,
    },
    /// A consistent copy of the database in a new FILE, safe while the bot runs (VACUUM INTO).
    /// Never overwrites a file.
    Backup {
        /// Where to write the copy; must not exist yet.
        file: PathBuf,
    },
    /// Export a survey's current answers as CSV (the import format) or JSON.
    Export {
        /// Survey id.
        survey: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OutputFormat {
    Text,
    Markdown,
    Json,
    Html,
}

fn init_tracing(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("CANVASS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Telegram puts the token in every request path, and the gateway's IDENTIFY frame holds
    // the Discord token: the HTTP and websocket libraries never log below info, whatever
    // CANVASS_LOG says.
    for cap in [
        "h2",
        "hyper",
        "hyper_util",
        "reqwest",
        "tungstenite",
        "tokio_tungstenite",
    ] {
        if let Ok(d) = format!("{cap}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    // Colours only on a terminal: journald, `docker logs` and files get plain text.
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The console shares the terminal with the log, so it only shows warnings by default;
    // `run` is the service and says at info what it started.
    init_tracing(matches!(cli.command, Cmd::Console));
    let interactive = matches!(cli.command, Cmd::Console | Cmd::Run);
    let code = match real_main(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("canvass: {}", plain_chain(&e));
            ExitCode::FAILURE
        }
    };
    if interactive {
        // The console's read of standard input runs on a blocking thread that the runtime
        // would wait for at exit: after Ctrl-C or SIGTERM, exit without waiting for a line.
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 });
    }
    code
}

async fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    // SIGHUP's default action ends the process: from the first moment of `run`, it is caught
    // (tokio keeps the handler for the process once installed); one that comes before the
    // reloader listens is ignored.
    #[cfg(unix)]
    let _early_hup = match cli.command {
        Cmd::Run => {
            let hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
            tracing::info!("starting; a SIGHUP before the start is complete is ignored");
            hup.ok()
        }
        _ => None,
    };
    let opts = Options {
        database: cli.database.clone(),
        ..Options::default()
    };
    if let Cmd::Check { offline } = cli.command {
        return Ok(check(&cli.config, &opts, offline));
    }
    if let Cmd::Import { .. } | Cmd::Export { .. } = cli.command {
        return transfer(cli).await;
    }
    if let Cmd::Backup { file } = &cli.command {
        if file.exists() {
            anyhow::bail!(
                "{} already exists; canvass backup never overwrites a file: choose a new name \
                 or move the old one away",
                file.display()
            );
        }
        let database = match cli.database.clone() {
            Some(d) => d,
            None => Config::load(&cli.config)?.database(),
        };
        require_database(&database)?;
        // Read-only: a backup writes nothing into the database (no migration either).
        let result = canvass::store::Store::backup_read_only(&database, file).await;
        result.with_context(|| format!("backing up {database} into {}", file.display()))?;
        out!("backup of {database} written to {}", file.display());
        return Ok(ExitCode::SUCCESS);
    }
    if let Cmd::Bench {
        smoke,
        insight_only,
        only,
    } = cli.command
    {
        return bench(smoke, insight_only, only).await;
    }
    let config = Config::load(&cli.config)?;
    if let Cmd::Run | Cmd::Console = cli.command {
        // The same sample renders `canvass check` does: an override it refuses is refused here,
        // with the same message, before members could see "this message could not be shown".
        let r = Renderer::load(&prompts_dir(&config, &opts))?;
        if r.overrides() > 0 {
            r.check_samples().and_then(|_| r.check_reports())?;
        }
    }
    if let Cmd::Surveys { .. } | Cmd::Insights { .. } = cli.command {
        require_database(&opts.database.clone().unwrap_or_else(|| config.database()))?;
    }
    let app = App::start(config, opts).await?;
    match cli.command {
        Cmd::Run => {
            let reloader = std::sync::Mutex::new(None);
            app.run(async |app: &App| {
                let hup = canvass::operate::reload_on_hangup(app.clone());
                canvass::operate::announce(app).await;
                if let Ok(mut r) = reloader.lock() {
                    *r = Some(hup);
                }
            })
            .await?;
            if let Some(hup) = reloader.lock().ok().and_then(|mut r| r.take()) {
                hup.abort();
            }
        }
        Cmd::Console => {
            let (tx, rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                canvass::app::shutdown_signal().await;
                let _ = tx.send(true);
            });
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            app.console()
                .run(stdin, tokio::io::stdout(), rx)
                .await
                .context("console")?;
            app.store.close().await;
        }
        Cmd::Migrate => {
            let n = app.store.migrate().await?;
            out!("database {} is at migration {n}", app.database);
        }
        Cmd::Surveys { id } => {
            let text = surveys(&app, id.as_deref()).await?;
            out!("{text}");
        }
        Cmd::Insights {
            survey,
            segment,
            format,
            chart,
            narrative,
        } => {
            let Some(s) = app.store.survey_by_slug(&survey).await? else {
                anyhow::bail!("no survey with id {survey:?}; `canvass surveys` lists them");
            };
            let mut report = canvass::bot::insights::report(
                &app.store,
                &s,
                segment.as_deref(),
                app.config.segments.min_size,
                app.bot.now(),
            )
            .await?;
            let outcome = match app.bot.narrator() {
                Some(n) => canvass::bot::insights::narrate(n, &app.store, vec![&mut report])
                    .await
                    .pop()
                    .flatten(),
                None => None,
            };
            if narrative {
                let counts = app.bot.narrator().map(|n| n.counts()).unwrap_or_default();
                eprintln!(
                    "{}",
                    app.renderer
                        .narrative_outcome(&report, outcome.as_ref(), &counts)?
                );
            }
            let f = match format {
                OutputFormat::Text => Format::Chat(Target::Plain),
                OutputFormat::Markdown => Format::Markdown,
                OutputFormat::Json => Format::Json,
                OutputFormat::Html => Format::Html,
            };
            out!("{}", app.renderer.report(f, &report)?);
            if let Some(path) = chart {
                match app.renderer.chart(&report) {
                    Some(png) => {
                        std::fs::write(&path, png?)
                            .with_context(|| format!("writing {}", path.display()))?;
                        eprintln!("chart written to {}", path.display());
                    }
                    None => eprintln!("no chart: the survey has no answers to draw yet"),
                }
            }
        }
        Cmd::Digest { dry_run, status } => {
            if status || !dry_run {
                let rows = app.store.deliveries().await?;
                if rows.is_empty() {
                    out!("no digest deliveries recorded yet");
                }
                for d in rows {
                    out!("{}", delivery_line(&d));
                    // Each part when the delivery is partial or took more than one attempt,
                    // so an operator sees what reached the chat and what did not.
                    if d.status != "delivered" || d.attempts > 1 {
                        for p in &d.parts {
                            out!("{}", part_line(p));
                        }
                    }
                }
            }
            if dry_run {
                let mut brief = app.bot.digest_now(app.bot.now()).await?;
                if let Some(n) = app.bot.narrator() {
                    canvass::bot::insights::narrate(
                        n,
                        &app.store,
                        brief.reports.iter_mut().collect(),
                    )
                    .await;
                }
                out!("{}", app.renderer.digest(Target::Plain, &brief)?);
            }
        }
        Cmd::Check { .. }
        | Cmd::Import { .. }
        | Cmd::Export { .. }
        | Cmd::Bench { .. }
        | Cmd::Backup { .. } => {
            unreachable!("handled above")
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One delivery for `digest --status`; "partial" when some parts arrived and others did not.
fn delivery_line(d: &canvass::store::Delivery) -> String {
    let some_arrived = d.parts.iter().any(|p| p.status == "delivered");
    let status = match d.status.as_str() {
        "failed" if some_arrived => "partial, missing parts will be retried".to_string(),
        "uncertain" if some_arrived => "partial, some parts uncertain".to_string(),
        "failed" => format!(
            "failed, retry at {}",
            d.next_attempt_at.format("%Y-%m-%d %H:%M UTC")
        ),
        s => s.to_string(),
    };
    format!(
        "{}  {:<28} {}{} attempts {}{}{}",
        d.period,
        d.destination,
        status,
        if d.late { " (late)" } else { "" },
        d.attempts,
        d.delivered_at
            .map(|t| format!(", delivered {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default(),
        d.last_error
            .as_ref()
            .map(|e| format!(", last error: {e}"))
            .unwrap_or_default(),
    )
}

/// One part of a delivery for `digest --status`.
fn part_line(p: &canvass::store::PartStatus) -> String {
    let what = match p.status.as_str() {
        "delivered" => "delivered",
        "failed" => "failed, will be retried",
        "uncertain" => "uncertain, not resent",
        "pending" => "not sent yet",
        other => other,
    };
    format!(
        "    {:<20} {what}, sent {} {}{}{}",
        p.label,
        p.attempts,
        if p.attempts == 1 { "time" } else { "times" },
        p.sent_at
            .map(|t| format!(", at {}", t.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default(),
        p.last_error
            .as_ref()
            .filter(|_| p.status != "delivered")
            .map(|e| format!(": {e}"))
            .unwrap_or_default(),
    )
}

async fn surveys(app: &App, id: Option<&str>) -> anyhow::Result<String> {
    let now = app.bot.now();
    let msg = match id {
        None => {
            let list: Vec<_> = app
                .store
                .list_surveys()
                .await?
                .iter()
                .map(|(s, n)| {
                    json!({
                        "id": s.survey.id.as_str(), "title": s.survey.title,
                        "status": s.effective_status(now).as_str(), "respondents": n,
                        "questions": s.survey.questions.len(), "anonymous": s.survey.anonymous,
                    })
                })
                .collect();
            Msg::new("surveys", json!({ "team": true, "surveys": list }))
        }
        Some(id) => {
            let Some(s) = app.store.survey_by_slug(id).await? else {
                anyhow::bail!("no survey with id {id:?}; `canvass surveys` lists them");
            };
            let n = app.store.respondent_count(s.key).await?;
            let data = json!({
                // The operator sees question types and option ids, as the team does.
                "team": true,
                "id": s.survey.id.as_str(), "title": s.survey.title, "intro": s.survey.intro,
                "status": s.effective_status(now).as_str(), "anonymous": s.survey.anonymous,
                "respondents": n,
                "results": s.survey.results.as_str(),
                "opens_at": s.survey.opens_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                "closes_at": s.survey.closes_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                "questions": s.survey.questions.iter().map(|q| json!({
                    "id": q.id.as_str(), "text": q.text, "type": q.kind.type_name(), "optional": q.optional,
                    "options": q.kind.options().iter().map(|o| json!({"id": o.id.as_str(), "label": o.label})).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            });
            Msg::new("survey", data)
        }
    };
    Ok(app.renderer.render(Target::Plain, &msg)?)
}

/// Validates config and templates without touching the database.
fn check(path: &std::path::Path, opts: &Options, offline: bool) -> ExitCode {
    let mut problems = Vec::new();
    let config = match Config::load(path) {
        Ok(c) => {
            problems.extend(c.problems(offline).iter().map(ToString::to_string));
            Some(c)
        }
        Err(e) => {
            problems.extend(e.messages());
            None
        }
    };
    let dir = match &config {
        Some(c) => prompts_dir(c, opts),
        None => path
            .parent()
            .map(|p| p.join("prompts"))
            .unwrap_or_else(|| PathBuf::from("prompts")),
    };
    let mut rendered = 0;
    let mut missing = Vec::new();
    let mut overrides = 0;
    match Renderer::load(&dir) {
        Ok(r) => {
            overrides = r.overrides();
            match r.check_samples().and_then(|n| Ok(n + r.check_reports()?)) {
                Ok(n) => rendered = n,
                Err(e) => problems.push(e.to_string()),
            }
            if let Some(c) = &config {
                missing = missing_translations(&r, c);
            }
        }
        Err(e) => problems.push(e.to_string()),
    }
    // Gaps fall back to the default text, so they are listed, not failed.
    let list_missing = || {
        for (locale, gaps) in &missing {
            out!("{locale}: falls back to the default for");
            for g in gaps {
                out!("  - {g}");
            }
        }
    };
    if problems.is_empty() {
        let n = config.map(|c| c.surveys.len()).unwrap_or(0);
        let overrides = match overrides {
            0 => "built-in templates".to_string(),
            k => format!(
                "built-in templates with {k} file(s) from {} over them",
                dir.display()
            ),
        };
        out!(
            "ok: {} is valid ({n} surveys); {overrides} rendered {rendered} times without error",
            path.display(),
        );
        list_missing();
        ExitCode::SUCCESS
    } else {
        eprintln!("canvass check found {} problem(s):", problems.len());
        for p in problems {
            eprintln!("  - {p}");
        }
        ExitCode::FAILURE
    }
}

/// Per locale (shipped or used by a survey), what is not translated: templates, then survey
/// texts.
fn missing_translations(r: &Renderer, c: &Config) -> Vec<(String, Vec<String>)> {
    let mut locales: Vec<String> = r.locales().iter().skip(1).cloned().collect();
    let persona = c.persona.iter().flat_map(|p| p.locales.keys());
    for l in c
        .surveys
        .iter()
        .flat_map(|s| s.locales.keys())
        .chain(persona)
    {
        if !locales.contains(l) && l != canvass::locale::DEFAULT {
            locales.push(l.clone());
        }
    }
    let mut out = Vec::new();
    for l in locales {
        let mut gaps: Vec<String> = r
            .untranslated(&l)
            .into_iter()
            .map(|t| format!("template {t}.hbs"))
            .collect();
        for s in &c.surveys {
            match s.locales.get(&l) {
                Some(t) => gaps.extend(
                    t.missing(&s.survey)
                        .into_iter()
                        .map(|m| format!("survey {}: {m}", s.survey.id)),
                ),
                None => gaps.push(format!("survey {}: every text", s.survey.id)),
            }
        }
        if let Some(p) = &c.persona {
            gaps.extend(canvass::core::survey::QuestionText::missing(
                p.locales.get(&l),
                &p.question,
                "persona",
            ));
        }
        if !gaps.is_empty() {
            out.push((l, gaps));
        }
    }
    out
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Csv,
    Json,
}

/// `import` and `export`: they need the database (and import the anonymity key), so with
/// `--database` bot.toml is optional and no templates are read.
async fn transfer(cli: Cli) -> anyhow::Result<ExitCode> {
    use canvass::transfer;
    // With `--database` a missing or broken bot.toml is no error; it is read, when it is
    // there, only for where the anonymity key is.
    let (database, config) = match cli.database.clone() {
        Some(d) => (d, Config::load(&cli.config).ok()),
        None => {
            let c = Config::load(&cli.config)?;
            (c.database(), Some(c))
        }
    };
    match cli.command {
        Cmd::Import {
            survey,
            responses,
            survey_id,
            skip_bad,
        } => {
            let file = Config::load(&survey)?;
            let source = transfer::pick_survey(&file.surveys, survey_id.as_deref())?;
            let csv = std::fs::read(&responses)
                .with_context(|| format!("cannot read {}", responses.display()))?;
            // Anonymous rows are keyed like chat answers, with the key bot.toml names (the
            // default key file beside it without one).
            let privacy = config.map(|c| c.privacy).unwrap_or_default();
            let key = canvass::privacy::load(&privacy, &cli.config)?;
            let (store, _) = canvass::store::Store::open(&database)
                .await?
                .with_anon_key(key, chrono::Utc::now(), canvass::privacy::accept_new_key())
                .await?;
            let opts = transfer::ImportOptions { skip_bad };
            let result = transfer::import(&store, source, &csv, opts, chrono::Utc::now()).await;
            store.close().await;
            out!("{}", result?.summary());
        }
        Cmd::Export {
            survey,
            format,
            output,
        } => {
            require_database(&database)?;
            let store = canvass::store::Store::open(&database).await?;
            let result = match format {
                ExportFormat::Csv => transfer::export_csv(&store, &survey).await,
                ExportFormat::Json => transfer::export_json(&store, &survey).await,
            };
            store.close().await;
            let bytes = result?;
            match output {
                Some(path) => std::fs::write(&path, &bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => {
                    use std::io::Write as _;
                    let mut out = std::io::stdout().lock();
                    if let Err(e) = out.write_all(&bytes).and_then(|_| out.flush()) {
                        quit_on_closed_pipe(&e);
                        return Err(e.into());
                    }
                }
            }
        }
        _ => unreachable!("only import and export come here"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs every workload and prints a Markdown table (see BENCHMARKS.md).
/// One `canvass bench` workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Workload {
    Ingest,
    Insight,
    Digest,
}

async fn bench(
    smoke: bool,
    insight_only: Option<usize>,
    only: Option<Workload>,
) -> anyhow::Result<ExitCode> {
    let run = |w: Workload| only.is_none_or(|o| o == w);
    use canvass::bench;
    if let Some(n) = insight_only {
        let (secs, answers) = bench::insight_run(n)?;
        out!("{secs},{answers},{}", bench::peak_mib().unwrap_or(0.0));
        return Ok(ExitCode::SUCCESS);
    }
    let (members, taps, sizes, surveys, digest_answers): (usize, usize, Vec<usize>, usize, usize) =
        if smoke {
            (20, 2, vec![1_000], 3, 3_000)
        } else {
            (2_000, 2, vec![10_000, 100_000, 1_000_000], 50, 2_000_000)
        };
    out!("| workload | size | result |\n|---|---|---|");
    let dir = tempfile_dir()?;
    if run(Workload::Ingest) {
        let i = bench::ingest(&dir.join("ingest"), members, taps).await?;
        out!(
            "| ingestion (Bot::handle, group commit, committed before the ack) | {} members x {} taps = {} answers | {:.0} answers/s; ack p50 {:.1} ms, p99 {:.1} ms; raw batched insert {:.0} rows/s; ratio {:.1}% |",
            i.members,
            taps,
            i.answers,
            i.per_second,
            i.p50_ms,
            i.p99_ms,
            i.raw_per_second,
            100.0 * i.per_second / i.raw_per_second.max(1e-9)
        );
    }
    let exe = std::env::current_exe()?;
    for n in sizes.into_iter().filter(|_| run(Workload::Insight)) {
        let out = std::process::Command::new(&exe)
            .args(["bench", "--insight-only", &n.to_string()])
            .output()?;
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let f: Vec<&str> = line.split(',').collect();
        if let [secs, answers, peak] = f.as_slice() {
            out!(
                "| insight report (8 question types, open text) | {answers} answers | {:.3} s; peak memory {:.1} MiB |",
                secs.parse::<f64>().unwrap_or(0.0),
                peak.parse::<f64>().unwrap_or(0.0)
            );
        } else {
            out!(
                "| insight report | {n} answers | failed: {} |",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
    }
    if run(Workload::Digest) {
        let (secs, reports) =
            bench::digest_run(&dir.join("digest"), surveys, digest_answers).await?;
        out!(
            "| digest | {surveys} surveys, {digest_answers} answers | {secs:.2} s for {reports} reports |"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(ExitCode::SUCCESS)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("canvass-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("ingest"))?;
    std::fs::create_dir_all(dir.join("digest"))?;
    Ok(dir)
}

/// An error and its causes, each cause left out when its text is already in what is printed
/// (libraries often repeat their source's message in their own).
fn plain_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// The file behind a database setting; `None` for an in-memory database.
fn database_file(database: &str) -> Option<PathBuf> {
    let path = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
        .unwrap_or(database);
    if path.contains(":memory:") || path.contains("mode=memory") {
        return None;
    }
    let file = path.split('?').next().unwrap_or(path);
    (!file.is_empty()).then(|| PathBuf::from(file))
}

/// Read-only commands never create a database: a missing file is a typo, not a new install.
fn require_database(database: &str) -> anyhow::Result<()> {
    match database_file(database) {
        Some(f) if !f.exists() => anyhow::bail!(
            "no database at {}: this command creates none; check --database or [storage] \
             database (`canvass run` or `canvass migrate` creates a new one)",
            f.display()
        ),
        _ => Ok(()),
    }
}
