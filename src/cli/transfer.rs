//! `canvass import` and `canvass export`: answers collected elsewhere in, a survey's answers
//! out as CSV or JSON.

use anyhow::Context as _;
use canvass::config::Config;
use std::process::ExitCode;

use super::{Cli, Cmd, quit_on_closed_pipe, require_database};

/// `canvass export --format`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum ExportFormat {
    Csv,
    Json,
}

/// `import` and `export`: they need the database (and import the anonymity key), so with
/// `--database` bot.toml is optional and no templates are read.
pub(super) async fn transfer(cli: Cli) -> anyhow::Result<ExitCode> {
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
