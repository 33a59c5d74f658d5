//! Commands that manage state rather than infrastructure: workspaces, locks,
//! history, and moving, forgetting and exporting instances.

use std::io::IsTerminal as _;
use std::sync::Arc;

use terrane_core::{Diagnostic, InstanceAddr, InstanceKey};
use terrane_state::{Actor, Change, StateStore};

use crate::backend::{select_workspace, valid_workspace_name, DEFAULT_WORKSPACE};
use crate::commands::{acquire_lock, actor, open_store, Ctx, Failure, Outcome};
use crate::WorkspaceCommand;

fn fail(code: &'static str, summary: String, help: &str) -> Failure {
    Failure::Diags(Diagnostic::error(code, summary).help(help.to_string()).into())
}

async fn existing(ctx: &Ctx) -> Result<Vec<String>, Failure> {
    let mut names = match open_store(ctx, false).await? {
        Some(store) => store.workspaces().await?,
        None => Vec::new(),
    };
    if !names.iter().any(|n| n == DEFAULT_WORKSPACE) {
        names.insert(0, DEFAULT_WORKSPACE.to_string());
    }
    names.sort();
    Ok(names)
}

pub async fn workspace(ctx: &Ctx, command: WorkspaceCommand) -> Outcome {
    match command {
        WorkspaceCommand::Show => {
            outln!("{}", ctx.workspace);
            Ok(0)
        }
        WorkspaceCommand::List => {
            for name in existing(ctx).await? {
                let mark = if name == ctx.workspace { "*" } else { " " };
                outln!("{mark} {name}");
            }
            Ok(0)
        }
        WorkspaceCommand::New { name } => {
            if !valid_workspace_name(&name) {
                return Err(fail("terrane::workspace_name", format!("{name:?} is not a valid workspace name"), "use letters, digits, '-', '_' and '.'"));
            }
            if existing(ctx).await?.contains(&name) {
                return Err(fail("terrane::workspace_exists", format!("workspace {name:?} already exists"), "select it with terrane workspace select"));
            }
            let store = open_store(ctx, true).await?.ok_or_else(|| Failure::Message("no state store".into()))?;
            store.load(&name).await?;
            select_workspace(&ctx.dir, &name).map_err(|e| Failure::Message(format!("cannot record the selected workspace: {e}")))?;
            outln!("Created and switched to workspace {name:?}.");
            Ok(0)
        }
        WorkspaceCommand::Select { name } => {
            if !existing(ctx).await?.contains(&name) {
                return Err(fail("terrane::no_workspace", format!("workspace {name:?} does not exist"), "create it with terrane workspace new NAME"));
            }
            select_workspace(&ctx.dir, &name).map_err(|e| Failure::Message(format!("cannot record the selected workspace: {e}")))?;
            outln!("Switched to workspace {name:?}.");
            Ok(0)
        }
        WorkspaceCommand::Delete { name, force } => {
            if name == DEFAULT_WORKSPACE {
                return Err(fail("terrane::workspace_default", "the default workspace cannot be deleted".into(), "select and destroy it instead"));
            }
            if name == ctx.workspace {
                return Err(fail("terrane::workspace_current", format!("workspace {name:?} is selected"), "select another workspace first"));
            }
            let Some(store) = open_store(ctx, false).await? else {
                return Err(fail("terrane::no_workspace", format!("workspace {name:?} does not exist"), "terrane workspace list shows them"));
            };
            if !store.workspaces().await?.contains(&name) {
                return Err(fail("terrane::no_workspace", format!("workspace {name:?} does not exist"), "terrane workspace list shows them"));
            }
            let state = store.load(&name).await?;
            if !state.resources.is_empty() && !force {
                return Err(fail(
                    "terrane::workspace_not_empty",
                    format!("workspace {name:?} still manages {} resource instance(s)", state.resources.len()),
                    "destroy them first, or pass -force to forget them (the objects stay)",
                ));
            }
            store.delete_workspace(&name).await?;
            outln!("Deleted workspace {name:?}.");
            Ok(0)
        }
    }
}

pub async fn force_unlock(ctx: &Ctx, lock_id: &str, force: bool) -> Outcome {
    if !force {
        if !std::io::stdin().is_terminal() {
            return Err(fail("terrane::no_approval", "force-unlock needs confirmation".into(), "pass -force to unlock without asking"));
        }
        out!("Do you really want to force-unlock lock {lock_id}? Only 'yes' will be accepted.\n  Enter a value: ");
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if answer.trim() != "yes" {
            outln!("force-unlock cancelled.");
            return Ok(1);
        }
    }
    let Some(store) = open_store(ctx, false).await? else {
        return Err(fail("terrane::no_lock", format!("no lock with id {lock_id}"), "there is no state yet"));
    };
    store.unlock(&ctx.workspace, lock_id).await?;
    outln!("The state of workspace {:?} has been unlocked.", ctx.workspace);
    Ok(0)
}

pub async fn history(ctx: &Ctx) -> Outcome {
    let Some(store) = open_store(ctx, false).await? else { return Ok(0) };
    let entries = store.history(&ctx.workspace).await?;
    if entries.is_empty() {
        outln!("No state changes have been recorded in workspace {:?}.", ctx.workspace);
        return Ok(0);
    }
    outln!("{:>6}  {:<24}  {:<24}  {:<20}  ADDRESS", "SERIAL", "TIME", "BY", "ACTION");
    for e in entries {
        outln!("{:>6}  {:<24}  {:<24}  {:<20}  {}", e.serial, e.recorded_at, e.actor, e.action, e.address);
    }
    Ok(0)
}

/// Instances an address names: one instance, or every instance of a resource.
fn matching<'s>(state: &'s terrane_state::State, pattern: &str) -> Result<Vec<&'s InstanceAddr>, Failure> {
    let parsed: InstanceAddr = pattern
        .parse()
        .map_err(|e: terrane_core::AddressError| Failure::Diags(Diagnostic::error("terrane::invalid_address", e.to_string()).into()))?;
    let whole_resource = parsed.key == InstanceKey::None;
    let found: Vec<&InstanceAddr> = state
        .resources
        .keys()
        .filter(|a| if whole_resource { a.resource == parsed.resource } else { **a == parsed })
        .collect();
    if found.is_empty() {
        return Err(fail("terrane::no_such_instance", format!("{pattern} is not in state"), "terrane state list shows the addresses in state"));
    }
    Ok(found)
}

/// Runs `change` holding the workspace lock.
async fn locked<F, Fut>(ctx: &Ctx, operation: &str, change: F) -> Outcome
where
    F: FnOnce(Arc<dyn StateStore>, Actor) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let Some(store) = open_store(ctx, false).await? else {
        return Err(fail("terrane::no_state", "there is no state yet".into(), "apply a configuration first"));
    };
    let actor = actor();
    let lock = acquire_lock(ctx, &store, operation, &actor, None).await?;
    let result = change(store.clone(), actor).await;
    if let Err(e) = store.unlock(&ctx.workspace, &lock.id).await {
        errln!("Warning: could not release the state lock {}: {e}", lock.id);
    }
    result
}

pub async fn state_rm(ctx: &Ctx, patterns: &[String]) -> Outcome {
    locked(ctx, "state rm", |store, actor| async move {
        let state = store.load(&ctx.workspace).await?;
        let mut targets = Vec::new();
        for pattern in patterns {
            targets.extend(matching(&state, pattern)?.into_iter().cloned());
        }
        for addr in &targets {
            let change = Change { addr: addr.clone(), action: "forget".into(), after: None, actor: actor.clone() };
            store.commit(&ctx.workspace, change).await?;
            outln!("Removed {addr}");
        }
        outln!("Successfully removed {} resource instance(s). The objects still exist; terrane no longer manages them.", targets.len());
        Ok(0)
    })
    .await
}

pub async fn state_mv(ctx: &Ctx, source: &str, destination: &str) -> Outcome {
    locked(ctx, "state mv", |store, actor| async move {
        let state = store.load(&ctx.workspace).await?;
        let sources: Vec<InstanceAddr> = matching(&state, source)?.into_iter().cloned().collect();
        let dest: InstanceAddr = destination
            .parse()
            .map_err(|e: terrane_core::AddressError| Failure::Diags(Diagnostic::error("terrane::invalid_address", e.to_string()).into()))?;
        if dest.resource.type_name != sources[0].resource.type_name {
            return Err(fail(
                "terrane::state_mv_type",
                format!("cannot move a {} to a {}", sources[0].resource.type_name, dest.resource.type_name),
                "state mv renames; the resource type must stay the same",
            ));
        }
        let moves: Vec<(InstanceAddr, InstanceAddr)> = if sources.len() == 1 && (dest.key != InstanceKey::None || sources[0].key == InstanceKey::None) {
            vec![(sources[0].clone(), dest.clone())]
        } else if dest.key == InstanceKey::None {
            // A whole resource: every instance keeps its key under the new name.
            sources.iter().map(|s| (s.clone(), dest.resource.instance(s.key.clone()))).collect()
        } else {
            return Err(fail("terrane::state_mv_many", format!("{source} has several instances; the destination must be a resource, not one instance"), "write the destination without an index"));
        };
        for (from, to) in &moves {
            store.move_instance(&ctx.workspace, &from.to_string(), &to.to_string(), &actor).await?;
            outln!("Moved {from} to {to}");
        }
        outln!("Successfully moved {} object(s).", moves.len());
        Ok(0)
    })
    .await
}

pub async fn state_pull(ctx: &Ctx, include_sensitive: bool) -> Outcome {
    let state = crate::commands::load_state(ctx).await?;
    let json = terrane_state::tfstate::to_tfstate(&state, env!("CARGO_PKG_VERSION"), include_sensitive);
    outln!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
    Ok(0)
}

pub async fn state_rollback(ctx: &Ctx, version: u64) -> Outcome {
    locked(ctx, "state rollback", |store, actor| async move {
        let old = store.state_at(&ctx.workspace, version).await?;
        let snapshot = terrane_state::Snapshot {
            resources: old.resources.into_values().collect(),
            outputs: old.outputs.into_values().collect(),
        };
        let count = snapshot.resources.len();
        let serial = store.restore(&ctx.workspace, &snapshot, &actor, &format!("rollback to {version}")).await?;
        outln!("Restored version {version} ({count} resource instance(s)) as version {serial}. The objects themselves were not changed; run terrane plan to see how they differ.");
        Ok(0)
    })
    .await
}

fn read_tfstate(file: &std::path::Path) -> Result<terrane_state::State, Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| Failure::Message(format!("cannot read {}: {e}", file.display())))?;
    terrane_state::tfstate::from_tfstate(&text).map_err(|e| fail("terrane::tfstate", format!("{}: {e}", file.display()), "pass a state file written by Terraform 0.12 or later, or by terrane state pull"))
}

fn snapshot_of(state: terrane_state::State) -> terrane_state::Snapshot {
    terrane_state::Snapshot { resources: state.resources.into_values().collect(), outputs: state.outputs.into_values().collect() }
}

pub async fn state_push(ctx: &Ctx, file: &std::path::Path, force: bool) -> Outcome {
    let incoming = read_tfstate(file)?;
    locked(ctx, "state push", |store, actor| async move {
        let current = store.load(&ctx.workspace).await?;
        let fresh = current.serial == 0 && current.resources.is_empty();
        if !fresh && incoming.lineage != current.lineage && !force {
            return Err(fail(
                "terrane::lineage",
                format!("{} has lineage {}, but this workspace's state has lineage {}", file.display(), incoming.lineage, current.lineage),
                "it is the state of another configuration; pass -force only if you mean to replace this one",
            ));
        }
        if !fresh && incoming.serial < current.serial && !force {
            return Err(fail(
                "terrane::serial",
                format!("{} is at serial {}, older than this workspace's serial {}", file.display(), incoming.serial, current.serial),
                "pull the current state and apply your change to it, or pass -force to go back",
            ));
        }
        let lineage = incoming.lineage.clone();
        let serial = store.restore(&ctx.workspace, &snapshot_of(incoming), &actor, "push").await?;
        if lineage != current.lineage {
            store.set_lineage(&ctx.workspace, &lineage).await?;
        }
        outln!("Pushed {} as version {serial}.", file.display());
        Ok(0)
    })
    .await
}

pub async fn import_tfstate(ctx: &Ctx, file: &std::path::Path) -> Outcome {
    let incoming = read_tfstate(file)?;
    let store = open_store(ctx, true).await?.ok_or_else(|| Failure::Message("no state store".into()))?;
    let actor = actor();
    let lock = acquire_lock(ctx, &store, "state import-tfstate", &actor, None).await?;
    let result = async {
        let current = store.load(&ctx.workspace).await?;
        if !current.resources.is_empty() {
            return Err(fail(
                "terrane::not_empty",
                format!("workspace {:?} already manages {} instance(s)", ctx.workspace, current.resources.len()),
                "import into a new workspace: terrane workspace new NAME",
            ));
        }
        let count = incoming.resources.len();
        let lineage = incoming.lineage.clone();
        let serial = store.restore(&ctx.workspace, &snapshot_of(incoming), &actor, "import-tfstate").await?;
        store.set_lineage(&ctx.workspace, &lineage).await?;
        outln!("Imported {count} resource instance(s) from {} as version {serial}; run terrane plan to compare them with the configuration.", file.display());
        Ok(0)
    }
    .await;
    let _ = store.unlock(&ctx.workspace, &lock.id).await;
    result
}

/// Copies every workspace of the default SQLite state into the configured backend.
pub async fn migrate_state(ctx: &Ctx) -> Outcome {
    let target = crate::backend::resolve(&ctx.dir)?;
    let source = crate::backend::Target {
        backend: crate::backend::Backend::Sqlite(ctx.dir.join(".terrane").join("state.db")),
        key: target.key.clone(),
    };
    if target.backend == source.backend {
        return Err(fail("terrane::migrate_same", "the configured backend is the default SQLite state already".into(), "configure a pg backend or TERRANE_STATE_URL first"));
    }
    let Some(from) = crate::backend::open(&source, false).await? else {
        return Err(fail("terrane::migrate_nothing", "there is no .terrane/state.db to migrate".into(), "nothing to do"));
    };
    let to = crate::backend::open(&target, true).await?.ok_or_else(|| Failure::Message("no target store".into()))?;
    let actor = actor();
    for workspace in from.workspaces().await? {
        let state = from.load(&workspace).await?;
        let existing = to.load(&workspace).await?;
        if !existing.resources.is_empty() {
            return Err(fail(
                "terrane::migrate_conflict",
                format!("workspace {workspace:?} already has state in the {}", target.backend),
                "migrate into an empty backend, or remove that workspace there first",
            ));
        }
        let lineage = state.lineage.clone();
        let count = state.resources.len();
        to.restore(&workspace, &snapshot_of(state), &actor, "migrate-state").await?;
        to.set_lineage(&workspace, &lineage).await?;
        outln!("Copied workspace {workspace:?} ({count} instance(s)) to the {}.", target.backend);
    }
    outln!("State migrated. The old file .terrane/state.db is left as it was.");
    Ok(0)
}

pub async fn rekey(ctx: &Ctx) -> Outcome {
    let Some(new_key) = std::env::var("TERRANE_STATE_NEW_KEY").ok().filter(|k| !k.is_empty()) else {
        return Err(fail("terrane::rekey", "TERRANE_STATE_NEW_KEY is not set".into(), "export the new passphrase as TERRANE_STATE_NEW_KEY, and the current one as TERRANE_STATE_KEY"));
    };
    locked(ctx, "state rekey", |store, _actor| async move {
        store.rekey(&new_key).await?;
        outln!("The state is now encrypted with the new key. Use it as TERRANE_STATE_KEY from now on.");
        Ok(0)
    })
    .await
}
