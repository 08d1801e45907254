//! `canvass backup FILE`: a consistent copy of the database, never over an existing file.

use anyhow::Context as _;
use canvass::config::Config;
use std::path::Path;
use std::process::ExitCode;

/// Copies the database into `file` read-only: no migration, nothing written into it.
pub(super) async fn backup(
    config: &Path,
    database: Option<String>,
    file: &Path,
) -> anyhow::Result<ExitCode> {
    if file.exists() {
        anyhow::bail!(
            "{} already exists; canvass backup never overwrites a file: choose a new name \
             or move the old one away",
            file.display()
        );
    }
    let database = match database {
        Some(d) => d,
        None => Config::load(config)?.database(),
    };
    super::require_database(&database)?;
    // Read-only: a backup writes nothing into the database (no migration either).
    let result = canvass::store::Store::backup_read_only(&database, file).await;
    result.with_context(|| format!("backing up {database} into {}", file.display()))?;
    out!("backup of {database} written to {}", file.display());
    Ok(ExitCode::SUCCESS)
}
