//! State: what terrane manages. The model, the `StateStore` trait, the SQLite
//! store (embedded default) and the PostgreSQL store (for teams). Every write is a small transaction that bumps the
//! serial and is journaled; nothing rewrites the whole state.

pub mod crypto;
mod model;
mod postgres;
mod sqlite;
pub mod tfstate;

use async_trait::async_trait;

pub use model::{move_action, Actor, Change, Intent, JournalEntry, JournalRow, LockInfo, OutputRecord, ResourceRecord, Snapshot, State, Status, SNAPSHOT_ADDRESS};
pub use postgres::PostgresStore;
pub use sqlite::{SqliteStore, LOCK_LEASE, LOCK_RENEW_EVERY};

/// The persisted format this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the state database {path} is corrupt: {detail}")]
    Corrupt { path: String, detail: String },
    #[error("{path} is not a terrane state database")]
    NotTerrane { path: String },
    #[error("the state in {path} was written by a newer terrane (format {found}; this build reads up to {supported})")]
    TooNew { path: String, found: u32, supported: u32 },
    #[error("the workspace is locked by {} ({} since {}, lock id {})", .0.who, .0.operation, .0.created_at, .0.id)]
    Locked(LockInfo),
    #[error("no lock with id {0} is held")]
    LockNotFound(String),
    #[error("the state has changed since it was read (serial {expected} expected, {found} found)")]
    Stale { expected: u64, found: u64 },
    #[error("there is no version {asked}: versions run from 1 to {latest}")]
    NoSuchVersion { asked: u64, latest: u64 },
    #[error("{0} is already in state")]
    AddressTaken(String),
    #[error("{0} is not in state")]
    NoSuchInstance(String),
    #[error("the state is encrypted: set TERRANE_STATE_KEY to its passphrase")]
    KeyRequired,
    #[error("TERRANE_STATE_KEY does not open this state: it was encrypted with another key")]
    WrongKey,
    #[error("state database error: {0}")]
    Database(String),
    #[error("invalid state data: {0}")]
    Data(String),
}

impl From<sqlx::Error> for StateError {
    fn from(e: sqlx::Error) -> StateError {
        StateError::Database(e.to_string())
    }
}

impl From<serde_json::Error> for StateError {
    fn from(e: serde_json::Error) -> StateError {
        StateError::Data(e.to_string())
    }
}

#[async_trait]
pub trait StateStore: Send + Sync {
    /// The workspace's current state (empty, with a fresh lineage, when it has none).
    async fn load(&self, workspace: &str) -> Result<State, StateError>;

    /// Takes the workspace lock or reports who holds it. An expired lease is taken over.
    async fn lock(&self, workspace: &str, operation: &str, actor: &Actor) -> Result<LockInfo, StateError>;

    /// Extends the lease of a held lock.
    async fn renew_lock(&self, workspace: &str, lock_id: &str) -> Result<(), StateError>;

    async fn unlock(&self, workspace: &str, lock_id: &str) -> Result<(), StateError>;

    /// Records that a provider call is about to happen, before it happens.
    async fn record_intent(&self, workspace: &str, intent: &Intent) -> Result<(), StateError>;

    /// Drops an intent whose outcome is known to have made nothing.
    async fn clear_intent(&self, workspace: &str, address: &str) -> Result<(), StateError>;

    /// Replaces (or removes) one resource instance, resolves its intent, journals the
    /// change and bumps the serial, all in one transaction. Returns the new serial.
    async fn commit(&self, workspace: &str, change: Change) -> Result<u64, StateError>;

    /// Replaces the workspace's outputs in one transaction. Returns the new serial.
    async fn set_outputs(
        &self,
        workspace: &str,
        actor: &Actor,
        outputs: Vec<OutputRecord>,
    ) -> Result<u64, StateError>;

    async fn history(&self, workspace: &str) -> Result<Vec<JournalEntry>, StateError>;

    /// Moves one resource instance to a new address in one transaction (journaled,
    /// serial bumped). Fails when `to` is already taken.
    async fn move_instance(&self, workspace: &str, from: &str, to: &str, actor: &Actor) -> Result<u64, StateError>;

    /// Journal rows up to and including `serial`, in order.
    async fn journal_rows(&self, workspace: &str, up_to: u64) -> Result<Vec<JournalRow>, StateError>;

    /// Replaces every resource and output with `snapshot` as one new version,
    /// journaled as a whole (`label` says why). Returns the new serial.
    async fn restore(&self, workspace: &str, snapshot: &Snapshot, actor: &Actor, label: &str) -> Result<u64, StateError>;

    /// Makes `lineage` the workspace's lineage: a state brought in from elsewhere
    /// keeps the identity it had there.
    async fn set_lineage(&self, workspace: &str, lineage: &str) -> Result<(), StateError>;

    /// The workspace's state as it was at version `serial`, rebuilt from the journal.
    async fn state_at(&self, workspace: &str, serial: u64) -> Result<State, StateError> {
        let current = self.load(workspace).await?;
        if serial == 0 || serial > current.serial {
            return Err(StateError::NoSuchVersion { asked: serial, latest: current.serial });
        }
        let rows = self.journal_rows(workspace, serial).await?;
        State::replay(&current.lineage, &rows)
    }

    /// Re-seals every stored value under a new passphrase (key rotation, or first
    /// encryption of a plain state). Open the store again to use the new key.
    async fn rekey(&self, new_key: &str) -> Result<(), StateError>;

    /// Every workspace that has been written to, sorted by name.
    async fn workspaces(&self) -> Result<Vec<String>, StateError>;

    /// Removes a workspace with its resources, outputs, journal and intents.
    async fn delete_workspace(&self, workspace: &str) -> Result<(), StateError>;
}
