//! Where state lives and which workspace is selected: `TERRANE_STATE_URL`, then
//! the configuration's `terraform { backend "pg" { ... } }`, then the embedded
//! SQLite file `.terrane/state.db`; and the passphrase it is sealed with
//! (`TERRANE_STATE_KEY`, or the variable `terraform { encryption { ... } }` names).

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

/// Where a configuration's state lives, and the passphrase it is sealed with.
#[derive(Debug, Clone)]
pub struct Target {
    pub backend: Backend,
    /// Never printed anywhere.
    pub key: Option<String>,
}

/// The variable that holds the passphrase unless an `encryption` block names another.
const DEFAULT_KEY_VARIABLE: &str = "TERRANE_STATE_KEY";

/// The state target for the configuration in `dir`.
pub fn resolve(dir: &Path) -> Result<Target, Failure> {
    let settings = terrane_lang::config::load_state_settings(dir)?;
    let key = passphrase(settings.encryption.as_ref())?;
    Ok(Target { backend: backend(dir, settings.backend)?, key })
}

/// The passphrase: from `TERRANE_STATE_KEY`, or, when the configuration has an
/// `encryption` block, from the variable it names, which must then be set, so a
/// run without the passphrase can never write a plain state.
fn passphrase(encryption: Option<&terrane_lang::config::Block>) -> Result<Option<String>, Failure> {
    let from_env = |name: &str| std::env::var(name).ok().filter(|k| !k.is_empty());
    let Some(block) = encryption else {
        return Ok(from_env(DEFAULT_KEY_VARIABLE));
    };
    let mut diags = terrane_core::Diagnostics::new();
    for attr in block.body.attrs.values() {
        match attr.name.as_str() {
            "passphrase_env" => {}
            "passphrase" => diags.push(
                Diagnostic::error("terrane::encryption", "the encryption block holds a passphrase: it would be kept wherever the code is")
                    .at(&masked(&attr.name_span, &attr.expr.span))
                    .help("move it to an environment variable and name that variable with passphrase_env"),
            ),
            other => diags.push(
                Diagnostic::error("terrane::encryption", format!("the encryption block has no argument {other:?}"))
                    .at(&attr.name_span)
                    .help("it takes passphrase_env: the environment variable that holds the state's passphrase"),
            ),
        }
    }
    for inner in &block.body.blocks {
        diags.push(
            Diagnostic::error("terrane::encryption", format!("the encryption block takes no {:?} block", inner.type_name))
                .at(&inner.type_span)
                .help("terrane seals state with AES-256-GCM under a key derived (Argon2id) from one passphrase: set passphrase_env"),
        );
    }
    let variable = match block.body.attr("passphrase_env") {
        None => DEFAULT_KEY_VARIABLE.to_string(),
        Some(attr) => match terrane_lang::eval::eval_constant(&attr.expr) {
            Ok(Value::String(name)) if !name.is_empty() => name,
            _ => {
                diags.push(
                    Diagnostic::error("terrane::encryption", "passphrase_env must be the name of an environment variable, as a string")
                        .at(&attr.expr.span),
                );
                String::new()
            }
        },
    };
    if diags.has_errors() {
        return Err(Failure::Diags(diags));
    }
    match from_env(&variable) {
        Some(key) => Ok(Some(key)),
        None => Err(Failure::Diags(
            Diagnostic::error("terrane::encryption", format!("this configuration keeps its state encrypted, and {variable} is not set"))
                .at(&block.type_span)
                .help(format!("export {variable} with the state's passphrase; nothing was read or written"))
                .into(),
        )),
    }
}

/// `place` in a copy of its file with `secret` starred out, so the source a
/// diagnostic shows does not print the secret.
fn masked(place: &terrane_core::Span, secret: &terrane_core::Span) -> terrane_core::Span {
    let mut bytes = place.file.text.clone().into_bytes();
    let range = secret.start as usize..(secret.end as usize).min(bytes.len());
    for byte in bytes.get_mut(range).unwrap_or_default() {
        if *byte != b'\n' {
            *byte = b'*';
        }
    }
    // Whole characters became ASCII stars: still text, offsets unchanged.
    let file = terrane_core::SourceFile::new(place.file.name.clone(), String::from_utf8(bytes).unwrap_or_default());
    terrane_core::Span::new(&file, place.start as usize..place.end as usize)
}

fn backend(dir: &Path, configured: Option<terrane_lang::config::Backend>) -> Result<Backend, Failure> {
    if let Ok(url) = std::env::var("TERRANE_STATE_URL") {
        if !url.is_empty() {
            return from_url(&url, None);
        }
    }
    if let Some(backend) = configured {
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
pub async fn open(target: &Target, create: bool) -> Result<Option<Arc<dyn StateStore>>, Failure> {
    let key = target.key.as_deref();
    match &target.backend {
        Backend::Sqlite(path) => {
            if !create && !path.exists() {
                return Ok(None);
            }
            Ok(Some(Arc::new(SqliteStore::open(path, create, key).await?)))
        }
        Backend::Postgres { url, schema } => Ok(Some(Arc::new(PostgresStore::open(url, schema, key).await?))),
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
