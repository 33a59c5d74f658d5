//! The state model as the engine sees it, independent of the store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use terrane_core::{AttrPath, InstanceAddr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ready,
    /// The object may not match its configuration (a create that failed half way);
    /// the next plan replaces it.
    Tainted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "ready",
            Status::Tainted => "tainted",
        }
    }

    pub fn parse(s: &str) -> Status {
        if s == "tainted" {
            Status::Tainted
        } else {
            Status::Ready
        }
    }
}

/// One resource instance as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    pub addr: InstanceAddr,
    /// Provider source, e.g. `hashicorp/null`.
    pub provider: String,
    pub schema_version: u64,
    /// Attribute values as plain JSON; sensitive ones are listed in `sensitive_paths`.
    pub attributes: serde_json::Value,
    pub sensitive_paths: Vec<AttrPath>,
    /// Resources (by `TYPE.NAME` address) this one depended on when last applied.
    pub dependencies: Vec<String>,
    pub status: Status,
    pub create_token: Option<String>,
}

impl ResourceRecord {
    /// A record from its stored columns, whichever store they come from.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn from_columns(
        address: &str,
        provider: String,
        schema_version: i64,
        attributes: &str,
        sensitive_paths: &str,
        dependencies: &str,
        status: &str,
        create_token: Option<String>,
    ) -> Result<ResourceRecord, crate::StateError> {
        Ok(ResourceRecord {
            addr: address.parse::<InstanceAddr>().map_err(|e| crate::StateError::Data(e.to_string()))?,
            provider,
            schema_version: schema_version as u64,
            attributes: serde_json::from_str(attributes)?,
            sensitive_paths: serde_json::from_str(sensitive_paths)?,
            dependencies: serde_json::from_str(dependencies)?,
            status: Status::parse(status),
            create_token,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub name: String,
    pub value: serde_json::Value,
    pub sensitive: bool,
}

/// A provider call that was started; resolved by `commit`, or by the next run.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub addr: InstanceAddr,
    pub run_id: String,
    pub action: String,
    pub token: String,
    pub provider: String,
    pub planned: serde_json::Value,
    /// When the intent was recorded (RFC 3339, UTC), as the store's clock says.
    pub created_at: String,
}

impl Intent {
    /// An intent from its stored columns (`planned` already revealed), whichever store.
    pub(crate) fn from_columns(
        address: &str,
        run_id: String,
        action: String,
        token: String,
        provider: String,
        planned: &str,
        created_at: String,
    ) -> Result<Intent, crate::StateError> {
        Ok(Intent {
            addr: address.parse().map_err(|e: terrane_core::AddressError| crate::StateError::Data(e.to_string()))?,
            run_id,
            action,
            token,
            provider,
            planned: serde_json::from_str(planned)?,
            created_at,
        })
    }
}

/// Who is writing: recorded in locks and the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub run_id: String,
    pub user: String,
    pub host: String,
}

impl Actor {
    pub fn who(&self) -> String {
        format!("{}@{} (run {})", self.user, self.host, self.run_id)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub addr: InstanceAddr,
    /// `create`, `update`, `delete`, `replace`, `adopt`, `forget`...
    pub action: String,
    /// The new record, or `None` to remove the instance.
    pub after: Option<ResourceRecord>,
    pub actor: Actor,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LockInfo {
    pub id: String,
    pub operation: String,
    pub who: String,
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    pub serial: u64,
    pub run_id: String,
    pub actor: String,
    pub address: String,
    pub action: String,
    pub recorded_at: String,
}

/// A workspace's state at one serial.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub lineage: String,
    pub serial: u64,
    pub resources: BTreeMap<InstanceAddr, ResourceRecord>,
    pub outputs: BTreeMap<String, OutputRecord>,
    /// Provider calls a previous run started and never resolved.
    pub intents: Vec<Intent>,
}

impl State {
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.outputs.is_empty()
    }
}

/// One journal row as replay needs it.
#[derive(Debug, Clone)]
pub struct JournalRow {
    pub serial: u64,
    pub address: String,
    pub action: String,
    /// The full record (resource rows), the outputs (`outputs` rows) or the whole
    /// snapshot (`*` rows, written by a rollback); `None` when the row removes.
    pub after: Option<String>,
}

/// What a rollback writes: every resource and output of the restored version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub resources: Vec<ResourceRecord>,
    pub outputs: Vec<OutputRecord>,
}

pub const SNAPSHOT_ADDRESS: &str = "*";
const MOVE_PREFIX: &str = "move from ";

impl State {
    /// The state as it was after the last of `rows` (which must be in serial order).
    pub fn replay(lineage: &str, rows: &[JournalRow]) -> Result<State, crate::StateError> {
        let mut state = State { lineage: lineage.to_string(), ..State::default() };
        for row in rows {
            state.serial = row.serial;
            if row.address == SNAPSHOT_ADDRESS {
                let snapshot: Snapshot = serde_json::from_str(row.after.as_deref().unwrap_or("{}"))?;
                state.resources = snapshot.resources.into_iter().map(|r| (r.addr.clone(), r)).collect();
                state.outputs = snapshot.outputs.into_iter().map(|o| (o.name.clone(), o)).collect();
            } else if row.address == "outputs" && row.action == "outputs" {
                let outputs: Vec<OutputRecord> = serde_json::from_str(row.after.as_deref().unwrap_or("[]"))?;
                state.outputs = outputs.into_iter().map(|o| (o.name.clone(), o)).collect();
            } else if let Some(from) = row.action.strip_prefix(MOVE_PREFIX) {
                let from: InstanceAddr = from.parse().map_err(|e: terrane_core::AddressError| crate::StateError::Data(e.to_string()))?;
                let to: InstanceAddr = row.address.parse().map_err(|e: terrane_core::AddressError| crate::StateError::Data(e.to_string()))?;
                if let Some(mut record) = state.resources.remove(&from) {
                    record.addr = to.clone();
                    state.resources.insert(to, record);
                }
            } else {
                let addr: InstanceAddr = row.address.parse().map_err(|e: terrane_core::AddressError| crate::StateError::Data(e.to_string()))?;
                match &row.after {
                    Some(json) => {
                        let record: ResourceRecord = serde_json::from_str(json)?;
                        state.resources.insert(addr, record);
                    }
                    None => {
                        state.resources.remove(&addr);
                    }
                }
            }
        }
        Ok(state)
    }
}

/// The journal action of a move, which replay reads back.
pub fn move_action(from: &str) -> String {
    format!("{MOVE_PREFIX}{from}")
}
