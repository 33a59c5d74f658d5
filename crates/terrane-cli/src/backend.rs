//! Where state lives and which workspace is selected: `TERRANE_STATE_URL`, then
//! the configuration's `terraform { backend "pg" { ... } }`, then the embedded
//! SQLite file `.terrane/state.db`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use terrane_core::{Diagnostic, Value};
use terrane_state::{PostgresStore, SqliteStore, StateStore};

use crate::commands::Failure;

pub const DEFAULT_WORKSPACE: &str = "default";

/// The schema Terraform's pg backend uses when none is named.
const DEFAULT_PG_SCHEMA: &str = "terraform_remote_state";

#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Sqlite(path) => write!(f, "SQLite database {}", path.display()),
            // Never print the URL: it may hold a password.
            Backend::Postgres { schema, .. } => write!(f, "PostgreSQL schema {schema}"),
        }
    }
}

fn from_url(url: &str, schema: Option<String>) -> Result<Backend, Failure> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Backend::Sqlite(PathBuf::from(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let schema = schema.or_else(|| std::env::var("TERRANE_STATE_SCHEMA").ok()).unwrap_or_else(|| DEFAULT_PG_SCHEMA.into());
        return Ok(Backend::Postgres { url: url.to_string(), schema });
    }
    let scheme = url.split("://").next().unwrap_or("");
    Err(Failure::Diags(
        Diagnostic::error("terrane::backend", format!("unsupported state URL scheme {scheme:?}"))
            .help("use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE")
            .into(),
    ))
}

/// The backend for the configuration in `dir`.
pub fn resolve(dir: &Path) -> Result<Backend, Failure> {
    if let Ok(url) = std::env::var("TERRANE_STATE_URL") {
        if !url.is_empty() {
            return from_url(&url, None);
        }
    }
    if let Some(backend) = terrane_lang::config::load_backend(dir)? {
        let constant = |name: &str| {
            backend.body.attr(name).and_then(|a| terrane_lang::eval::eval_constant(&a.expr).ok()).and_then(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
        };
        match backend.kind.as_str() {
            "pg" => {
                let url = constant("conn_str").or_else(|| std::env::var("PG_CONN_STR").ok()).ok_or_else(|| {
                    Failure::Diags(
                        Diagnostic::error("terrane::backend", "the pg backend needs conn_str (or PG_CONN_STR)").at(&backend.body.span).into(),
                    )
                })?;
                return from_url(&url, constant("schema_name"));
            }
            "local" => {
                if let Some(path) = constant("path") {
                    return Ok(Backend::Sqlite(dir.join(path)));
                }
            }
            other => {
                return Err(Failure::Diags(
                    Diagnostic::error("terrane::backend", format!("backend {other:?} is not supported"))
                        .at(&backend.body.span)
                        .help("terrane stores state in SQLite (the default) or PostgreSQL (backend \"pg\")")
                        .into(),
                ))
            }
        }
    }
    Ok(Backend::Sqlite(dir.join(".terrane").join("state.db")))
}

/// Opens the store; `None` for a SQLite file that does not exist when `create` is false.
pub async fn open(backend: &Backend, create: bool) -> Result<Option<Arc<dyn StateStore>>, Failure> {
    // Never echoed anywhere: it is the passphrase the state is sealed with.
    let key = std::env::var("TERRANE_STATE_KEY").ok().filter(|k| !k.is_empty());
    match backend {
        Backend::Sqlite(path) => {
            if !create && !path.exists() {
                return Ok(None);
            }
            Ok(Some(Arc::new(SqliteStore::open(path, create, key.as_deref()).await?)))
        }
        Backend::Postgres { url, schema } => Ok(Some(Arc::new(PostgresStore::open(url, schema, key.as_deref()).await?))),
    }
}

fn environment_file(dir: &Path) -> PathBuf {
    dir.join(".terrane").join("environment")
}

/// The selected workspace: `TF_WORKSPACE`/`TERRANE_WORKSPACE`, else `.terrane/environment`.
pub fn selected_workspace(dir: &Path) -> String {
    for var in ["TERRANE_WORKSPACE", "TF_WORKSPACE"] {
        if let Ok(ws) = std::env::var(var) {
            if !ws.is_empty() {
                return ws;
            }
        }
    }
    std::fs::read_to_string(environment_file(dir))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_WORKSPACE.to_string())
}

pub fn select_workspace(dir: &Path, name: &str) -> std::io::Result<()> {
    let file = environment_file(dir);
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(file, format!("{name}\n"))
}

/// Workspace names become keys and file names: keep them plain.
pub fn valid_workspace_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 90 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}
