//! The commands of the `canvass` binary: argument types, dispatch, and one file per command
//! family. `anyhow` lives here and in `main.rs` only; the library returns typed errors.

use canvass::app::{App, Options, prompts_dir};
use canvass::config::Config;
use canvass::render::Renderer;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Prints a line to standard output; when the reader has gone (`canvass insights x | head -1`)
/// the program ends quietly with success instead of panicking.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::cli::emit(format!($($t)*))
    };
}

mod backup;
mod bench;
mod check;
mod digest;
mod insights;
mod serve;
mod surveys;
mod transfer;

pub(crate) fn emit(line: String) {
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
pub(crate) struct Cli {
    /// Configuration file.
    #[arg(long, global = true, default_value = "bot.toml")]
    config: PathBuf,
    /// SQLite database path or URL; overrides [storage] database. Unlike the paths in
    /// bot.toml (relative to the config file's folder), a relative path here is relative to
    /// the working folder.
    #[arg(long, global = true)]
    database: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Cmd,
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
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
        only: Option<bench::Workload>,
        /// The canvass binary the end-to-end workloads run (default: this one), e.g. an older
        /// build to compare with.
        #[arg(long)]
        binary: Option<PathBuf>,
        /// Answer counts of the end-to-end workloads, comma-separated (default 10000,100000,1000000).
        #[arg(long, value_delimiter = ',')]
        sizes: Vec<usize>,
        /// Keep the end-to-end workloads' files (CSV, database) in this folder, one
        /// `e2e-SIZE` folder per size, to profile a command on them afterwards.
        #[arg(long)]
        keep: Option<PathBuf>,
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
        format: insights::OutputFormat,
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
        #[arg(long, value_enum, default_value_t = transfer::ExportFormat::Csv)]
        format: transfer::ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// Runs one command; an error is printed by `main` with its causes.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
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
        return Ok(check::check(&cli.config, &opts, offline));
    }
    if let Cmd::Import { .. } | Cmd::Export { .. } = cli.command {
        return transfer::transfer(cli).await;
    }
    if let Cmd::Backup { file } = &cli.command {
        return backup::backup(&cli.config, cli.database.clone(), file).await;
    }
    if let Cmd::Bench {
        smoke,
        insight_only,
        only,
        binary,
        sizes,
        keep,
    } = cli.command
    {
        let e2e = bench::E2e {
            binary,
            sizes,
            keep,
        };
        return bench::bench(smoke, insight_only, only, e2e).await;
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
    let database = opts.database.clone().unwrap_or_else(|| config.database());
    let read_only = matches!(
        cli.command,
        Cmd::Surveys { .. } | Cmd::Insights { .. } | Cmd::Digest { .. }
    );
    let app = if read_only {
        require_database(&database)?;
        App::start_read_only(config, opts).await?
    } else {
        require_folder(&database)?;
        App::start(config, opts).await?
    };
    match cli.command {
        Cmd::Run => serve::run(app).await?,
        Cmd::Console => serve::console(app).await?,
        Cmd::Migrate => {
            let n = app.store.migrate().await?;
            out!("database {} is at migration {n}", app.database);
        }
        Cmd::Surveys { id } => {
            let text = surveys::surveys(&app, id.as_deref()).await?;
            out!("{text}");
        }
        Cmd::Insights {
            survey,
            segment,
            format,
            chart,
            narrative,
        } => {
            let args = insights::Args {
                survey,
                segment,
                format,
                chart,
                narrative,
            };
            insights::insights(&app, args).await?;
        }
        Cmd::Digest { dry_run, status } => digest::digest(&app, dry_run, status).await?,
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

/// A database file is created only in a folder that exists: named here, before anything
/// (the anonymity key either) is created.
fn require_folder(database: &str) -> anyhow::Result<()> {
    let Some(file) = database_file(database) else {
        return Ok(());
    };
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => anyhow::bail!(
            "the folder {} of the database {} does not exist: create it, or check --database \
             or [storage] database",
            dir.display(),
            file.display()
        ),
        _ => Ok(()),
    }
}

/// A survey of `bot.toml` that the database does not hold yet: read-only commands say so
/// rather than bring it in (only the running bot does, at start or on SIGHUP).
pub(super) fn not_loaded(id: &str) -> String {
    format!(
        "survey {id} is in bot.toml but not yet in the database: start the bot or send it \
         SIGHUP (`systemctl reload canvass`) to load it"
    )
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
