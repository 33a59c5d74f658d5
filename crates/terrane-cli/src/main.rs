//! The `terrane` binary: Terraform's verbs and flags (`-flag` and `--flag` alike),
//! exit codes CI can rely on, and the only crate that prints.

/// `print!` that ignores a closed pipe (`terrane plan | head`) instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod backend;
mod commands;

/// Planning allocates many small values; mimalloc spends far less time on them than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod diag;
mod fmt;
mod manage;
mod progress;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "terrane", version, about = "Declarative infrastructure: plan and apply Terraform-language configurations")]
pub struct Cli {
    /// Switch to this directory before doing anything else.
    #[arg(long, global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    /// Never use colour.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Use colour even when not writing to a terminal.
    #[arg(long, global = true)]
    pub color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Set a variable: -var 'NAME=VALUE'. May be repeated.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a .tfvars file. May be repeated.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Read the real objects before planning (default true).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub refresh: bool,
    /// Hold the state lock while working (default true).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub lock: bool,
    /// How long to wait for another run's lock, e.g. 30s (default: fail at once).
    #[arg(long, value_name = "DURATION")]
    pub lock_timeout: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Prepare the working directory: state database and providers.
    Init {
        /// Copy every workspace from the default SQLite state to the configured backend.
        #[arg(long)]
        migrate_state: bool,
    },
    /// Rewrite .tf and .tfvars files in the canonical layout.
    Fmt {
        /// Report unformatted files and exit 3 instead of rewriting them.
        #[arg(long)]
        check: bool,
        /// Show the changes as a unified diff.
        #[arg(long)]
        diff: bool,
        /// Write the result back to the files (default true).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        write: bool,
        /// Also format files in subdirectories.
        #[arg(long)]
        recursive: bool,
        /// Files or directories (default: the current directory).
        targets: Vec<std::path::PathBuf>,
    },
    /// Check the configuration without touching state.
    Validate {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what apply would change.
    Plan {
        #[command(flatten)]
        args: PlanArgs,
        /// Exit 0 when nothing would change, 2 when something would, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Plan to destroy everything.
        #[arg(long)]
        destroy: bool,
    },
    /// Make the changes the configuration calls for.
    Apply {
        #[command(flatten)]
        args: PlanArgs,
        /// Do not ask for confirmation.
        #[arg(long)]
        auto_approve: bool,
        /// How many provider operations may run at once.
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Destroy everything this configuration manages.
    Destroy {
        #[command(flatten)]
        args: PlanArgs,
        #[arg(long)]
        auto_approve: bool,
        #[arg(long, default_value_t = 10)]
        parallelism: usize,
    },
    /// Bring an existing object under management at ADDRESS (which the configuration declares).
    Import {
        #[command(flatten)]
        inputs: InputArgs,
        /// How long to wait for another run's lock, e.g. 30s (default: fail at once).
        #[arg(long, value_name = "DURATION")]
        lock_timeout: Option<String>,
        /// The resource instance address, e.g. aws_vpc.main or aws_subnet.public[0].
        address: String,
        /// The object's id as its provider knows it, e.g. vpc-0123456789abcdef0.
        id: String,
    },
    /// Show the current state.
    Show {
        #[arg(long)]
        json: bool,
    },
    /// Show output values.
    Output {
        /// One output's name.
        name: Option<String>,
        #[arg(long)]
        json: bool,
        /// Print a string output's value alone, with no quotes.
        #[arg(long)]
        raw: bool,
    },
    /// Print the dependency graph in DOT format.
    Graph,
    /// Print terrane's version and platform.
    Version {
        #[arg(long)]
        json: bool,
    },
    /// Inspect state.
    #[command(subcommand)]
    State(StateCommand),
    /// Manage workspaces: separate states of one configuration.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// Release a lock whose holder is gone. Needs the exact lock id.
    ForceUnlock {
        lock_id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum WorkspaceCommand {
    /// List workspaces; the selected one is marked with *.
    List,
    /// Print the selected workspace.
    Show,
    /// Create a workspace and select it.
    New { name: String },
    /// Select a workspace.
    Select { name: String },
    /// Delete a workspace and its state.
    Delete {
        name: String,
        /// Delete even when it still manages resources (they are forgotten, not destroyed).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// List the resource instances in state.
    List,
    /// Show one resource instance, now or at an earlier version.
    Show {
        address: String,
        /// The state version (serial) to show, from `state history`.
        #[arg(long)]
        version: Option<u64>,
    },
    /// Restore an earlier version of state as a new version; the journal keeps everything.
    Rollback { version: u64 },
    /// List every recorded change to state, oldest first.
    History,
    /// Forget instances without destroying them: `state rm ADDRESS...`.
    Rm {
        #[arg(required = true)]
        addresses: Vec<String>,
    },
    /// Move instances to a new address, keeping the objects: `state mv SOURCE DESTINATION`.
    Mv { source: String, destination: String },
    /// Replace the state with a Terraform v4 JSON state (as `state pull` writes it).
    Push {
        file: std::path::PathBuf,
        /// Push even when the lineage differs or the serial is older.
        #[arg(long)]
        force: bool,
    },
    /// Re-encrypt the state under TERRANE_STATE_NEW_KEY (TERRANE_STATE_KEY opens it now).
    Rekey,
    /// Bring a Terraform state file (terraform.tfstate, v4) into an empty workspace.
    ImportTfstate { file: std::path::PathBuf },
    /// Print the state in Terraform's JSON state format (version 4); sensitive values as null.
    Pull {
        /// Include sensitive values (the output is then as secret as the state).
        #[arg(long)]
        include_sensitive: bool,
    },
}

/// Rewrites Terraform's single-dash long flags (`-auto-approve`, `-var=x`) to
/// clap's double-dash form, for the flags terrane knows.
fn normalise_args(args: Vec<String>) -> Vec<String> {
    let mut long = std::collections::HashSet::new();
    fn collect(cmd: &clap::Command, long: &mut std::collections::HashSet<String>) {
        for a in cmd.get_arguments() {
            if let Some(l) = a.get_long() {
                long.insert(l.to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            collect(sub, long);
        }
    }
    collect(&Cli::command(), &mut long);
    long.insert("help".into());
    long.insert("version".into());
    args.into_iter()
        .enumerate()
        .map(|(i, a)| {
            if i > 0 && a.starts_with('-') && !a.starts_with("--") && a.len() > 2 {
                let name = a[1..].split('=').next().unwrap_or("");
                if long.contains(name) {
                    return format!("-{a}");
                }
            }
            a
        })
        .collect()
}

fn main() -> ExitCode {
    let args = normalise_args(std::env::args().collect());
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let code = commands::run(cli, &args);
    ExitCode::from(code)
}
