//! The store: every SQL statement lives here. SQLite through sqlx, with WAL, foreign keys,
//! numbered migrations applied at start, and `BEGIN IMMEDIATE` for read-modify-write.

mod anon;
mod bench;
mod digest;
mod members;
mod read;
mod reader;
mod respondents;
mod surveys;
mod taps;
mod transfer;

pub use anon::KeyUpgrade;
pub use digest::{Delivery, NewPart, PartOutcome, PartStatus, StoredPart};
pub use members::{MemberData, MemberRow};
pub use reader::Reader;
pub use respondents::{AnswerRow, Who};
pub use surveys::{PostingRow, StoredSurvey, SurveySync};
pub use taps::{TapKey, TapState, TapWrite};
pub use transfer::{ExportAnswer, ImportAnswer, ImportHasher, ImportPerson};

use chrono::{DateTime, TimeZone, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// What went wrong in the store. Users never see these; they are logged with their cause.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt ({what}): {source}")]
    Corrupt {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("could not encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("cannot create salt: {0}")]
    Random(String),
    /// A store task on its own thread (the report read's decoder) panicked or was cancelled.
    #[error("a store task failed: {0}")]
    Task(String),
    #[error(
        "the database {0} is read-only, so no answer could be saved: check the permissions of \
         the file, of its folder and of the -wal and -shm files beside it, the mount, or a \
         mode=ro in the URL"
    )]
    ReadOnly(String),
    #[error("no anonymity key: the store was opened without `with_anon_key`")]
    NoAnonKey,
    #[error(
        "the anonymity key is not the one this database's {respondents} anonymous respondents were \
         keyed with (a lost or replaced key file, or another key_env value). Restore the old key \
         from your backup (privacy.key_file or privacy.key_env). To start over with this key on \
         purpose, run once with CANVASS_ACCEPT_NEW_ANON_KEY=1: members of open anonymous surveys \
         can then answer again as new respondents"
    )]
    AnonKeyChanged { respondents: i64 },
    #[error(
        "the database {database} is at migration {at} and this canvass needs {needs}: run \
         `canvass migrate` (or start the bot) first; this command only reads"
    )]
    Outdated {
        database: String,
        at: i64,
        needs: i64,
    },
}

impl StoreError {
    /// The database is full, read-only or locked for longer than the busy timeout.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Sql(sqlx::Error::Database(e)) => {
                // SQLite's primary result code is the low byte of the extended one: 5 busy,
                // 6 locked, 8 read-only, 10 I/O error (778 is a failed write), 13 full.
                let primary = e
                    .code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .map(|c| c & 0xff);
                if matches!(primary, Some(5 | 6 | 8 | 10 | 13)) {
                    return true;
                }
                let m = e.message().to_ascii_lowercase();
                m.contains("readonly")
                    || m.contains("read-only")
                    || m.contains("full")
                    || m.contains("locked")
                    || m.contains("busy")
                    || m.contains("disk i/o")
            }
            StoreError::Sql(sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut) => true,
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// SQLite has one writer. Queuing writers here, in order, is far faster than letting them
    /// collide on the file lock, where SQLite's busy handler sleeps and retries.
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Bumped whenever a posted poll's message id is recorded, so whoever waits for a posting
    /// to complete (the tests do) need not poll the table.
    postings: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Bumped after every committed write transaction, so whoever waits for a write to be
    /// durable (the tests do) need not poll the tables.
    commits: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// The operator's anonymity key (never stored in the database); anonymous answers need it.
    anon: Option<std::sync::Arc<crate::privacy::AnonKey>>,
}

/// One read-modify-write unit, opened with `BEGIN IMMEDIATE` so concurrent writers queue
/// instead of failing on lock upgrade. Dropping it without `commit` rolls back.
pub struct Tx {
    tx: Transaction<'static, Sqlite>,
    _writer: tokio::sync::OwnedMutexGuard<()>,
    /// Surveys read in this transaction. While it is open no one else can write, and
    /// `set_status` clears it, so a group commit decodes each survey once per batch.
    surveys: std::collections::HashMap<crate::core::ids::SurveyKey, surveys::StoredSurvey>,
    /// (survey, platform, chat) found posted in this transaction; postings are never removed.
    posted: std::collections::HashSet<(crate::core::ids::SurveyKey, String, String)>,
    anon: Option<std::sync::Arc<crate::privacy::AnonKey>>,
    commits: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    postings: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// A posting's message id was recorded: `postings` is bumped after the commit.
    posting_recorded: bool,
}

impl Store {
    /// Opens (creating if missing) the database and applies pending migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        // `file?mode=ro` and other SQLite URL options, as sqlx reads them.
        let opts = if path == ":memory:" {
            SqliteConnectOptions::from_str("sqlite::memory:")?
        } else if path.contains('?') {
            SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
        } else {
            SqliteConnectOptions::new().filename(path)
        }
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Deleted answers (/forgetme) are overwritten on disk, not just unlinked.
        .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(if path == ":memory:" { 1 } else { 4 })
            .acquire_timeout(Duration::from_secs(30))
            // When COMMIT fails on a full disk, SQLite rolls back by itself, the ROLLBACK that
            // sqlx 0.8 then sends fails, and sqlx keeps counting the connection as inside a
            // transaction: it could never begin one again. Such a connection is replaced (the
            // ping first lets a queued rollback run).
            .before_acquire(|conn, _| {
                Box::pin(async move {
                    sqlx::Connection::ping(&mut *conn).await?;
                    Ok(!sqlx::Connection::is_in_transaction(&*conn))
                })
            })
            .connect_with(opts)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            writer: Default::default(),
            postings: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
            commits: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
            anon: None,
        })
    }

    /// Changes each time `record_posting` stores a message id.
    pub fn postings_recorded(&self) -> tokio::sync::watch::Receiver<u64> {
        self.postings.subscribe()
    }

    /// Changes after each committed write transaction.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// Applies migrations only (the `migrate` command); `open` already does this.
    pub async fn migrate(&self) -> Result<usize> {
        MIGRATOR.run(&self.pool).await?;
        Ok(MIGRATOR.iter().count())
    }

    pub async fn begin(&self) -> Result<Tx> {
        let writer = self.writer.clone().lock_owned().await;
        Ok(Tx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _writer: writer,
            surveys: Default::default(),
            posted: Default::default(),
            anon: self.anon.clone(),
            commits: self.commits.clone(),
            postings: self.postings.clone(),
            posting_recorded: false,
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Whether answers can be saved: a write statement that changes nothing, rolled back.
    /// (`BEGIN IMMEDIATE` alone succeeds on a read-only WAL database; a write is refused.)
    /// Opens the database and makes sure answers can be saved in it: a read-only database
    /// (file or folder permissions, a read-only mount, `?mode=ro`) is `ReadOnly`, in plain
    /// words, since no answer, vote or digest could be recorded.
    pub async fn open_writable(database: &str) -> Result<Store> {
        let plain = |e: StoreError| {
            if e.to_string().contains("readonly") {
                StoreError::ReadOnly(database.to_string())
            } else {
                e
            }
        };
        let store = Store::open(database).await.map_err(plain)?;
        store.writable().await.map_err(plain)?;
        Ok(store)
    }

    pub async fn writable(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM install WHERE 0")
            .execute(&mut *tx.tx)
            .await?;
        tx.tx.rollback().await?;
        Ok(())
    }

    /// Writes a consistent copy of the whole database into the new file `path` (`VACUUM
    /// INTO`: one read transaction, so the copy holds exactly the commits made before it
    /// began, while the bot keeps writing). SQLite refuses an existing file.
    /// `VACUUM INTO` over a read-only connection to an existing database: works on a file
    /// the user may only read, and never creates or migrates the source.
    pub async fn backup_read_only(url: &str, into: &std::path::Path) -> Result<()> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let opts = if path.contains('?') {
            SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
        } else {
            SqliteConnectOptions::new().filename(path)
        }
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        let result = sqlx::query("VACUUM INTO ?")
            .bind(into.display().to_string())
            .execute(&pool)
            .await;
        pool.close().await;
        result?;
        Ok(())
    }

    /// Opens an existing database for reading only: nothing is created, migrated or written,
    /// so it works beside a running bot that holds the write lock and on a read-only copy.
    /// A database behind this binary's migrations is refused (`Outdated`).
    pub async fn open_read_only(url: &str) -> Result<Store> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let opts = if path.contains('?') {
            SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
        } else {
            SqliteConnectOptions::new().filename(path)
        }
        .read_only(true)
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(10));
        let (pool, at) = match Self::open_reading(opts.clone()).await {
            // A WAL database copied into a folder nobody may write to, without its -wal and
            // -shm files: SQLite cannot create the shared-memory file it reads through
            // (SQLITE_READONLY_DIRECTORY). Nothing can write there either, so the file is
            // read as immutable. With a -wal file beside it, that would skip its pages:
            // the error stands.
            Err(StoreError::Sql(sqlx::Error::Database(e)))
                if e.code().as_deref() == Some("1544")
                    && !std::path::Path::new(&format!("{}-wal", opts.get_filename().display()))
                        .exists() =>
            {
                Self::open_reading(opts.immutable(true)).await?
            }
            r => r?,
        };
        let needs = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        if at < needs {
            pool.close().await;
            return Err(StoreError::Outdated {
                database: url.to_string(),
                at,
                needs,
            });
        }
        Ok(Self {
            pool,
            writer: Default::default(),
            postings: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
            commits: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
            anon: None,
        })
    }

    /// A read-only pool and the migration version of its database.
    async fn open_reading(opts: SqliteConnectOptions) -> Result<(sqlx::SqlitePool, i64)> {
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await?;
        // A database no migration ran on has no `_sqlx_migrations` table: migration 0.
        let at: i64 = match sqlx::query_as::<_, (Option<i64>,)>(
            "SELECT MAX(version) FROM _sqlx_migrations WHERE success",
        )
        .fetch_one(&pool)
        .await
        {
            Ok(r) => r.0.unwrap_or(0),
            Err(sqlx::Error::Database(e)) if e.message().contains("no such table") => 0,
            Err(e) => {
                pool.close().await;
                return Err(e.into());
            }
        };
        Ok((pool, at))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// `PRAGMA integrity_check`, for tests and the operator.
    /// Copies the WAL into the main file and truncates it, so rows deleted on request do not
    /// linger in old WAL frames (`secure_delete` already zeroes the freed pages of the main
    /// file). Returns false when a reader kept part of the WAL in use.
    pub async fn checkpoint(&self) -> Result<bool> {
        let row: (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.0 == 0)
    }

    pub async fn integrity_check(&self) -> Result<String> {
        let row: (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.0)
    }
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        self.commits.send_modify(|n| *n += 1);
        if self.posting_recorded {
            self.postings.send_modify(|n| *n += 1);
        }
        Ok(())
    }

    /// Undoes the changes of the event whose savepoint `claim_event_in_savepoint` opened last;
    /// the rest of the batch stays.
    pub async fn rollback_event(&mut self) -> Result<()> {
        sqlx::query("ROLLBACK TO event")
            .execute(&mut *self.tx)
            .await?;
        // What was read since may have been rolled back.
        self.surveys.clear();
        self.posted.clear();
        Ok(())
    }

    /// Opens the event's savepoint of a group commit and claims its id, in one round trip.
    /// Savepoints are not released: they nest until the batch commits, and `rollback_event`
    /// undoes only the newest. Returns false when the event was already processed.
    pub async fn claim_event_in_savepoint(
        &mut self,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        // A row comes back only if the insert happened (`rows_affected` would also count the
        // SAVEPOINT's stale change count).
        let claimed: Option<(i64,)> = sqlx::query_as(
            "SAVEPOINT event;
             INSERT INTO processed_events (event_id, processed_at) VALUES (?, ?)
             ON CONFLICT (event_id) DO NOTHING RETURNING 1",
        )
        .bind(event_id)
        .bind(ms(now))
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(claimed.is_some())
    }

    /// Opens the savepoint a write without an event id runs in (`rollback_event` undoes it).
    pub async fn savepoint(&mut self) -> Result<()> {
        sqlx::query("SAVEPOINT event")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Records an inbound event id. Returns false when it was already processed, in which
    /// case the caller must roll back and do nothing.
    pub async fn claim_event(&mut self, event_id: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO processed_events (event_id, processed_at) VALUES (?, ?)
             ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(event_id)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Random bytes for salts.
pub(crate) fn random_salt() -> Result<Vec<u8>> {
    let mut salt = vec![0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(salt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error as SQLite reports it: its extended result code and its message.
    #[derive(Debug)]
    struct Sqlite(&'static str, &'static str);

    impl std::fmt::Display for Sqlite {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "(code: {}) {}", self.0, self.1)
        }
    }

    impl std::error::Error for Sqlite {}

    impl sqlx::error::DatabaseError for Sqlite {
        fn message(&self) -> &str {
            self.1
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    /// A write the disk refused (the file made immutable, an I/O error, a full disk) is
    /// "the database cannot be written", as a locked or read-only one is; a constraint is not.
    #[test]
    fn disk_io_errors_count_as_a_database_that_cannot_be_written() {
        let e = |code, msg| StoreError::Sql(sqlx::Error::Database(Box::new(Sqlite(code, msg))));
        for (code, msg) in [
            ("778", "disk I/O error"),
            ("10", "disk I/O error"),
            ("4874", "disk I/O error"),
            ("13", "database or disk is full"),
            ("8", "attempt to write a readonly database"),
            ("5", "database is locked"),
        ] {
            assert!(e(code, msg).is_unavailable(), "{code} {msg}");
        }
        assert!(!e("2067", "UNIQUE constraint failed: surveys.slug").is_unavailable());
        assert!(!e("1", "no such table: nowhere").is_unavailable());
    }

    #[tokio::test]
    async fn events_are_claimed_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("t.db").to_str().unwrap())
            .await
            .unwrap();
        let now = Utc::now();
        let mut tx = store.begin().await.unwrap();
        assert!(tx.claim_event("e1", now).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.claim_event("e1", now).await.unwrap());
        assert_eq!(store.integrity_check().await.unwrap(), "ok");
        let mode: (String,) = sqlx::query_as("PRAGMA journal_mode")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(mode.0, "wal");
        let fk: (i64,) = sqlx::query_as("PRAGMA foreign_keys")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(fk.0, 1);
    }
}
