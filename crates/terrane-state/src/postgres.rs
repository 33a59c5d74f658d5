//! The PostgreSQL store, for teams and CI runners that share state. The same
//! tables as SQLite (`state-migrations/postgres/`), in a schema of their own; the
//! workspace lock is a session advisory lock, so it dies with its holder's connection.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Row};
use tokio::sync::Mutex;

use crate::model::{Actor, Change, Intent, JournalEntry, JournalRow, LockInfo, OutputRecord, ResourceRecord, Snapshot, State, SNAPSHOT_ADDRESS};
use crate::crypto::{self, conceal, reveal, Cipher};
use crate::{StateError, StateStore, FORMAT_VERSION};

const NOW: &str = "to_char(now() AT TIME ZONE 'utc', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";

pub struct PostgresStore {
    pool: PgPool,
    cipher: Option<Cipher>,
    schema: String,
    /// The connection holding each workspace's advisory lock, by lock id.
    held: Mutex<Vec<(String, String, PoolConnection<Postgres>)>>,
}

fn db(e: sqlx::Error) -> StateError {
    StateError::Database(e.to_string())
}

/// The advisory lock key of a workspace in a schema.
fn lock_key(schema: &str, workspace: &str) -> i64 {
    // FNV-1a: stable across processes and builds, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in schema.bytes().chain([0u8]).chain(workspace.bytes()) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}

impl PostgresStore {
    /// Connects, creates the schema if needed, refuses a schema that holds someone
    /// else's tables or a newer format, and runs migrations.
    pub async fn open(url: &str, schema: &str, key: Option<&str>) -> Result<PostgresStore, StateError> {

        if schema.is_empty() || !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StateError::Database(format!("invalid schema name {schema:?}: use letters, digits and _")));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StateError::Database(format!("invalid PostgreSQL URL: {e}")))?
            .options([("search_path", schema)]);
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .min_connections(0)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|e| StateError::Database(format!("cannot connect to PostgreSQL: {e}")))?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&pool).await.map_err(db)?;
        let tables: Vec<String> = sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1")
            .bind(schema)
            .fetch_all(&pool)
            .await
            .map_err(db)?;
        let ours = tables.iter().any(|t| t == "terrane_meta");
        if !tables.is_empty() && !ours {
            return Err(StateError::NotTerrane { path: format!("PostgreSQL schema {schema}") });
        }
        if ours {
            let version: Option<String> = sqlx::query_scalar("SELECT value FROM terrane_meta WHERE key = 'format_version'")
                .fetch_optional(&pool)
                .await
                .map_err(db)?;
            let found: u32 = version.and_then(|v| v.parse().ok()).unwrap_or(0);
            if found > FORMAT_VERSION {
                return Err(StateError::TooNew { path: format!("PostgreSQL schema {schema}"), found, supported: FORMAT_VERSION });
            }
        }
        sqlx::migrate!("../../state-migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StateError::Database(format!("migrating schema {schema}: {e}")))?;
        let cipher = setup_key(&pool, key).await?;
        Ok(PostgresStore { pool, cipher, schema: schema.to_string(), held: Mutex::new(Vec::new()) })
    }

    async fn ensure_workspace(&self, workspace: &str) -> Result<(String, u64), StateError> {
        sqlx::query(&format!(
            "INSERT INTO workspaces (name, lineage, serial, created_at) VALUES ($1, $2, 0, {NOW}) ON CONFLICT (name) DO NOTHING"
        ))
        .bind(workspace)
        .bind(uuid::Uuid::new_v4().to_string())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        let row = sqlx::query("SELECT lineage, serial FROM workspaces WHERE name = $1")
            .bind(workspace)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok((row.get(0), row.get::<i64, _>(1) as u64))
    }
}

/// Checks or sets up the state key, as the SQLite store does.
async fn setup_key(pool: &PgPool, key: Option<&str>) -> Result<Option<Cipher>, StateError> {
    let (check, salt) = (meta(pool, "key_check").await?, meta(pool, "kdf_salt").await?);
    match crypto::key_setup(check, salt, key)? {
        crypto::KeySetup::Plain => Ok(None),
        crypto::KeySetup::Open(cipher) => Ok(Some(cipher)),
        crypto::KeySetup::SealWith(key) => Ok(Some(reseal(pool, None, key).await?)),
    }
}

async fn meta(pool: &PgPool, name: &str) -> Result<Option<String>, StateError> {
    sqlx::query_scalar("SELECT value FROM terrane_meta WHERE key = $1").bind(name).fetch_optional(pool).await.map_err(db)
}

/// Re-seals every stored value under a new passphrase in one transaction.
async fn reseal(pool: &PgPool, old: Option<&Cipher>, new_key: &str) -> Result<Cipher, StateError> {
    let salt = crypto::new_salt();
    let new = Cipher::from_passphrase(new_key, &salt)?;
    let mut tx = pool.begin().await.map_err(db)?;
    let columns: [(&str, &str); 5] =
        [("resources", "attributes"), ("outputs", "value"), ("journal", "after"), ("journal", "before"), ("intents", "planned")];
    for (table, column) in columns {
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as(&format!("SELECT ctid::text, {column} FROM {table}")).fetch_all(&mut *tx).await.map_err(db)?;
        for (ctid, value) in rows {
            let Some(value) = value else { continue };
            let plain = crypto::reveal(old, &value)?;
            sqlx::query(&format!("UPDATE {table} SET {column} = $1 WHERE ctid = $2::tid"))
                .bind(new.seal(&plain))
                .bind(ctid)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
    }
    for (name, value) in [("kdf_salt", crypto::encode(&salt)), ("key_check", new.seal(crypto::KEY_CHECK))] {
        sqlx::query("INSERT INTO terrane_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2")
            .bind(name)
            .bind(value)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    Ok(new)
}

/// Bumps the workspace's serial inside `tx`, creating the workspace on first write.
async fn next_serial(tx: &mut sqlx::Transaction<'_, Postgres>, workspace: &str) -> Result<i64, StateError> {
    let serial: i64 = sqlx::query_scalar(&format!(
        "INSERT INTO workspaces (name, lineage, serial, created_at) VALUES ($1, $2, 1, {NOW}) \
         ON CONFLICT (name) DO UPDATE SET serial = workspaces.serial + 1 RETURNING serial"
    ))
    .bind(workspace)
    .bind(uuid::Uuid::new_v4().to_string())
    .fetch_one(&mut **tx)
    .await
    .map_err(db)?;
    Ok(serial)
}

async fn journal(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    workspace: &str,
    serial: i64,
    actor: &Actor,
    address: &str,
    action: &str,
    before: Option<String>,
    after: Option<String>,
) -> Result<(), StateError> {
    sqlx::query(&format!(
        "INSERT INTO journal (workspace, serial, run_id, actor, address, action, before, after, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {NOW})"
    ))
    .bind(workspace)
    .bind(serial)
    .bind(&actor.run_id)
    .bind(format!("{}@{}", actor.user, actor.host))
    .bind(address)
    .bind(action)
    .bind(before)
    .bind(after)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

#[async_trait]
impl StateStore for PostgresStore {
    async fn load(&self, workspace: &str) -> Result<State, StateError> {
        let (lineage, serial) = self.ensure_workspace(workspace).await?;
        let mut state = State { lineage, serial, ..State::default() };
        let rows = sqlx::query(
            "SELECT address, provider, schema_version, attributes, sensitive_paths, dependencies, status, create_token \
             FROM resources WHERE workspace = $1",
        )
        .bind(workspace)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let record = ResourceRecord::from_columns(
                row.get(0),
                row.get(1),
                row.get(2),
                &reveal(self.cipher.as_ref(), row.get(3))?,
                row.get(4),
                row.get(5),
                row.get(6),
                row.get(7),
            )?;
            records.push((record.addr.clone(), record));
        }
        drop(rows);
        state.resources = records.into_iter().collect();
        let rows = sqlx::query("SELECT name, value, sensitive FROM outputs WHERE workspace = $1")
            .bind(workspace)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        for row in rows {
            let name: String = row.get(0);
            let value = serde_json::from_str(&reveal(self.cipher.as_ref(), row.get::<&str, _>(1))?)?;
            state.outputs.insert(name.clone(), OutputRecord { name, value, sensitive: row.get(2) });
        }
        let rows = sqlx::query("SELECT address, run_id, action, token, provider, planned, created_at FROM intents WHERE workspace = $1")
            .bind(workspace)
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        for row in rows {
            let planned = reveal(self.cipher.as_ref(), row.get::<&str, _>(5))?;
            state.intents.push(Intent::from_columns(row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), &planned, row.get(6))?);
        }
        Ok(state)
    }

    async fn lock(&self, workspace: &str, operation: &str, actor: &Actor) -> Result<LockInfo, StateError> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(lock_key(&self.schema, workspace))
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
        if !got {
            let row = sqlx::query("SELECT id, operation, who, created_at FROM locks WHERE workspace = $1")
                .bind(workspace)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db)?;
            let info = match row {
                Some(row) => LockInfo { id: row.get(0), operation: row.get(1), who: row.get(2), created_at: row.get(3) },
                None => LockInfo { id: "unknown".into(), operation: "unknown".into(), who: "another session".into(), created_at: "just now".into() },
            };
            return Err(StateError::Locked(info));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let created_at: String = sqlx::query_scalar(&format!(
            "INSERT INTO locks (workspace, id, operation, who, created_at) VALUES ($1, $2, $3, $4, {NOW}) \
             ON CONFLICT (workspace) DO UPDATE SET id = $2, operation = $3, who = $4, created_at = EXCLUDED.created_at \
             RETURNING created_at"
        ))
        .bind(workspace)
        .bind(&id)
        .bind(operation)
        .bind(actor.who())
        .fetch_one(&mut *conn)
        .await
        .map_err(db)?;
        self.held.lock().await.push((workspace.to_string(), id.clone(), conn));
        Ok(LockInfo { id, operation: operation.to_string(), who: actor.who(), created_at })
    }

    async fn renew_lock(&self, _workspace: &str, lock_id: &str) -> Result<(), StateError> {
        // The advisory lock lives as long as its connection: nothing to renew, only to check.
        let held = self.held.lock().await;
        if held.iter().any(|(_, id, _)| id == lock_id) {
            Ok(())
        } else {
            Err(StateError::LockNotFound(lock_id.to_string()))
        }
    }

    async fn unlock(&self, workspace: &str, lock_id: &str) -> Result<(), StateError> {
        let mut held = self.held.lock().await;
        if let Some(pos) = held.iter().position(|(w, id, _)| w == workspace && id == lock_id) {
            let (_, _, mut conn) = held.remove(pos);
            sqlx::query("DELETE FROM locks WHERE workspace = $1 AND id = $2")
                .bind(workspace)
                .bind(lock_id)
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(lock_key(&self.schema, workspace))
                .execute(&mut *conn)
                .await
                .map_err(db)?;
            return Ok(());
        }
        drop(held);
        // Another process's lock: only its row can be cleared (force-unlock); the
        // advisory lock itself goes when that process's connection does.
        let done = sqlx::query("DELETE FROM locks WHERE workspace = $1 AND id = $2")
            .bind(workspace)
            .bind(lock_id)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StateError::LockNotFound(lock_id.to_string()));
        }
        Ok(())
    }

    async fn record_intent(&self, workspace: &str, intent: &Intent) -> Result<(), StateError> {
        sqlx::query(
            "INSERT INTO intents (workspace, address, run_id, action, token, provider, planned, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (workspace, address) DO UPDATE SET \
             run_id = $3, action = $4, token = $5, provider = $6, planned = $7, created_at = EXCLUDED.created_at",
        )
        .bind(workspace)
        .bind(intent.addr.to_string())
        .bind(&intent.run_id)
        .bind(&intent.action)
        .bind(&intent.token)
        .bind(&intent.provider)
        .bind(conceal(self.cipher.as_ref(), &intent.planned.to_string()))
        .bind(&intent.created_at)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn clear_intent(&self, workspace: &str, address: &str) -> Result<(), StateError> {
        sqlx::query("DELETE FROM intents WHERE workspace = $1 AND address = $2")
            .bind(workspace)
            .bind(address)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn commit(&self, workspace: &str, change: Change) -> Result<u64, StateError> {
        // One statement (data-modifying CTEs): one round trip instead of six, and
        // the workspace's serial row, on which concurrent commits queue, is locked
        // only while it runs rather than across round trips. It is atomic as a
        // transaction was. The journal's after holds the whole record; before stays empty.
        let resource = match &change.after {
            Some(_) => {
                "r AS (INSERT INTO resources (workspace, address, provider, schema_version, attributes, sensitive_paths, \
                 dependencies, status, create_token, serial) SELECT $1, $3, $8, $9, $10, $11, $12, $13, $14, serial FROM s \
                 ON CONFLICT (workspace, address) DO UPDATE SET provider = EXCLUDED.provider, \
                 schema_version = EXCLUDED.schema_version, attributes = EXCLUDED.attributes, \
                 sensitive_paths = EXCLUDED.sensitive_paths, dependencies = EXCLUDED.dependencies, \
                 status = EXCLUDED.status, create_token = EXCLUDED.create_token, serial = EXCLUDED.serial)"
            }
            None => "r AS (DELETE FROM resources WHERE workspace = $1 AND address = $3)",
        };
        let statement = format!(
            "WITH s AS (INSERT INTO workspaces (name, lineage, serial, created_at) VALUES ($1, $2, 1, {NOW}) \
             ON CONFLICT (name) DO UPDATE SET serial = workspaces.serial + 1 RETURNING serial), {resource}, \
             j AS (INSERT INTO journal (workspace, serial, run_id, actor, address, action, before, after, recorded_at) \
             SELECT $1, serial, $4, $5, $3, $6, NULL, $7, {NOW} FROM s), \
             i AS (DELETE FROM intents WHERE workspace = $1 AND address = $3) \
             SELECT serial FROM s"
        );
        let after = match &change.after {
            Some(record) => Some(conceal(self.cipher.as_ref(), &serde_json::to_string(record)?)),
            None => None,
        };
        let mut query = sqlx::query_scalar::<_, i64>(&statement)
            .bind(workspace)
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(change.addr.to_string())
            .bind(&change.actor.run_id)
            .bind(format!("{}@{}", change.actor.user, change.actor.host))
            .bind(&change.action)
            .bind(after);
        if let Some(record) = &change.after {
            query = query
                .bind(&record.provider)
                .bind(record.schema_version as i64)
                .bind(conceal(self.cipher.as_ref(), &record.attributes.to_string()))
                .bind(serde_json::to_string(&record.sensitive_paths)?)
                .bind(serde_json::to_string(&record.dependencies)?)
                .bind(record.status.as_str())
                .bind(&record.create_token);
        }
        let serial = query.fetch_one(&self.pool).await.map_err(db)?;
        Ok(serial as u64)
    }

    async fn set_outputs(&self, workspace: &str, actor: &Actor, outputs: Vec<OutputRecord>) -> Result<u64, StateError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let serial = next_serial(&mut tx, workspace).await?;
        sqlx::query("DELETE FROM outputs WHERE workspace = $1").bind(workspace).execute(&mut *tx).await.map_err(db)?;
        for output in &outputs {
            sqlx::query("INSERT INTO outputs (workspace, name, value, sensitive) VALUES ($1, $2, $3, $4)")
                .bind(workspace)
                .bind(&output.name)
                .bind(conceal(self.cipher.as_ref(), &output.value.to_string()))
                .bind(output.sensitive)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        journal(&mut tx, workspace, serial, actor, "outputs", "outputs", None, Some(conceal(self.cipher.as_ref(), &serde_json::to_string(&outputs)?))).await?;
        tx.commit().await.map_err(db)?;
        Ok(serial as u64)
    }

    async fn move_instance(&self, workspace: &str, from: &str, to: &str, actor: &Actor) -> Result<u64, StateError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let taken: Option<String> = sqlx::query_scalar("SELECT address FROM resources WHERE workspace = $1 AND address = $2")
            .bind(workspace)
            .bind(to)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?;
        if taken.is_some() {
            return Err(StateError::AddressTaken(to.to_string()));
        }
        let serial = next_serial(&mut tx, workspace).await?;
        let moved = sqlx::query("UPDATE resources SET address = $1, serial = $2 WHERE workspace = $3 AND address = $4")
            .bind(to)
            .bind(serial)
            .bind(workspace)
            .bind(from)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if moved.rows_affected() == 0 {
            return Err(StateError::NoSuchInstance(from.to_string()));
        }
        journal(&mut tx, workspace, serial, actor, to, &crate::model::move_action(from), None, None).await?;
        tx.commit().await.map_err(db)?;
        Ok(serial as u64)
    }

    async fn journal_rows(&self, workspace: &str, up_to: u64) -> Result<Vec<JournalRow>, StateError> {
        let rows = sqlx::query("SELECT serial, address, action, after FROM journal WHERE workspace = $1 AND serial <= $2 ORDER BY serial")
            .bind(workspace)
            .bind(up_to as i64)
            .fetch_all(&self.pool)
            .await.map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let after: Option<String> = row.get(3);
                Ok(JournalRow {
                    serial: row.get::<i64, _>(0) as u64,
                    address: row.get(1),
                    action: row.get(2),
                    after: after.map(|a| reveal(self.cipher.as_ref(), &a)).transpose()?,
                })
            })
            .collect::<Result<_, StateError>>()?)
    }

    async fn restore(&self, workspace: &str, snapshot: &Snapshot, actor: &Actor, label: &str) -> Result<u64, StateError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let serial = next_serial(&mut tx, workspace).await?;
        sqlx::query("DELETE FROM resources WHERE workspace = $1").bind(workspace).execute(&mut *tx).await.map_err(db)?;
        sqlx::query("DELETE FROM outputs WHERE workspace = $1").bind(workspace).execute(&mut *tx).await.map_err(db)?;
        for record in &snapshot.resources {
            sqlx::query(
                "INSERT INTO resources (workspace, address, provider, schema_version, attributes, sensitive_paths, \
                 dependencies, status, create_token, serial) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(workspace)
            .bind(record.addr.to_string())
            .bind(&record.provider)
            .bind(record.schema_version as i64)
            .bind(conceal(self.cipher.as_ref(), &record.attributes.to_string()))
            .bind(serde_json::to_string(&record.sensitive_paths)?)
            .bind(serde_json::to_string(&record.dependencies)?)
            .bind(record.status.as_str())
            .bind(&record.create_token)
            .bind(serial)
            .execute(&mut *tx)
            .await.map_err(db)?;
        }
        for output in &snapshot.outputs {
            sqlx::query("INSERT INTO outputs (workspace, name, value, sensitive) VALUES ($1, $2, $3, $4)")
                .bind(workspace)
                .bind(&output.name)
                .bind(conceal(self.cipher.as_ref(), &output.value.to_string()))
                .bind(output.sensitive)
                .execute(&mut *tx)
                .await.map_err(db)?;
        }
        journal(&mut tx, workspace, serial, actor, SNAPSHOT_ADDRESS, label, None, Some(conceal(self.cipher.as_ref(), &serde_json::to_string(snapshot)?))).await?;
        tx.commit().await.map_err(db)?;
        Ok(serial as u64)
    }

    async fn set_lineage(&self, workspace: &str, lineage: &str) -> Result<(), StateError> {
        self.load(workspace).await?;
        sqlx::query("UPDATE workspaces SET lineage = $1 WHERE name = $2").bind(lineage).bind(workspace).execute(&self.pool).await.map_err(db)?;
        Ok(())
    }

    async fn rekey(&self, new_key: &str) -> Result<(), StateError> {
        reseal(&self.pool, self.cipher.as_ref(), new_key).await.map(|_| ())
    }

    async fn workspaces(&self) -> Result<Vec<String>, StateError> {
        Ok(sqlx::query_scalar("SELECT name FROM workspaces ORDER BY name").fetch_all(&self.pool).await.map_err(db)?)
    }

    async fn delete_workspace(&self, workspace: &str) -> Result<(), StateError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for table in ["resources", "outputs", "journal", "intents", "locks"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE workspace = $1")).bind(workspace).execute(&mut *tx).await.map_err(db)?;
        }
        sqlx::query("DELETE FROM workspaces WHERE name = $1").bind(workspace).execute(&mut *tx).await.map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(())
    }

    async fn history(&self, workspace: &str) -> Result<Vec<JournalEntry>, StateError> {
        let rows = sqlx::query(
            "SELECT serial, run_id, actor, address, action, recorded_at FROM journal WHERE workspace = $1 ORDER BY serial",
        )
        .bind(workspace)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
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
