//! What each command does.

use std::collections::BTreeMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use terrane_core::{Diagnostic, Diagnostics, InstanceAddr, Value};
use terrane_engine::{Plan, ProviderRegistry, Session};
use terrane_lang::inputs::{collect_sources, resolve_variables, InputSource};
use terrane_provider::Provider;
use terrane_state::{Actor, State, StateError, StateStore};

use crate::render::{self, Style};
use crate::{Cli, Command, PlanArgs, StateCommand};

type Store = Arc<dyn StateStore>;

pub enum Failure {
    Diags(Diagnostics),
    Message(String),
}

impl From<Diagnostics> for Failure {
    fn from(d: Diagnostics) -> Failure {
        Failure::Diags(d)
    }
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Failure {
        let help = match &e {
            StateError::Locked(_) => "wait for the other run to finish; if it died, its lease expires on its own, or use terrane force-unlock LOCK_ID",
            StateError::Corrupt { .. } => "restore the file from a backup; terrane has not changed it",
            StateError::NotTerrane { .. } => "point TERRANE_STATE_URL at a terrane state database, or move this file away",
            StateError::TooNew { .. } => "use the newer terrane that wrote this state",
            StateError::KeyRequired => {
                "export TERRANE_STATE_KEY (or the variable the encryption block names) with the passphrase this state was encrypted with"
            }
            StateError::WrongKey => "check TERRANE_STATE_KEY (or the variable the encryption block names); nothing was read or written",
            _ => "",
        };
        let mut d = Diagnostic::error("terrane::state", e.to_string());
        if !help.is_empty() {
            d = d.help(help);
        }
        Failure::Diags(d.into())
    }
}

pub type Outcome = Result<u8, Failure>;

pub struct Ctx {
    pub style: Style,
    pub dir: PathBuf,
    pub raw_args: Vec<String>,
    /// The selected workspace.
    pub workspace: String,
}

pub fn run(cli: Cli, raw_args: &[String]) -> u8 {
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            errln!("Error: cannot change to {}: {e}", dir.display());
            return 1;
        }
    }
    let color = !cli.no_color && std::env::var_os("NO_COLOR").is_none() && (cli.color || std::io::stdout().is_terminal());
    crate::diag::install_handler(color && std::io::stderr().is_terminal() || cli.color);
    init_logging();
    let dir = PathBuf::from(".");
    let workspace = crate::backend::selected_workspace(&dir);
    let ctx = Ctx { style: Style { color }, dir, raw_args: raw_args.to_vec(), workspace };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            errln!("Error: cannot start the runtime: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Init { migrate_state } => {
                if migrate_state {
                    crate::manage::migrate_state(&ctx).await
                } else {
                    init(&ctx).await
                }
            }
            Command::Fmt { check, diff, write, recursive, targets } => {
                crate::fmt::fmt(&ctx, crate::fmt::FmtOptions { check, diff, write, recursive, targets })
            }
            Command::Validate { json } => validate(&ctx, json),
            Command::Plan { args, detailed_exitcode, destroy } => plan(&ctx, &args, detailed_exitcode, destroy).await,
            Command::Apply { args, auto_approve, parallelism } => apply(&ctx, &args, auto_approve, parallelism, false).await,
            Command::Destroy { args, auto_approve, parallelism } => apply(&ctx, &args, auto_approve, parallelism, true).await,
            Command::Import { address, id, lock_timeout, .. } => import(&ctx, &address, &id, lock_timeout.as_deref()).await,
            Command::Show { json } => show(&ctx, json).await,
            Command::Output { name, json, raw } => output(&ctx, name, json, raw).await,
            Command::Graph => graph(&ctx),
            Command::Version { json } => version(json),
            Command::State(StateCommand::List) => state_list(&ctx).await,
            Command::State(StateCommand::Show { address, version }) => state_show(&ctx, &address, version).await,
            Command::State(StateCommand::Rollback { version }) => crate::manage::state_rollback(&ctx, version).await,
            Command::State(StateCommand::History) => crate::manage::history(&ctx).await,
            Command::State(StateCommand::Rm { addresses }) => crate::manage::state_rm(&ctx, &addresses).await,
            Command::State(StateCommand::Mv { source, destination }) => crate::manage::state_mv(&ctx, &source, &destination).await,
            Command::State(StateCommand::Pull { include_sensitive }) => crate::manage::state_pull(&ctx, include_sensitive).await,
            Command::State(StateCommand::Push { file, force }) => crate::manage::state_push(&ctx, &file, force).await,
            Command::State(StateCommand::ImportTfstate { file }) => crate::manage::import_tfstate(&ctx, &file).await,
            Command::State(StateCommand::Rekey) => crate::manage::rekey(&ctx).await,
            Command::Workspace(command) => crate::manage::workspace(&ctx, command).await,
            Command::ForceUnlock { lock_id, force } => crate::manage::force_unlock(&ctx, &lock_id, force).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(Failure::Diags(d)) => {
            crate::diag::print(&d);
            1
        }
        Err(Failure::Message(m)) => {
            errln!("Error: {m}");
            1
        }
    }
}

/// Logs to stderr at the level `TERRANE_LOG` (or Terraform's `TF_LOG`) names: off by default.
fn init_logging() {
    let level = std::env::var("TERRANE_LOG").or_else(|_| std::env::var("TF_LOG")).unwrap_or_default();
    if level.is_empty() {
        return;
    }
    let filter = tracing_subscriber::EnvFilter::try_new(level.to_lowercase()).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

fn provider_factory(source: &str) -> Option<Arc<dyn Provider>> {
    if terrane_provider_local::SOURCES.contains(&source) {
        Some(Arc::new(terrane_provider_local::LocalProvider::new()))
    } else if terrane_provider_aws::SOURCES.contains(&source) {
        Some(Arc::new(terrane_provider_aws::AwsProvider::new()))
    } else {
        None
    }
}

/// The state store; `None` when it does not exist yet and `create` is false.
pub async fn open_store(ctx: &Ctx, create: bool) -> Result<Option<Store>, Failure> {
    crate::backend::open(&crate::backend::resolve(&ctx.dir)?, create).await
}

pub async fn load_state(ctx: &Ctx) -> Result<State, Failure> {
    match open_store(ctx, false).await? {
        Some(store) => Ok(store.load(&ctx.workspace).await?),
        None => Ok(State::default()),
    }
}

/// `-var` and `-var-file` in the order given, as Terraform applies them.
fn flag_inputs(raw_args: &[String]) -> Vec<InputSource> {
    let mut out = Vec::new();
    let mut iter = raw_args.iter().peekable();
    while let Some(arg) = iter.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let make = |v: String| if name == "--var" { InputSource::Flag(v) } else { InputSource::File(PathBuf::from(v)) };
        if name == "--var" || name == "--var-file" {
            let value = match inline {
                Some(v) => Some(v),
                None => iter.next().cloned(),
            };
            if let Some(v) = value {
                out.push(make(v));
            }
        }
    }
    out
}

/// Loads the configuration and inputs. `-var`/`-var-file` are read from the raw
/// arguments so their command-line order decides precedence, as in Terraform.
fn session(ctx: &Ctx, state: &State) -> Result<Session, Failure> {
    let config = terrane_lang::load_config(&ctx.dir)?;
    let module = config.root();
    let env: Vec<(String, String)> = std::env::vars().collect();
    let mut sources = collect_sources(&ctx.dir, &env, flag_inputs(&ctx.raw_args));
    let mut diags = Diagnostics::new();
    let mut resolved = resolve_variables(module, &sources);
    if let Err(d) = &resolved {
        // On a terminal, ask for required variables nobody set, as Terraform does;
        // in CI (no terminal) they stay errors.
        let missing: Vec<String> = d
            .iter()
            .filter(|x| x.code == "terrane::missing_variable")
            .filter_map(|x| module.variables.values().find(|v| Some(&v.span) == x.span.as_ref()).map(|v| v.name.clone()))
            .collect();
        if !missing.is_empty() && std::io::stdin().is_terminal() {
            for name in &missing {
                let var = &module.variables[name];
                out!("var.{name}\n");
                if let Some(description) = &var.description {
                    out!("  {description}\n");
                }
                out!("\n  Enter a value: ");
                let _ = std::io::stdout().flush();
                let mut answer = String::new();
                let _ = std::io::stdin().lock().read_line(&mut answer);
                outln!();
                sources.push(InputSource::Flag(format!("{name}={}", answer.trim_end_matches(['\n', '\r']))));
            }
            resolved = resolve_variables(module, &sources);
        }
    }
    let variables = match resolved {
        Ok(v) => v,
        Err(d) => {
            diags.extend(d);
            BTreeMap::new()
        }
    };
    let registry = match ProviderRegistry::resolve(&config, state.resources.values().map(|r| r.provider.clone()), &provider_factory) {
        Ok(r) => Some(r),
        Err(d) => {
            diags.extend(d);
            None
        }
    };
    if diags.has_errors() {
        return Err(diags.into());
    }
    let registry = registry.ok_or_else(|| Failure::Message("no providers".into()))?;
    Ok(Session::new(config, registry, variables, &ctx.workspace)?)
}

async fn init(ctx: &Ctx) -> Outcome {
    let config = terrane_lang::load_config(&ctx.dir)?;
    let registry = ProviderRegistry::resolve(&config, Vec::new(), &provider_factory)?;
    let target = crate::backend::resolve(&ctx.dir)?;
    crate::backend::open(&target, true).await?;
    outln!("Initializing state in the {}", target.backend);
    for (key, _) in registry.instances() {
        outln!("- {key}: built in");
    }
    outln!("\n{}", ctx.style.green("terrane has been successfully initialized!"));
    Ok(0)
}

fn validate(ctx: &Ctx, json: bool) -> Outcome {
    let diags = match terrane_lang::load_config_with_problems(&ctx.dir) {
        Err(nothing_to_check) => nothing_to_check,
        // Later checks would only report what a syntax error hid as missing.
        Ok((_, problems)) if problems.iter().any(|d| d.code == "terrane::syntax") => problems,
        Ok((config, mut problems)) => {
            let (registry, provider_problems) = ProviderRegistry::resolve_with_problems(&config, Vec::new(), &provider_factory);
            problems.extend(provider_problems);
            Session::validate_config(config, problems, registry, &ctx.workspace)
        }
    };
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if json {
        let out = serde_json::json!({
            "format_version": "1.0",
            "valid": errors == 0,
            "error_count": errors,
            "warning_count": diags.iter().count() - errors,
            "diagnostics": crate::diag::to_json(&diags),
        });
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(u8::from(errors > 0));
    }
    if errors > 0 {
        return Err(diags.into());
    }
    crate::diag::print(&diags);
    outln!("{}", ctx.style.green("Success! The configuration is valid."));
    Ok(0)
}

// The debug events mark phase ends, so `TERRANE_LOG=debug` shows where a slow plan spends its time.
async fn make_plan(ctx: &Ctx, args: &PlanArgs, destroy: bool, state: State) -> Result<(Session, Plan), Failure> {
    let session = session(ctx, &state)?;
    tracing::debug!("configuration loaded");
    session.configure_providers().await?;
    let refreshed = session.refresh(state, args.refresh).await?;
    tracing::debug!(instances = refreshed.instances.len(), "state refreshed");
    let plan = session.plan(refreshed, destroy).await?;
    tracing::debug!(changes = plan.changes.len(), "plan made");
    Ok((session, plan))
}

async fn plan(ctx: &Ctx, args: &PlanArgs, detailed: bool, destroy: bool) -> Outcome {
    let state = load_state(ctx).await?;
    tracing::debug!(resources = state.resources.len(), "state loaded");
    if !state.intents.is_empty() {
        // Such an address is held: apply adopts what the change made before creating anything.
        let held: Vec<String> = state.intents.iter().map(|i| format!("{} ({})", i.addr, i.action)).collect();
        outln!(
            "Note: an earlier run was interrupted while changing {}.\nterrane apply first looks for what those changes made and adopts it; it creates an object again only once none has appeared.\n",
            held.join(", ")
        );
    }
    let (session, plan) = make_plan(ctx, args, destroy, state).await?;
    render::plan(ctx.style, &plan, &mut std::io::stdout().lock());
    tracing::debug!("plan shown");
    crate::diag::print(&Diagnostics(plan.warnings.clone()));
    let code = if detailed && plan.has_changes() { 2 } else { 0 };
    // The process ends next, and freeing a large configuration and plan object by
    // object took a twentieth of the plan; nothing in them needs closing first.
    std::mem::forget((session, plan));
    Ok(code)
}

async fn import(ctx: &Ctx, address: &str, id: &str, lock_timeout: Option<&str>) -> Outcome {
    let addr: InstanceAddr = address
        .parse()
        .map_err(|e: terrane_core::AddressError| Failure::Diags(Diagnostic::error("terrane::invalid_address", e.to_string()).into()))?;
    let store = open_store(ctx, true).await?.ok_or_else(|| Failure::Message("no state store".into()))?;
    let actor = actor();
    let lock = acquire_lock(ctx, &store, "import", &actor, lock_timeout).await?;
    let result = async {
        let state = store.load(&ctx.workspace).await?;
        if state.resources.contains_key(&addr) {
            return Err(Failure::Diags(
                Diagnostic::error("terrane::import", format!("{addr} is already managed"))
                    .help(format!("remove it from state first (terrane state rm {addr}) to import another object into it"))
                    .into(),
            ));
        }
        let session = session(ctx, &state)?;
        session.configure_providers().await?;
        outln!("{addr}: Importing from ID {id:?}...");
        let record = session.import(&addr, id).await?;
        let change = terrane_state::Change { addr: addr.clone(), action: "import".into(), after: Some(record), actor: actor.clone() };
        store.commit(&ctx.workspace, change).await?;
        outln!("{addr}: Import prepared!");
        outln!("\n{}", ctx.style.green("Import successful!"));
        outln!("\nThe object is now in terrane state; a plan shows any difference from the configuration.");
        Ok(0)
    }
    .await;
    if let Err(e) = store.unlock(&ctx.workspace, &lock.id).await {
        errln!("Warning: could not release the state lock {}: {e}", lock.id);
    }
    result
}

pub fn actor() -> Actor {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into());
    Actor { run_id: uuid::Uuid::new_v4().to_string(), user, host }
}

fn confirm(ctx: &Ctx, destroy: bool) -> Result<bool, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Diags(
            Diagnostic::error("terrane::no_approval", "apply needs approval, and standard input is not a terminal")
                .help("run it with -auto-approve in automation")
                .into(),
        ));
    }
    let question = if destroy { "Do you really want to destroy all resources?" } else { "Do you want to perform these actions?" };
    out!(
        "{}\n  terrane will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n\n  {} ",
        ctx.style.bold(question),
        ctx.style.bold("Enter a value:")
    );
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    Ok(answer.trim() == "yes")
}

async fn apply(ctx: &Ctx, args: &PlanArgs, auto_approve: bool, parallelism: usize, destroy: bool) -> Outcome {
    let store = open_store(ctx, true).await?.ok_or_else(|| Failure::Message("no state store".into()))?;
    let actor = actor();
    let operation = if destroy { "destroy" } else { "apply" };
    let lock = if args.lock { Some(acquire_lock(ctx, &store, operation, &actor, args.lock_timeout.as_deref()).await?) } else { None };
    // Keep the lease alive for as long as the run lasts.
    let renewal = lock.as_ref().map(|l| {
        let store = store.clone();
        let id = l.id.clone();
        let workspace = ctx.workspace.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(terrane_state::LOCK_RENEW_EVERY).await;
                if store.renew_lock(&workspace, &id).await.is_err() {
                    break;
                }
            }
        })
    });
    let result = apply_locked(ctx, args, auto_approve, parallelism, destroy, store.clone(), actor).await;
    if let Some(task) = renewal {
        task.abort();
    }
    if let Some(lock) = lock {
        if let Err(e) = store.unlock(&ctx.workspace, &lock.id).await {
            errln!("Warning: could not release the state lock {}: {e}", lock.id);
        }
    }
    result
}

async fn apply_locked(
    ctx: &Ctx,
    args: &PlanArgs,
    auto_approve: bool,
    parallelism: usize,
    destroy: bool,
    store: Store,
    actor: Actor,
) -> Outcome {
    let mut state = store.load(&ctx.workspace).await?;
    let mut recovered = String::new();
    if !state.intents.is_empty() {
        // A previous run died mid-change: settle what it left before planning.
        let session = session(ctx, &state)?;
        session.configure_providers().await?;
        let adopted = session.recover(&state, &*store, &actor).await?;
        let named = if adopted.is_empty() { String::new() } else { format!(": {}", adopted.join(", ")) };
        outln!("Resolved {} interrupted change(s) from an earlier run; adopted {} object(s){named}.\n", state.intents.len(), adopted.len());
        if !adopted.is_empty() {
            recovered = format!(" {} recovered from an interrupted run,", adopted.len());
        }
        state = store.load(&ctx.workspace).await?;
    }
    let (session, plan) = make_plan(ctx, args, destroy, state).await?;
    render::plan(ctx.style, &plan, &mut std::io::stdout().lock());
    crate::diag::print(&Diagnostics(plan.warnings.clone()));
    if !plan.has_changes() && plan.drift.is_empty() {
        outln!("\n{} Resources:{recovered} 0 added, 0 changed, 0 destroyed.", ctx.style.green(&ctx.style.bold("Apply complete!")));
        print_outputs_after_apply(ctx, &state_outputs(ctx, &store).await?);
        return Ok(0);
    }
    if !auto_approve && !confirm(ctx, destroy)? {
        outln!("\nApply cancelled.");
        return Ok(1);
    }
    outln!();
    let observer = Arc::new(crate::progress::Progress { style: ctx.style, out: Mutex::new(std::io::stdout()) });
    let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let interrupts = tokio::spawn(watch_interrupts(cancel.clone()));
    let report = session.apply(&plan, store.clone(), actor, parallelism, observer, cancel.clone()).await;
    interrupts.abort();
    if cancel.load(std::sync::atomic::Ordering::SeqCst) {
        crate::diag::print(&report.diagnostics);
        outln!(
            "\nInterrupted. Resources: {} added, {} changed, {} destroyed; {} operation(s) were not started. Everything that finished is recorded in state.",
            report.added,
            report.changed,
            report.destroyed,
            report.not_started
        );
        return Ok(1);
    }
    let verb = if destroy { "Destroy complete!" } else { "Apply complete!" };
    if report.diagnostics.has_errors() {
        crate::diag::print(&report.diagnostics);
        outln!(
            "\nApply failed. Resources: {} added, {} changed, {} destroyed; everything that succeeded is recorded in state.",
            report.added, report.changed, report.destroyed
        );
        return Ok(1);
    }
    let imported = if report.imported > 0 { format!(" {} imported,", report.imported) } else { String::new() };
    outln!(
        "\n{} Resources:{recovered}{imported} {} added, {} changed, {} destroyed.",
        ctx.style.green(&ctx.style.bold(verb)),
        report.added,
        report.changed,
        report.destroyed
    );
    print_outputs_after_apply(ctx, &report.outputs);
    Ok(0)
}

async fn state_outputs(ctx: &Ctx, store: &Store) -> Result<BTreeMap<String, Value>, Failure> {
    let state = store.load(&ctx.workspace).await?;
    Ok(state.outputs.into_iter().map(|(k, o)| (k, Value::from_json(&o.value).mark_if(o.sensitive))).collect())
}

fn print_outputs_after_apply(ctx: &Ctx, outputs: &BTreeMap<String, Value>) {
    if outputs.is_empty() {
        return;
    }
    outln!("\n{}\n", ctx.style.green("Outputs:"));
    for (name, v) in outputs {
        outln!("{name} = {}", render::value_block(v, 0));
    }
}

fn typed_state(state: &State) -> BTreeMap<InstanceAddr, Value> {
    state
        .resources
        .iter()
        .map(|(addr, record)| {
            let provider = terrane_engine::ProviderKey::parse(&record.provider).and_then(|k| provider_factory(&k.source));
            let schema = provider.as_ref().and_then(|p| match addr.resource.mode {
                terrane_core::Mode::Managed => p.schema().resources.get(&addr.resource.type_name).map(|s| s.schema.clone()),
                terrane_core::Mode::Data => p.schema().data_sources.get(&addr.resource.type_name).map(|s| s.schema.clone()),
            });
            (addr.clone(), terrane_engine::refresh::typed_value(record, schema.as_ref()))
        })
        .collect()
}

async fn show(ctx: &Ctx, json: bool) -> Outcome {
    let state = load_state(ctx).await?;
    if json {
        let resources: Vec<serde_json::Value> = typed_state(&state)
            .into_iter()
            .map(|(addr, v)| {
                let (plain, paths) = v.unmark_deep();
                let masked = plain.mark_paths(&paths);
                serde_json::json!({
                    "address": addr.to_string(),
                    "type": addr.resource.type_name,
                    "name": addr.resource.name,
                    "values": mask_json(&masked),
                })
            })
            .collect();
        let outputs = outputs_json(&state);
        let out = serde_json::json!({
            "format_version": "1.0",
            "serial": state.serial,
            "lineage": state.lineage,
            "values": { "root_module": { "resources": resources }, "outputs": outputs },
        });
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(0);
    }
    if state.is_empty() {
        outln!("The state file is empty. No resources are represented.");
        return Ok(0);
    }
    for (addr, v) in typed_state(&state) {
        outln!("{}", render::object(&addr, &v));
    }
    if !state.outputs.is_empty() {
        outln!("\nOutputs:\n");
        for o in state.outputs.values() {
            let v = Value::from_json(&o.value).mark_if(o.sensitive);
            outln!("{} = {}", o.name, render::value_block(&v, 0));
        }
    }
    Ok(0)
}

/// First interrupt: start nothing new and let running calls finish and commit.
/// Second: exit at once; state holds everything committed so far.
async fn watch_interrupts(cancel: Arc<std::sync::atomic::AtomicBool>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    cancel.store(true, std::sync::atomic::Ordering::SeqCst);
    errln!("\nInterrupt received. Waiting for running operations to finish; nothing new will start. Interrupt again to exit at once.");
    if tokio::signal::ctrl_c().await.is_ok() {
        errln!("Two interrupts received. Exiting immediately; state holds every change committed so far.");
        std::process::exit(130);
    }
}

/// Takes the workspace lock, waiting up to `-lock-timeout` for another holder.
pub async fn acquire_lock(ctx: &Ctx, store: &Store, operation: &str, actor: &Actor, timeout: Option<&str>) -> Result<terrane_state::LockInfo, Failure> {
    let limit = match timeout {
        Some(t) => parse_duration(t).ok_or_else(|| Failure::Message(format!("invalid -lock-timeout {t:?}: use a duration such as 30s or 2m")))?,
        None => std::time::Duration::ZERO,
    };
    let started = std::time::Instant::now();
    let mut announced = false;
    loop {
        match store.lock(&ctx.workspace, operation, actor).await {
            Ok(info) => return Ok(info),
            Err(StateError::Locked(holder)) if started.elapsed() < limit => {
                if !announced {
                    errln!("Acquiring state lock. The workspace is locked by {} ({} since {}); waiting up to {timeout}...", holder.who, holder.operation, holder.created_at, timeout = timeout.unwrap_or("0s"));
                    announced = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// `30s`, `2m`, `1m30s`, `500ms`, or a bare number of seconds.
fn parse_duration(text: &str) -> Option<std::time::Duration> {
    if let Ok(secs) = text.parse::<f64>() {
        return (secs >= 0.0).then(|| std::time::Duration::from_secs_f64(secs));
    }
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let u_end = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        total += n * match &rest[..u_end] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[u_end..];
    }
    Some(std::time::Duration::from_secs_f64(total))
}

/// Outputs as `{name: {sensitive, value}}`, sensitive values as null.
fn outputs_json(state: &State) -> serde_json::Map<String, serde_json::Value> {
    state
        .outputs
        .values()
        .map(|o| {
            let value = if o.sensitive { serde_json::Value::Null } else { o.value.clone() };
            (o.name.clone(), serde_json::json!({ "sensitive": o.sensitive, "value": value }))
        })
        .collect()
}

/// JSON of a value with every sensitive part replaced by null.
fn mask_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Sensitive(_) => serde_json::Value::Null,
        Value::List(items) | Value::Set(items) => serde_json::Value::Array(items.iter().map(mask_json).collect()),
        Value::Map(m) => serde_json::Value::Object(m.iter().map(|(k, x)| (k.clone(), mask_json(x))).collect()),
        other => other.to_json(),
    }
}

async fn output(ctx: &Ctx, name: Option<String>, json: bool, raw: bool) -> Outcome {
    let state = load_state(ctx).await?;
    match name {
        None => {
            if json {
                let out = outputs_json(&state);
                outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                return Ok(0);
            }
            if state.outputs.is_empty() {
                errln!("Warning: no outputs found; the configuration has none, or has not been applied.");
                return Ok(0);
            }
            for o in state.outputs.values() {
                let v = Value::from_json(&o.value).mark_if(o.sensitive);
                outln!("{} = {}", o.name, render::value_block(&v, 0));
            }
            Ok(0)
        }
        Some(name) => {
            let Some(o) = state.outputs.get(&name) else {
                return Err(Failure::Diags(
                    Diagnostic::error("terrane::unknown_output", format!("output {name:?} not found"))
                        .help("terrane output lists the outputs in state; outputs appear after apply")
                        .into(),
                ));
            };
            // Asking for one output by name with -raw or -json is how scripts read a secret.
            if raw {
                match &o.value {
                    serde_json::Value::String(s) => out!("{s}"),
                    serde_json::Value::Number(_) | serde_json::Value::Bool(_) => out!("{}", o.value),
                    _ => {
                        return Err(Failure::Message(format!("output {name:?} is not a string, number or bool; use -json")));
                    }
                }
                return Ok(0);
            }
            if json {
                outln!("{}", o.value);
                return Ok(0);
            }
            let v = Value::from_json(&o.value).mark_if(o.sensitive);
            outln!("{}", render::value_block(&v, 0));
            if o.sensitive {
                errln!("(use terrane output -raw {name} or -json {name} to read the value)");
            }
            Ok(0)
        }
    }
}

/// Terraform's platform names: `linux_amd64`, `darwin_arm64`.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

fn version(json: bool) -> Outcome {
    let version = env!("CARGO_PKG_VERSION");
    if json {
        let doc = serde_json::json!({ "terrane_version": version, "platform": platform() });
        outln!("{}", serde_json::to_string_pretty(&doc).map_err(|e| Failure::Message(e.to_string()))?);
    } else {
        outln!("terrane v{version}\non {}", platform());
    }
    Ok(0)
}

fn graph(ctx: &Ctx) -> Outcome {
    let config = terrane_lang::load_config(&ctx.dir)?;
    let graph = terrane_engine::ConfigGraph::build(&config)?;
    outln!("digraph {{");
    outln!("  compound = \"true\"\n  newrank = \"true\"");
    for ix in graph.graph.node_indices() {
        let name = terrane_engine::graph::node_name(&graph.graph[ix], &config);
        outln!("  {:?} [label = {:?}]", name, name);
    }
    for e in graph.graph.edge_indices() {
        if let Some((a, b)) = graph.graph.edge_endpoints(e) {
            // Terraform draws edges from a node to what it depends on.
            outln!(
                "  {:?} -> {:?}",
                terrane_engine::graph::node_name(&graph.graph[b], &config),
                terrane_engine::graph::node_name(&graph.graph[a], &config)
            );
        }
    }
    outln!("}}");
    Ok(0)
}

async fn state_list(ctx: &Ctx) -> Outcome {
    let state = load_state(ctx).await?;
    for addr in state.resources.keys() {
        outln!("{addr}");
    }
    Ok(0)
}

async fn state_show(ctx: &Ctx, address: &str, version: Option<u64>) -> Outcome {
    let addr: InstanceAddr = address
        .parse()
        .map_err(|e: terrane_core::AddressError| Failure::Diags(Diagnostic::error("terrane::invalid_address", e.to_string()).into()))?;
    let state = match version {
        None => load_state(ctx).await?,
        Some(serial) => match open_store(ctx, false).await? {
            Some(store) => store.state_at(&ctx.workspace, serial).await?,
            None => return Err(StateError::NoSuchVersion { asked: serial, latest: 0 }.into()),
        },
    };
    let typed = typed_state(&state);
    match typed.get(&addr) {
        Some(v) => {
            out!("{}", render::object(&addr, v));
            Ok(0)
        }
        None => Err(Failure::Diags(
            Diagnostic::error("terrane::no_such_instance", format!("no instance {addr} in state"))
                .help("terrane state list shows the addresses in state")
                .into(),
        )),
    }
}
