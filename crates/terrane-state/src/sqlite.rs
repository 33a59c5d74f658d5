//! The embedded SQLite store (the default, at `.terrane/state.db`).

use std::collections::HashMap;
use std::sync::Arc;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt as _;
use tokio::sync::{mpsc, oneshot};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};

use crate::model::{Actor, Change, Intent, JournalEntry, JournalRow, LockInfo, OutputRecord, ResourceRecord, Snapshot, State, SNAPSHOT_ADDRESS};
use crate::crypto::{self, conceal, reveal, Cipher};
use crate::{StateError, StateStore, FORMAT_VERSION};

/// How long a lock lives without renewal; a crashed holder's lock expires after this.
pub const LOCK_LEASE: Duration = Duration::from_secs(30);

/// How often a running command renews its lock.
pub const LOCK_RENEW_EVERY: Duration = Duration::from_secs(10);

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ','now')";

pub struct SqliteStore {
    pool: SqlitePool,
    cipher: Option<Arc<Cipher>>,
    writes: mpsc::UnboundedSender<WriteJob>,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens an existing state database, or creates it when `create` is set. With a
    /// `key` (the passphrase from TERRANE_STATE_KEY) values are sealed at rest; an
    /// unencrypted database is encrypted whole on first use with a key.
    pub async fn open(path: &Path, create: bool, key: Option<&str>) -> Result<SqliteStore, StateError> {
        let display = path.display().to_string();
        if create {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StateError::Database(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{display}"))
            .map_err(|e| StateError::Database(e.to_string()))?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // One connection: writes are serialised here rather than fighting over SQLite's lock.
        // No idle timeout or lifetime, so sqlx starts no maintenance task: that task can
        // spin at 100% CPU around shutdown (sqlx issue 3645) and keep the process alive.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            // A local file needs no liveness ping, and each ping is a hand-off to sqlx's worker.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| classify(&display, e))?;
        check_and_migrate(&pool, path).await?;
        let cipher = setup_key(&pool, key).await?.map(Arc::new);
        if cipher.is_some() {
            // Deleted rows are overwritten, so sealed state leaves no plain remnants behind.
            sqlx::query("PRAGMA secure_delete = ON").execute(&pool).await?;
        }
        let (writes, jobs) = mpsc::unbounded_channel();
        tokio::spawn(writer(pool.clone(), cipher.clone(), jobs));
        Ok(SqliteStore { pool, cipher, writes, path: path.to_path_buf() })
    }

    fn send(&self, job: WriteJob) -> Result<(), StateError> {
        self.writes.send(job).map_err(|_| writer_gone())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn ensure_workspace(&self, workspace: &str) -> Result<(String, u64), StateError> {
        let row = sqlx::query("SELECT lineage, serial FROM workspaces WHERE name = ?")
            .bind(workspace)
            .fetch_optional(&self.pool)
            .await?;
        if let Some(row) = row {
            return Ok((row.get(0), row.get::<i64, _>(1) as u64));
        }
        let lineage = uuid::Uuid::new_v4().to_string();
        sqlx::query(&format!("INSERT OR IGNORE INTO workspaces (name, lineage, serial, created_at) VALUES (?, ?, 0, {NOW})"))
            .bind(workspace)
            .bind(&lineage)
            .execute(&self.pool)
            .await?;
        Ok((lineage, 0))
    }
}

/// Refuses a file that is not a terrane state database, or is corrupt or newer,
/// before anything is written; then runs the migrations.
async fn check_and_migrate(pool: &SqlitePool, path: &Path) -> Result<(), StateError> {
    let display = path.display().to_string();
    let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
        .fetch_all(pool)
        .await
        .map_err(|e| classify(&display, e))?;
    let check: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(pool)
        .await
        .map_err(|e| classify(&display, e))?;
    if check != "ok" {
        return Err(StateError::Corrupt { path: display, detail: check });
    }
    let ours = tables.iter().any(|t| t == "terrane_meta");
    if !tables.is_empty() && !ours {
        return Err(StateError::NotTerrane { path: display });
    }
    if ours {
        let version: Option<String> =
            sqlx::query_scalar("SELECT value FROM terrane_meta WHERE key = 'format_version'")
                .fetch_optional(pool)
                .await?;
        let found: u32 = version.and_then(|v| v.parse().ok()).unwrap_or(0);
        if found > FORMAT_VERSION {
            return Err(StateError::TooNew { path: display, found, supported: FORMAT_VERSION });
        }
    }
    sqlx::migrate!("../../state-migrations/sqlite")
        .run(pool)
        .await
        .map_err(|e| StateError::Database(format!("migrating {display}: {e}")))?;
    Ok(())
}


/// Checks or sets up the state key: refuses a sealed state without the key or with
/// a wrong one (nothing is written), and seals a plain state the first time a key is given.
async fn setup_key(pool: &SqlitePool, key: Option<&str>) -> Result<Option<Cipher>, StateError> {
    let (check, salt) = (meta(pool, "key_check").await?, meta(pool, "kdf_salt").await?);
    match crypto::key_setup(check, salt, key)? {
        crypto::KeySetup::Plain => Ok(None),
        crypto::KeySetup::Open(cipher) => Ok(Some(cipher)),
        crypto::KeySetup::SealWith(key) => Ok(Some(reseal(pool, None, key).await?)),
    }
}

async fn meta(pool: &SqlitePool, name: &str) -> Result<Option<String>, StateError> {
    Ok(sqlx::query_scalar("SELECT value FROM terrane_meta WHERE key = ?").bind(name).fetch_optional(pool).await?)
}

/// Re-seals every stored value under a new passphrase (with a new salt) in one
/// transaction: first encryption, and key rotation.
async fn reseal(pool: &SqlitePool, old: Option<&Cipher>, new_key: &str) -> Result<Cipher, StateError> {
    let salt = crypto::new_salt();
    let new = Cipher::from_passphrase(new_key, &salt)?;
    let mut tx = pool.begin().await?;
    let columns: [(&str, &str); 5] =
        [("resources", "attributes"), ("outputs", "value"), ("journal", "after"), ("journal", "before"), ("intents", "planned")];
    for (table, column) in columns {
        let rows: Vec<(i64, Option<String>)> = sqlx::query_as(&format!("SELECT rowid, {column} FROM {table}")).fetch_all(&mut *tx).await?;
        for (rowid, value) in rows {
            let Some(value) = value else { continue };
            let plain = crypto::reveal(old, &value)?;
            sqlx::query(&format!("UPDATE {table} SET {column} = ? WHERE rowid = ?"))
                .bind(new.seal(&plain))
                .bind(rowid)
                .execute(&mut *tx)
                .await?;
        }
    }
    for (name, value) in [("kdf_salt", crypto::encode(&salt)), ("key_check", new.seal(crypto::KEY_CHECK))] {
        sqlx::query("INSERT OR REPLACE INTO terrane_meta (key, value) VALUES (?, ?)").bind(name).bind(value).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    // Old plain or old-key pages must not linger in the file or the WAL.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
    sqlx::query("VACUUM").execute(pool).await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(pool).await?;
    Ok(new)
}

/// Bumps the workspace's serial inside `tx`, creating the workspace on first write.
async fn next_serial(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, workspace: &str) -> Result<i64, StateError> {
    take_serial_range(tx, workspace, 1).await
}

/// Advances a workspace's serial by `count` and returns the last one taken
/// (creating the workspace when it is new).
async fn take_serial_range(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, workspace: &str, count: i64) -> Result<i64, StateError> {
    let bumped: Option<i64> = sqlx::query_scalar("UPDATE workspaces SET serial = serial + ? WHERE name = ? RETURNING serial")
        .bind(count)
        .bind(workspace)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(serial) = bumped {
        return Ok(serial);
    }
    sqlx::query(&format!("INSERT INTO workspaces (name, lineage, serial, created_at) VALUES (?, ?, ?, {NOW})"))
        .bind(workspace)
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(count)
        .execute(&mut **tx)
        .await?;
    Ok(count)
}

/// A lease whose holder ran on this host in a process that no longer exists is
/// dead: SQLite state is local, so this is how a crashed run's lock is usually
/// released at once instead of after the lease.
fn holder_is_gone(host: &str, pid: i64, actor: &Actor) -> bool {
    pid > 0
        && host == actor.host
        && pid != i64::from(std::process::id())
        && cfg!(target_os = "linux")
        && !Path::new(&format!("/proc/{pid}")).exists()
}

fn classify(path: &str, e: sqlx::Error) -> StateError {
    let text = e.to_string();
    if text.contains("not a database") || text.contains("malformed") || text.contains("corrupt") {
        StateError::Corrupt { path: path.to_string(), detail: text }
    } else {
        StateError::Database(format!("{path}: {text}"))
    }
}


/// A write the writer task runs; its caller waits on `reply`.
enum WriteJob {
    Intent { workspace: String, intent: Intent, reply: oneshot::Sender<Result<(), StateError>> },
    Commit { workspace: String, change: Change, reply: oneshot::Sender<Result<u64, StateError>> },
}

/// Most writes one transaction takes: enough to amortise a commit, few enough
/// that no caller waits long.
const MAX_BATCH: usize = 256;

fn writer_gone() -> StateError {
    StateError::Database("the state writer stopped".into())
}

/// Group commit: intents and results that arrive while a transaction is being
/// written go together into the next one. Each caller still returns only after
/// its own write is committed, so every resource is recorded as it lands.
async fn writer(pool: SqlitePool, cipher: Option<Arc<Cipher>>, mut jobs: mpsc::UnboundedReceiver<WriteJob>) {
    let cipher = cipher.as_deref();
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match write_batch(&pool, cipher, &batch).await {
            Ok(serials) => {
                for (job, serial) in batch.into_iter().zip(serials) {
                    match job {
                        WriteJob::Intent { reply, .. } => {
                            let _ = reply.send(Ok(()));
                        }
                        WriteJob::Commit { reply, .. } => {
                            let _ = reply.send(Ok(serial));
                        }
                    }
                }
            }
            // One bad write must not fail its neighbours: retry each on its own.
            Err(_) => {
                for job in batch {
                    match job {
                        WriteJob::Intent { workspace, intent, reply } => {
                            let result = async {
                                let mut tx = pool.begin().await?;
                                write_intent(&mut tx, cipher, &workspace, &intent).await?;
                                tx.commit().await?;
                                Ok(())
                            }
                            .await;
                            let _ = reply.send(result);
                        }
                        WriteJob::Commit { workspace, change, reply } => {
                            let result = async {
                                let mut tx = pool.begin().await?;
                                let serial = next_serial(&mut tx, &workspace).await?;
                                let serial = write_change(&mut tx, cipher, &workspace, &change, serial).await?;
                                tx.commit().await?;
                                Ok(serial)
                            }
                            .await;
                            let _ = reply.send(result);
                        }
                    }
                }
            }
        }
    }
}

fn job_address(job: &WriteJob) -> (&str, String) {
    match job {
        WriteJob::Intent { workspace, intent, .. } => (workspace, intent.addr.to_string()),
        WriteJob::Commit { workspace, change, .. } => (workspace, change.addr.to_string()),
    }
}

/// Writes a batch in one transaction sent as one script: `BEGIN IMMEDIATE`, the
/// serial bump of each workspace, one multi-row statement per table, `COMMIT`.
/// On SQLite every execute is a hand-off to sqlx's worker thread, and those
/// hand-offs, not SQLite, are what a large apply spends its time on, so the whole
/// batch is one. Each job's serial is returned (0 for intents). A batch that
/// touches one address twice is written job by job, so the order of its writes
/// is kept exactly.
async fn write_batch(pool: &SqlitePool, cipher: Option<&Cipher>, batch: &[WriteJob]) -> Result<Vec<u64>, StateError> {
    let mut seen = std::collections::HashSet::new();
    if !batch.iter().all(|job| seen.insert(job_address(job))) {
        return write_batch_in_order(pool, cipher, batch).await;
    }
    // Each change's position among its workspace's changes in this batch, and how
    // many changes each workspace has: change k of n gets serial `last - (n - 1 - k)`.
    let mut counts: Vec<(&str, i64)> = Vec::new();
    let positions: Vec<Option<(&str, i64)>> = batch
        .iter()
        .map(|job| match job {
            WriteJob::Commit { workspace, .. } => {
                let position = match counts.iter_mut().find(|(name, _)| name == workspace) {
                    Some((_, count)) => {
                        *count += 1;
                        *count - 1
                    }
                    None => {
                        counts.push((workspace, 1));
                        0
                    }
                };
                Some((workspace.as_str(), position))
            }
            WriteJob::Intent { .. } => None,
        })
        .collect();
    let count_of = |workspace: &str| counts.iter().find(|(name, _)| *name == workspace).map_or(0, |(_, n)| *n);

    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new("BEGIN IMMEDIATE;\n");
    for (workspace, count) in &counts {
        q.push("INSERT OR IGNORE INTO workspaces (name, lineage, serial, created_at) VALUES (")
            .push_bind(workspace.to_string())
            .push(", ")
            .push_bind(uuid::Uuid::new_v4().to_string())
            .push(format!(", 0, {NOW});\n"));
        q.push(format!("UPDATE workspaces SET serial = serial + {count} WHERE name = "))
            .push_bind(workspace.to_string())
            .push(" RETURNING name, serial;\n");
    }
    let intents: Vec<(&str, &Intent)> = batch
        .iter()
        .filter_map(|job| match job {
            WriteJob::Intent { workspace, intent, .. } => Some((workspace.as_str(), intent)),
            WriteJob::Commit { .. } => None,
        })
        .collect();
    if !intents.is_empty() {
        q.push("INSERT OR REPLACE INTO intents (workspace, address, run_id, action, token, provider, planned, created_at) ");
        q.push_values(&intents, |mut row, (workspace, intent)| {
            row.push_bind(workspace.to_string())
                .push_bind(intent.addr.to_string())
                .push_bind(intent.run_id.clone())
                .push_bind(intent.action.clone())
                .push_bind(intent.token.clone())
                .push_bind(intent.provider.clone())
                .push_bind(conceal(cipher, &intent.planned.to_string()))
                .push_bind(intent.created_at.clone());
        });
        q.push(";\n");
    }
    // Where a change's serial is read from: its workspace's bumped row, minus
    // how many of that workspace's changes come after it in the batch.
    let serial_ref = |workspace: &str, position: i64| (workspace.to_string(), count_of(workspace) - 1 - position);
    let commits: Vec<(&Change, (String, i64))> = batch
        .iter()
        .zip(&positions)
        .filter_map(|(job, position)| match (job, position) {
            (WriteJob::Commit { change, .. }, Some((workspace, k))) => Some((change, serial_ref(workspace, *k))),
            _ => None,
        })
        .collect();
    if !commits.is_empty() {
        let mut upserts = Vec::new();
        let mut journal = Vec::new();
        for (change, serial) in &commits {
            let workspace = serial.0.as_str();
            let after = match &change.after {
                Some(record) => {
                    upserts.push((
                        workspace,
                        record,
                        conceal(cipher, &record.attributes.to_string()),
                        serde_json::to_string(&record.sensitive_paths)?,
                        serde_json::to_string(&record.dependencies)?,
                        serial,
                    ));
                    Some(conceal(cipher, &serde_json::to_string(record)?))
                }
                None => {
                    q.push("DELETE FROM resources WHERE workspace = ")
                        .push_bind(workspace.to_string())
                        .push(" AND address = ")
                        .push_bind(change.addr.to_string())
                        .push(";\n");
                    None
                }
            };
            journal.push((workspace, *change, serial, after));
        }
        fn push_serial(row: &mut sqlx::query_builder::Separated<'_, '_, sqlx::Sqlite, &str>, (workspace, back): &(String, i64)) {
            row.push("(SELECT serial FROM workspaces WHERE name = ")
                .push_bind_unseparated(workspace.clone())
                .push_unseparated(format!(") - {back}"));
        }
        if !upserts.is_empty() {
            q.push(
                "INSERT OR REPLACE INTO resources (workspace, address, provider, schema_version, attributes, \
                 sensitive_paths, dependencies, status, create_token, serial) ",
            );
            q.push_values(upserts, |mut row, (workspace, record, attributes, sensitive, dependencies, serial)| {
                row.push_bind(workspace.to_string())
                    .push_bind(record.addr.to_string())
                    .push_bind(record.provider.clone())
                    .push_bind(record.schema_version as i64)
                    .push_bind(attributes)
                    .push_bind(sensitive)
                    .push_bind(dependencies)
                    .push_bind(record.status.as_str().to_string())
                    .push_bind(record.create_token.clone());
                push_serial(&mut row, serial);
            });
            q.push(";\n");
        }
        q.push("INSERT INTO journal (workspace, serial, run_id, actor, address, action, before, after, recorded_at) ");
        q.push_values(journal, |mut row, (workspace, change, serial, after)| {
            row.push_bind(workspace.to_string());
            push_serial(&mut row, serial);
            row.push_bind(change.actor.run_id.clone())
                .push_bind(format!("{}@{}", change.actor.user, change.actor.host))
                .push_bind(change.addr.to_string())
                .push_bind(change.action.clone())
                .push_bind(None::<String>)
                .push_bind(after)
                .push(NOW);
        });
        q.push(";\n");
        let mut by_workspace: HashMap<&str, Vec<String>> = HashMap::new();
        for (change, (workspace, _)) in &commits {
            by_workspace.entry(workspace.as_str()).or_default().push(change.addr.to_string());
        }
        for (workspace, addresses) in by_workspace {
            q.push("DELETE FROM intents WHERE workspace = ").push_bind(workspace.to_string()).push(" AND address IN (");
            let mut list = q.separated(", ");
            for address in addresses {
                list.push_bind(address);
            }
            list.push_unseparated(");\n");
        }
    }
    q.push("COMMIT;");
    let mut conn = pool.acquire().await?;
    // Batches differ in shape, so their scripts are not worth caching as prepared statements.
    let bumped = match q.build().persistent(false).fetch_all(&mut *conn).await {
        Ok(rows) => rows,
        Err(e) => {
            // The script stopped at the failing statement with its transaction open.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            return Err(e.into());
        }
    };
    let last: HashMap<String, i64> = bumped.iter().map(|row| (row.get::<String, _>(0), row.get::<i64, _>(1))).collect();
    Ok(positions
        .iter()
        .map(|position| match position {
            Some((workspace, k)) => last.get(*workspace).map_or(0, |last| (last - (count_of(workspace) - 1 - k)) as u64),
            None => 0,
        })
        .collect())
}

/// Takes the serials of a batch's changes, one statement per workspace (a
/// batch almost always holds one): each change gets its own serial, in order.
async fn take_serials(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, batch: &[WriteJob]) -> Result<Vec<u64>, StateError> {
    let mut taken: Vec<(&str, i64)> = Vec::new();
    for job in batch {
        if let WriteJob::Commit { workspace, .. } = job {
            match taken.iter_mut().find(|(name, _)| name == workspace) {
                Some((_, count)) => *count += 1,
                None => taken.push((workspace, 1)),
            }
        }
    }
    let mut next: HashMap<&str, i64> = HashMap::new();
    for (workspace, count) in taken {
        let last = take_serial_range(tx, workspace, count).await?;
        next.insert(workspace, last - count + 1);
    }
    Ok(batch
        .iter()
        .map(|job| match job {
            WriteJob::Commit { workspace, .. } => next.get_mut(workspace.as_str()).map_or(0, |serial| {
                *serial += 1;
                (*serial - 1) as u64
            }),
            WriteJob::Intent { .. } => 0,
        })
        .collect())
}

/// Writes a batch in one transaction, one job after another.
async fn write_batch_in_order(pool: &SqlitePool, cipher: Option<&Cipher>, batch: &[WriteJob]) -> Result<Vec<u64>, StateError> {
    let mut tx = pool.begin().await?;
    let serials = take_serials(&mut tx, batch).await?;
    for (job, serial) in batch.iter().zip(&serials) {
        match job {
            WriteJob::Intent { workspace, intent, .. } => write_intent(&mut tx, cipher, workspace, intent).await?,
            WriteJob::Commit { workspace, change, .. } => {
                write_change(&mut tx, cipher, workspace, change, *serial as i64).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(serials)
}

async fn write_intent(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, cipher: Option<&Cipher>, workspace: &str, intent: &Intent) -> Result<(), StateError> {
    sqlx::query(
        "INSERT OR REPLACE INTO intents (workspace, address, run_id, action, token, provider, planned, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(workspace)
    .bind(intent.addr.to_string())
    .bind(&intent.run_id)
    .bind(&intent.action)
    .bind(&intent.token)
    .bind(&intent.provider)
    .bind(conceal(cipher, &intent.planned.to_string()))
    .bind(&intent.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}


/// Writes one change at `serial`. The journal's `after` holds the whole record, so
/// any version can be rebuilt without the `before` column, which stays empty here.
async fn write_change(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, cipher: Option<&Cipher>, workspace: &str, change: &Change, serial: i64) -> Result<u64, StateError> {
    let address = change.addr.to_string();
    let before: Option<String> = None;
    let after_json = match &change.after {
        Some(record) => {
            let attributes = conceal(cipher, &record.attributes.to_string());
            sqlx::query(
                "INSERT OR REPLACE INTO resources (workspace, address, provider, schema_version, attributes, \
                 sensitive_paths, dependencies, status, create_token, serial) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(workspace)
            .bind(&address)
            .bind(&record.provider)
            .bind(record.schema_version as i64)
            .bind(&attributes)
            .bind(serde_json::to_string(&record.sensitive_paths)?)
            .bind(serde_json::to_string(&record.dependencies)?)
            .bind(record.status.as_str())
            .bind(&record.create_token)
            .bind(serial)
            .execute(&mut **tx)
            .await?;
            Some(conceal(cipher, &serde_json::to_string(record)?))
        }
        None => {
            sqlx::query("DELETE FROM resources WHERE workspace = ? AND address = ?")
                .bind(workspace)
                .bind(&address)
                .execute(&mut **tx)
                .await?;
            None
        }
    };
    sqlx::query(&format!(
        "INSERT INTO journal (workspace, serial, run_id, actor, address, action, before, after, recorded_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, {NOW})"
    ))
    .bind(workspace)
    .bind(serial)
    .bind(&change.actor.run_id)
    .bind(format!("{}@{}", change.actor.user, change.actor.host))
    .bind(&address)
    .bind(&change.action)
    .bind(before)
    .bind(after_json)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM intents WHERE workspace = ? AND address = ?")
        .bind(workspace)
        .bind(&address)
        .execute(&mut **tx)
        .await?;
    Ok(serial as u64)
}


fn decode_record(row: &sqlx::sqlite::SqliteRow, cipher: Option<&Cipher>) -> Result<ResourceRecord, StateError> {
    ResourceRecord::from_columns(
        row.get("address"),
        row.get("provider"),
        row.get("schema_version"),
        &reveal(cipher, row.get("attributes"))?,
        row.get("sensitive_paths"),
        row.get("dependencies"),
        row.get("status"),
        row.get("create_token"),
    )
}

#[async_trait]
impl StateStore for SqliteStore {
    async fn load(&self, workspace: &str) -> Result<State, StateError> {
        let (lineage, serial) = self.ensure_workspace(workspace).await?;
        let mut state = State { lineage, serial, ..State::default() };
        // Decoded row by row: holding every row as well as every record would
        // double the peak memory of a large state.
        let mut rows = sqlx::query("SELECT * FROM resources WHERE workspace = ?").bind(workspace).fetch(&self.pool);
        let mut records = Vec::new();
        while let Some(row) = rows.try_next().await? {
            let record = decode_record(&row, self.cipher.as_deref())?;
            records.push((record.addr.clone(), record));
        }
        drop(rows);
        // Built from a list, the map's nodes are full (inserted one by one, about half empty).
        state.resources = records.into_iter().collect();
        let rows = sqlx::query("SELECT name, value, sensitive FROM outputs WHERE workspace = ?")
            .bind(workspace)
            .fetch_all(&self.pool)
            .await?;
        for row in rows {
            let name: String = row.get(0);
            let value = serde_json::from_str(&reveal(self.cipher.as_deref(), row.get::<&str, _>(1))?)?;
            state.outputs.insert(name.clone(), OutputRecord { name, value, sensitive: row.get::<i64, _>(2) != 0 });
        }
        let rows = sqlx::query("SELECT address, run_id, action, token, provider, planned, created_at FROM intents WHERE workspace = ?")
            .bind(workspace)
            .fetch_all(&self.pool)
            .await?;
        for row in rows {
            let planned = reveal(self.cipher.as_deref(), row.get::<&str, _>(5))?;
            state.intents.push(Intent::from_columns(row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), &planned, row.get(6))?);
        }
        Ok(state)
    }

    async fn lock(&self, workspace: &str, operation: &str, actor: &Actor) -> Result<LockInfo, StateError> {
        let mut tx = self.pool.begin().await?;
        let held = sqlx::query(
            "SELECT id, operation, who, created_at, host, pid FROM locks \
             WHERE workspace = ? AND expires_at > CAST(strftime('%s','now') AS INTEGER)",
        )
        .bind(workspace)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = held {
            let host: String = row.get(4);
            let pid: i64 = row.get(5);
            if !holder_is_gone(&host, pid, actor) {
                return Err(StateError::Locked(LockInfo {
                    id: row.get(0),
                    operation: row.get(1),
                    who: row.get(2),
                    created_at: row.get(3),
                }));
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        let info = sqlx::query(&format!(
            "INSERT OR REPLACE INTO locks (workspace, id, operation, who, created_at, expires_at, host, pid) \
             VALUES (?, ?, ?, ?, {NOW}, CAST(strftime('%s','now') AS INTEGER) + ?, ?, ?) RETURNING created_at"
        ))
        .bind(workspace)
        .bind(&id)
        .bind(operation)
        .bind(actor.who())
        .bind(LOCK_LEASE.as_secs() as i64)
        .bind(&actor.host)
        .bind(i64::from(std::process::id()))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(LockInfo { id, operation: operation.to_string(), who: actor.who(), created_at: info.get(0) })
    }

    async fn renew_lock(&self, workspace: &str, lock_id: &str) -> Result<(), StateError> {
        let done = sqlx::query(
            "UPDATE locks SET expires_at = CAST(strftime('%s','now') AS INTEGER) + ? WHERE workspace = ? AND id = ?",
        )
        .bind(LOCK_LEASE.as_secs() as i64)
        .bind(workspace)
        .bind(lock_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StateError::LockNotFound(lock_id.to_string()));
        }
        Ok(())
    }

    async fn unlock(&self, workspace: &str, lock_id: &str) -> Result<(), StateError> {
        let done = sqlx::query("DELETE FROM locks WHERE workspace = ? AND id = ?")
            .bind(workspace)
            .bind(lock_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StateError::LockNotFound(lock_id.to_string()));
        }
        Ok(())
    }

    async fn record_intent(&self, workspace: &str, intent: &Intent) -> Result<(), StateError> {
        let (reply, answer) = oneshot::channel();
        self.send(WriteJob::Intent { workspace: workspace.to_string(), intent: intent.clone(), reply })?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn clear_intent(&self, workspace: &str, address: &str) -> Result<(), StateError> {
        sqlx::query("DELETE FROM intents WHERE workspace = ? AND address = ?")
            .bind(workspace)
            .bind(address)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn commit(&self, workspace: &str, change: Change) -> Result<u64, StateError> {
        let (reply, answer) = oneshot::channel();
        self.send(WriteJob::Commit { workspace: workspace.to_string(), change, reply })?;
        answer.await.map_err(|_| writer_gone())?
    }

    async fn set_outputs(&self, workspace: &str, actor: &Actor, outputs: Vec<OutputRecord>) -> Result<u64, StateError> {
        let mut tx = self.pool.begin().await?;
        let serial = next_serial(&mut tx, workspace).await?;
        sqlx::query("DELETE FROM outputs WHERE workspace = ?").bind(workspace).execute(&mut *tx).await?;
        for output in &outputs {
            sqlx::query("INSERT INTO outputs (workspace, name, value, sensitive) VALUES (?, ?, ?, ?)")
                .bind(workspace)
                .bind(&output.name)
                .bind(conceal(self.cipher.as_deref(), &output.value.to_string()))
                .bind(i64::from(output.sensitive))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(&format!(
            "INSERT INTO journal (workspace, serial, run_id, actor, address, action, before, after, recorded_at) \
             VALUES (?, ?, ?, ?, 'outputs', 'outputs', NULL, ?, {NOW})"
        ))
        .bind(workspace)
        .bind(serial)
        .bind(&actor.run_id)
        .bind(format!("{}@{}", actor.user, actor.host))
        .bind(conceal(self.cipher.as_deref(), &serde_json::to_string(&outputs)?))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(serial as u64)
    }

    async fn move_instance(&self, workspace: &str, from: &str, to: &str, actor: &Actor) -> Result<u64, StateError> {
        let mut tx = self.pool.begin().await?;
        let taken: Option<String> = sqlx::query_scalar("SELECT address FROM resources WHERE workspace = ? AND address = ?")
            .bind(workspace)
            .bind(to)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StateError::AddressTaken(to.to_string()));
        }
        let serial = next_serial(&mut tx, workspace).await?;
        let moved = sqlx::query("UPDATE resources SET address = ?, serial = ? WHERE workspace = ? AND address = ?")
            .bind(to)
            .bind(serial)
            .bind(workspace)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        if moved.rows_affected() == 0 {
            return Err(StateError::NoSuchInstance(from.to_string()));
        }
        sqlx::query(&format!(
            "INSERT INTO journal (workspace, serial, run_id, actor, address, action, before, after, recorded_at) \
             VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, {NOW})"
        ))
        .bind(workspace)
        .bind(serial)
        .bind(&actor.run_id)
        .bind(format!("{}@{}", actor.user, actor.host))
        .bind(to)
        .bind(crate::model::move_action(from))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(serial as u64)
    }

    async fn journal_rows(&self, workspace: &str, up_to: u64) -> Result<Vec<JournalRow>, StateError> {
        let rows = sqlx::query("SELECT serial, address, action, after FROM journal WHERE workspace = ? AND serial <= ? ORDER BY serial")
            .bind(workspace)
            .bind(up_to as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let after: Option<String> = row.get(3);
                Ok(JournalRow {
                    serial: row.get::<i64, _>(0) as u64,
                    address: row.get(1),
                    action: row.get(2),
                    after: after.map(|a| reveal(self.cipher.as_deref(), &a)).transpose()?,
                })
            })
            .collect::<Result<_, StateError>>()?)
    }

    async fn restore(&self, workspace: &str, snapshot: &Snapshot, actor: &Actor, label: &str) -> Result<u64, StateError> {
        let mut tx = self.pool.begin().await?;
        let serial = next_serial(&mut tx, workspace).await?;
        sqlx::query("DELETE FROM resources WHERE workspace = ?").bind(workspace).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM outputs WHERE workspace = ?").bind(workspace).execute(&mut *tx).await?;
        for record in &snapshot.resources {
            sqlx::query(
                "INSERT INTO resources (workspace, address, provider, schema_version, attributes, sensitive_paths, \
                 dependencies, status, create_token, serial) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(workspace)
            .bind(record.addr.to_string())
            .bind(&record.provider)
            .bind(record.schema_version as i64)
            .bind(conceal(self.cipher.as_deref(), &record.attributes.to_string()))
            .bind(serde_json::to_string(&record.sensitive_paths)?)
            .bind(serde_json::to_string(&record.dependencies)?)
            .bind(record.status.as_str())
            .bind(&record.create_token)
            .bind(serial)
            .execute(&mut *tx)
            .await?;
        }
        for output in &snapshot.outputs {
            sqlx::query("INSERT INTO outputs (workspace, name, value, sensitive) VALUES (?, ?, ?, ?)")
                .bind(workspace)
                .bind(&output.name)
                .bind(conceal(self.cipher.as_deref(), &output.value.to_string()))
                .bind(i64::from(output.sensitive))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(&format!(
            "INSERT INTO journal (workspace, serial, run_id, actor, address, action, before, after, recorded_at) \
             VALUES (?, ?, ?, ?, ?, ?, NULL, ?, {NOW})"
        ))
        .bind(workspace)
        .bind(serial)
        .bind(&actor.run_id)
        .bind(format!("{}@{}", actor.user, actor.host))
        .bind(SNAPSHOT_ADDRESS)
        .bind(label)
        .bind(conceal(self.cipher.as_deref(), &serde_json::to_string(snapshot)?))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(serial as u64)
    }

    async fn set_lineage(&self, workspace: &str, lineage: &str) -> Result<(), StateError> {
        self.load(workspace).await?;
        sqlx::query("UPDATE workspaces SET lineage = ? WHERE name = ?").bind(lineage).bind(workspace).execute(&self.pool).await?;
        Ok(())
    }

    async fn rekey(&self, new_key: &str) -> Result<(), StateError> {
        reseal(&self.pool, self.cipher.as_deref(), new_key).await.map(|_| ())
    }

    async fn workspaces(&self) -> Result<Vec<String>, StateError> {
        Ok(sqlx::query_scalar("SELECT name FROM workspaces ORDER BY name").fetch_all(&self.pool).await?)
    }

    async fn delete_workspace(&self, workspace: &str) -> Result<(), StateError> {
        let mut tx = self.pool.begin().await?;
        for table in ["resources", "outputs", "journal", "intents", "locks"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE workspace = ?")).bind(workspace).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM workspaces WHERE name = ?").bind(workspace).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn history(&self, workspace: &str) -> Result<Vec<JournalEntry>, StateError> {
        let rows = sqlx::query(
            "SELECT serial, run_id, actor, address, action, recorded_at FROM journal WHERE workspace = ? ORDER BY serial",
        )
        .bind(workspace)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| JournalEntry {
                serial: row.get::<i64, _>(0) as u64,
                run_id: row.get(1),
                actor: row.get(2),
                address: row.get(3),
                action: row.get(4),
                recorded_at: row.get(5),
            })
            .collect())
    }
}
