//! Commands that manage state rather than infrastructure: workspaces, locks, history.

use std::io::IsTerminal as _;

use terrane_core::Diagnostic;

use crate::backend::{select_workspace, valid_workspace_name, DEFAULT_WORKSPACE};
use crate::commands::{open_store, Ctx, Failure, Outcome};
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
