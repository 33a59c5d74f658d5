//! The engine: builds the resource graph, refreshes state with batched reads,
//! plans (purely), and applies with bounded concurrency, committing each result
//! to the state store as it lands.

pub mod apply;
pub mod conditions;
pub mod decode;
pub mod evaluate;
pub mod graph;
pub mod plan;
pub mod planner;
pub mod refresh;
pub mod registry;
pub mod scope;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::join_all;

use terrane_core::{Diagnostic, Diagnostics, InstanceAddr, InstanceKey, Mode, Span, Value};
use terrane_core::ModulePath;
use terrane_lang::config::Config;
use terrane_lang::{eval, RefTarget};
use terrane_state::{Actor, State, StateStore};

pub use apply::{ApplyEvent, ApplyReport, Observer, Phase};
pub use graph::{ConfigGraph, Node};
pub use plan::{Action, Counts, Drift, OutputChange, Plan, ResourceChange};
pub use refresh::Refreshed;
pub use registry::{ProviderFactory, ProviderKey, ProviderRegistry};

use crate::decode::decode_body;
use crate::evaluate::Evaluator;
use crate::scope::{EvalScope, Expansion, Repetition, ResourceValues, Values};

/// Everything one command needs: the configuration, its graph, providers and inputs.
pub struct Session {
    pub config: Config,
    pub graph: ConfigGraph,
    pub registry: ProviderRegistry,
    pub variables: BTreeMap<String, Value>,
    pub workspace: String,
    pub root_dir: PathBuf,
}

impl Session {
    pub fn new(
        config: Config,
        registry: ProviderRegistry,
        variables: BTreeMap<String, Value>,
        workspace: &str,
    ) -> Result<Session, Diagnostics> {
        let graph = ConfigGraph::build(&config)?;
        let root_dir = config.root().dir.clone();
        Ok(Session { config, graph, registry, variables, workspace: workspace.to_string(), root_dir })
    }

    fn evaluator(&self, validating: bool) -> Evaluator<'_> {
        Evaluator { config: &self.config, workspace: &self.workspace, root_dir: &self.root_dir, validating, applying: false }
    }

    fn root_scope<'a>(&'a self, values: &'a Values, path: &'a ModulePath) -> EvalScope<'a> {
        EvalScope::new(values, &self.config, 0, path, &self.workspace, Repetition::None, &self.root_dir)
    }

    /// Locals that depend only on variables and other such locals: what provider
    /// configurations may use.
    fn static_values(&self) -> Values {
        let mut values = Values::with_root_variables(self.variables.clone());
        let root = ModulePath::root();
        for &ix in &self.graph.order {
            if let Node::Local(0, name) = &self.graph.graph[ix] {
                let local = &self.config.root().locals[name];
                let only_static = local
                    .expr
                    .references()
                    .iter()
                    .all(|r| matches!(r.target, RefTarget::Var(_) | RefTarget::Local(_) | RefTarget::Builtin(_)));
                if only_static {
                    if let Ok(v) = eval(&local.expr, &self.root_scope(&values, &root)) {
                        values.module_mut(&root).locals.insert(name.clone(), v);
                    }
                }
            }
        }
        // A provider block in a module reads the module's variables: those
        // its call sets from the caller's variables and constants, and defaults.
        // Modules are listed callers first.
        for (m, entry) in self.config.modules.iter().enumerate().skip(1) {
            let Some((parent, call_name)) = &entry.parent else { continue };
            if entry.module.providers.is_empty() {
                continue;
            }
            let (path, parent_path) = (self.config.module_path(m), self.config.module_path(*parent));
            let call = &self.config.modules[*parent].module.calls[call_name];
            let mut variables = BTreeMap::new();
            for (name, variable) in &entry.module.variables {
                let given = call.inputs.get(name).and_then(|input| {
                    let scope = EvalScope::new(&values, &self.config, *parent, &parent_path, &self.workspace, Repetition::None, &self.root_dir);
                    eval(&input.expr, &scope).ok()
                });
                if let Some(value) = given.or_else(|| variable.default.clone()) {
                    variables.insert(name.clone(), variable.ty.convert(value.clone()).unwrap_or(value));
                }
            }
            values.module_mut(&path).variables = variables;
        }
        values
    }

    /// Evaluates each provider block and configures its provider.
    pub async fn configure_providers(&self) -> Result<(), Diagnostics> {
        let values = self.static_values();
        let mut diags = Diagnostics::new();
        let mut configs = BTreeMap::new();
        for (m, block, key) in registry::provider_blocks(&self.config) {
            let Some(provider) = self.registry.get(&key) else { continue };
            let mut body = block.body.clone();
            body.attrs.shift_remove("alias");
            body.attrs.shift_remove("version");
            let path = self.config.module_path(m);
            let scope = EvalScope::new(&values, &self.config, m, &path, &self.workspace, Repetition::None, &self.root_dir);
            let config = decode_body(&body, &provider.schema().provider, &scope, &format!("provider {:?}", block.name), &mut diags);
            configs.insert(key, config);
        }
        if diags.has_errors() {
            return Err(diags);
        }
        self.registry.configure(configs).await
    }

    pub async fn refresh(&self, state: State, read: bool) -> Result<Refreshed, Diagnostics> {
        refresh::refresh(state, &self.registry, read).await
    }

    /// Resolves the intents a crashed run left behind: an object whose create was
    /// under way is adopted when its provider finds it by its idempotency token;
    /// every other intent is dropped, and refresh shows the truth. Not finding a
    /// create right after the run died proves nothing (the request may still be
    /// on its way, and AWS lists new objects only after a while), so a create
    /// intent younger than the recovery window is looked for again, with backoff,
    /// until its object appears or the window has passed since the intent was
    /// recorded; only then may the address be created again. Returns the
    /// addresses of the adopted objects.
    pub async fn recover(&self, state: &State, store: &dyn StateStore, actor: &Actor) -> Result<Vec<String>, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut adopted = Vec::new();
        let mut pending: Vec<&terrane_state::Intent> = state.intents.iter().collect();
        let mut pause = std::time::Duration::from_millis(250);
        loop {
            let mut waiting = Vec::new();
            for intent in pending {
                let addr = intent.addr.to_string();
                let found = match self.look_for(intent).await {
                    Ok((found, window)) => (found, window),
                    Err(e) => {
                        diags.push(Diagnostic::error("terrane::recover", format!("cannot look for {addr}, whose create was interrupted")).detail(e));
                        continue;
                    }
                };
                let (found, window) = found;
                let result = match found {
                    Some(value) => {
                        adopted.push(addr.clone());
                        let (plain, sensitive_paths) = value.unmark_deep();
                        let provider = ProviderKey::parse(&intent.provider).and_then(|k| self.registry.get(&k).cloned());
                        let type_name = &intent.addr.resource.type_name;
                        let schema_version = provider.as_ref().and_then(|p| p.schema().resources.get(type_name).map(|r| r.version));
                        let record = terrane_state::ResourceRecord {
                            addr: intent.addr.clone(),
                            provider: intent.provider.clone(),
                            schema_version: schema_version.unwrap_or(0),
                            attributes: plain.to_json(),
                            sensitive_paths,
                            dependencies: Vec::new(),
                            status: terrane_state::Status::Ready,
                            create_token: Some(intent.token.clone()),
                        };
                        let change = terrane_state::Change { addr: intent.addr.clone(), action: "adopt".into(), after: Some(record), actor: actor.clone() };
                        store.commit(&self.workspace, change).await.map(|_| ())
                    }
                    None if intent.action == "create" && intent_age(intent) < window.as_secs_f64() => {
                        waiting.push(intent);
                        continue;
                    }
                    None => store.clear_intent(&self.workspace, &addr).await,
                };
                if let Err(e) = result {
                    diags.push(Diagnostic::error("terrane::state_write", format!("cannot resolve the interrupted change to {addr}")).detail(e.to_string()));
                }
            }
            if waiting.is_empty() {
                break;
            }
            tracing::info!(count = waiting.len(), "looking again for objects whose create was interrupted");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(4));
            pending = waiting;
        }
        // What was adopted is in state: its create tokens can go.
        for (key, provider) in self.registry.instances() {
            if let Err(e) = provider.finish_apply().await {
                tracing::warn!(provider = %key, error = %e, "idempotency tokens stay on adopted objects");
            }
        }
        diags.into_result(adopted)
    }

    /// The object an interrupted create made, if its provider can find it yet, and
    /// how long after the create the provider may still miss it.
    async fn look_for(&self, intent: &terrane_state::Intent) -> Result<(Option<Value>, std::time::Duration), String> {
        let provider = ProviderKey::parse(&intent.provider).and_then(|k| self.registry.get(&k).cloned());
        let Some(provider) = provider.filter(|_| intent.action == "create") else {
            return Ok((None, std::time::Duration::ZERO));
        };
        let planned = Value::from_json(&intent.planned);
        let found = provider.find_by_token(&intent.addr.resource.type_name, planned, &intent.token).await.map_err(|e| e.to_string())?;
        Ok((found, provider.creation_settles_within()))
    }

    /// Plans against refreshed state (taken by value: `moved` blocks rename
    /// its instances in place), reading data sources whose configuration is
    /// known between pure planning passes.
    pub async fn plan(&self, mut refreshed: Refreshed, destroy: bool) -> Result<Plan, Diagnostics> {
        refreshed.apply_moves(&self.config.root().moves);
        // Import problems are reported with the plan's, so all show at once.
        let import_diags = if destroy { Diagnostics::new() } else { self.read_imports(&mut refreshed).await };
        let mut data_results: HashMap<terrane_core::InstanceAddr, Value> = HashMap::new();
        loop {
            let planner = planner::Planner {
                config: &self.config,
                graph: &self.graph,
                registry: &self.registry,
                prior: &refreshed,
                variables: &self.variables,
                workspace: &self.workspace,
                destroy,
                data_results: &data_results,
                root_dir: &self.root_dir,
            };
            let outcome = planner.run();
            if outcome.pending_reads.is_empty() {
                return match outcome.plan {
                    Ok(mut plan) => {
                        planner::take_prior_values(&mut plan.changes, refreshed.instances);
                        import_diags.into_result(plan)
                    }
                    Err(diags) => {
                        let mut all = import_diags;
                        all.extend(diags);
                        Err(all)
                    }
                };
            }
            let mut diags = Diagnostics::new();
            for read in outcome.pending_reads {
                let Some(provider) = self.registry.get(&read.provider) else { continue };
                match provider.read_data(&read.addr.resource.type_name, read.config.unmark_deep().0).await {
                    Ok(v) => {
                        data_results.insert(read.addr, v);
                    }
                    Err(e) => {
                        let span = self
                            .config
                            .find(&read.addr.resource.module.0.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())
                            .and_then(|m| self.config.modules[m].module.resource(Mode::Data, &read.addr.resource.type_name, &read.addr.resource.name))
                            .map(|r| r.span.clone());
                        diags.push(
                            Diagnostic::error("terrane::data_read", format!("cannot read {}", read.addr))
                                .detail(e.to_string())
                                .at_opt(span.as_ref()),
                        );
                    }
                }
            }
            if diags.has_errors() {
                return Err(diags);
            }
        }
    }

    pub async fn apply(
        &self,
        plan: &Plan,
        store: Arc<dyn StateStore>,
        actor: Actor,
        parallelism: usize,
        observer: Arc<dyn Observer>,
        cancel: Arc<std::sync::atomic::AtomicBool>,
    ) -> ApplyReport {
        apply::apply(apply::ApplyContext {
            config: &self.config,
            graph: &self.graph,
            registry: &self.registry,
            plan,
            variables: &self.variables,
            root_dir: &self.root_dir,
            store,
            actor,
            parallelism,
            observer,
            cancel,
        })
        .await
    }

    /// Reads an existing object into a state record for `addr`, as `terrane import`
    /// does: the address must name a managed resource of the configuration.
    pub async fn import(&self, addr: &InstanceAddr, id: &str) -> Result<terrane_state::ResourceRecord, Diagnostics> {
        let (record, _, _) = self.import_object(addr, id, None).await?;
        Ok(record)
    }

    /// The object `id` names, read by the provider of the resource at `addr`,
    /// as a state record and as the typed value the planner diffs against.
    async fn import_object(&self, addr: &InstanceAddr, id: &str, at: Option<&Span>) -> Result<(terrane_state::ResourceRecord, Value, ProviderKey), Diagnostic> {
        let fail = |message: String, help: &str| Diagnostic::error("terrane::import", message).help(help).at_opt(at);
        if addr.resource.mode != Mode::Managed {
            return Err(fail(format!("cannot import into {addr}"), "import into a managed resource"));
        }
        let Some((m, index, resource)) = self.managed_resource(&addr.resource) else {
            return Err(not_configured(&addr.resource).at_opt(at));
        };
        let key = self.registry.key_for(&self.config, m, resource);
        let provider = self.registry.get(&key).ok_or_else(|| fail(format!("no provider for {key}"), "check required_providers"))?;
        let schema = provider.schema().resources.get(&addr.resource.type_name);
        let value = provider.import(&addr.resource.type_name, id).await.map_err(|e| {
            Diagnostic::error("terrane::import", format!("cannot import {addr} from id {id:?}")).detail(e.to_string()).at_opt(at)
        })?;
        // Typed as refresh types stored objects, so the planner compares like with like.
        let value = match schema {
            Some(schema) => {
                let typed = schema.schema.implied_type().convert(value.clone()).unwrap_or(value);
                planner::mark_schema_sensitive(&schema.schema, typed)
            }
            None => value,
        };
        let (plain, sensitive_paths) = value.clone().unmark_deep();
        let record = terrane_state::ResourceRecord {
            addr: addr.clone(),
            provider: key.to_string(),
            schema_version: schema.map_or(0, |s| s.version),
            attributes: plain.to_json(),
            sensitive_paths,
            // What the configuration says it depends on, so a destroy orders it right.
            dependencies: self.graph.index.get(&Node::Resource(m, index)).and_then(|ix| self.graph.dependencies.get(ix)).map(|d| d.to_vec()).unwrap_or_default(),
            status: terrane_state::Status::Ready,
            create_token: None,
        };
        Ok((record, value, key))
    }

    /// The module index, resource index and block of a managed resource.
    fn managed_resource(&self, addr: &terrane_core::ResourceAddr) -> Option<(usize, usize, &terrane_lang::Resource)> {
        let names: Vec<String> = addr.module.0.iter().map(|(name, _)| name.clone()).collect();
        let m = self.config.find(&names)?;
        let resources = &self.config.modules[m].module.resources;
        let i = resources.iter().position(|r| r.mode == Mode::Managed && r.type_name == addr.type_name && r.name == addr.name)?;
        Some((m, i, &resources[i]))
    }

    /// The targets and ids of the root module's `import` blocks. Ids and keys
    /// must be known while planning: they may use variables, locals and each.
    fn import_targets(&self, diags: &mut Diagnostics) -> Vec<(InstanceAddr, String, &Span)> {
        let imports = &self.config.root().imports;
        let mut targets: Vec<(InstanceAddr, String, &Span)> = Vec::new();
        if imports.is_empty() {
            return targets;
        }
        let values = self.static_values();
        let root = ModulePath::root();
        for import in imports {
            let exprs = [Some(&import.id), import.key.as_ref(), import.for_each.as_ref()];
            let late = exprs.iter().flatten().flat_map(|e| e.references()).find(|r| {
                !matches!(&r.target, RefTarget::Var(_) | RefTarget::Builtin(_))
                    && !matches!(&r.target, RefTarget::Local(name) if values.root().is_some_and(|m| m.locals.contains_key(name)))
            });
            if let Some(late) = late {
                diags.push(
                    Diagnostic::error("terrane::import_unknown", "an import block must be known while planning")
                        .detail("its id, key and for_each may use variables, locals that depend only on variables, and each")
                        .at(&late.span),
                );
                continue;
            }
            let keys = match &import.for_each {
                None => vec![(InstanceKey::None, None)],
                Some(e) => match evaluate::expand(None, Some(e), &self.root_scope(&values, &root)) {
                    Ok(Some((_, keys))) => keys,
                    Ok(None) => {
                        diags.push(evaluate::unknown_expansion("for_each", &e.span));
                        continue;
                    }
                    Err(d) => {
                        diags.push(d);
                        continue;
                    }
                },
            };
            for (each_key, each_value) in keys {
                let scope = EvalScope::new(&values, &self.config, 0, &root, &self.workspace, Repetition::from_key(&each_key, each_value.as_ref()), &self.root_dir);
                let addr = match &import.key {
                    None => import.to.clone(),
                    Some(e) => match eval(e, &scope) {
                        Ok(Value::String(s)) => import.to.resource.instance(InstanceKey::Str(s)),
                        Ok(Value::Number(n)) if n.to_i64().is_some_and(|i| i >= 0) => import.to.resource.instance(InstanceKey::Int(n.to_i64().unwrap_or(0))),
                        Ok(other) => {
                            diags.push(Diagnostic::error("terrane::import_key", format!("an instance key must be a string or a whole number, not {other}")).at(&e.span));
                            continue;
                        }
                        Err(d) => {
                            diags.push(d);
                            continue;
                        }
                    },
                };
                let id = match eval(&import.id, &scope) {
                    Ok(v) if v.is_sensitive() => {
                        diags.push(
                            Diagnostic::error("terrane::import_id", "an import id must not be sensitive")
                                .detail("plans show the id of every object they import")
                                .at(&import.id.span),
                        );
                        continue;
                    }
                    Ok(Value::String(s)) if !s.is_empty() => s,
                    Ok(other) => {
                        diags.push(Diagnostic::error("terrane::import_id", format!("an import id must be a non-empty string, not {other}")).at(&import.id.span));
                        continue;
                    }
                    Err(d) => {
                        diags.push(d);
                        continue;
                    }
                };
                if let Some((_, _, first)) = targets.iter().find(|(a, _, _)| a == &addr) {
                    diags.push(
                        Diagnostic::error("terrane::duplicate_import", format!("{addr} is the target of two imports"))
                            .at(&import.span)
                            .related(first, "first imported here"),
                    );
                    continue;
                }
                targets.push((addr, id, &import.span));
            }
        }
        targets
    }

    /// Reads what `import` blocks name and state does not hold, into `refreshed`
    /// marked as imported: the plan diffs the configuration against them and
    /// apply records them. A target already in state is managed: nothing to do.
    async fn read_imports(&self, refreshed: &mut Refreshed) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let targets = self.import_targets(&mut diags);
        // A few reads at a time, as apply runs calls in parallel.
        const AT_ONCE: usize = 10;
        let pending: Vec<_> = targets.into_iter().filter(|(addr, _, _)| !refreshed.instances.contains_key(addr)).collect();
        for batch in pending.chunks(AT_ONCE) {
            let reads = batch.iter().map(|(addr, id, span)| async move { (addr, id, span, self.import_object(addr, id, Some(span)).await) });
            for (addr, id, span, result) in join_all(reads).await {
                match result {
                    Ok((record, value, provider)) => {
                        let instance = refresh::PriorInstance {
                            importing: Some(refresh::Importing { id: id.clone(), span: (*span).clone() }),
                            ..refresh::PriorInstance::stored(record, provider, value)
                        };
                        refreshed.instances.insert(addr.clone(), instance);
                    }
                    Err(d) => diags.push(d),
                }
            }
        }
        diags
    }

    /// Every problem of a configuration, found in one pass: `problems` are the
    /// loader's, and the graph and schema checks run on what did decode. A
    /// place already reported is not reported again by a later check.
    pub fn validate_config(config: Config, mut problems: Diagnostics, registry: ProviderRegistry, workspace: &str) -> Diagnostics {
        let (graph, graph_problems) = ConfigGraph::build_with_problems(&config);
        let undeclared: Vec<Span> =
            graph_problems.iter().filter(|d| d.code == "terrane::undeclared_reference").filter_map(|d| d.span.clone()).collect();
        problems.extend(graph_problems);
        if let Some(graph) = graph {
            let root_dir = config.root().dir.clone();
            let variables = config.root().variables.keys().map(|k| (k.clone(), Value::Unknown)).collect();
            let session = Session { config, graph, registry, variables, workspace: workspace.to_string(), root_dir };
            // Evaluation meets the references the graph reported as undeclared again.
            let within = |s: &Span| undeclared.iter().any(|u| Arc::ptr_eq(&u.file, &s.file) && u.start <= s.start && s.end <= u.end);
            problems.0.extend(session.validate().0.into_iter().filter(|d| !d.code.starts_with("terrane::undeclared") || !d.span.as_ref().is_some_and(within)));
        }
        let mut seen = std::collections::HashSet::new();
        Diagnostics(problems.0.into_iter().filter(|d| d.span.as_ref().is_none_or(|s| seen.insert((s.file.name.clone(), s.start, s.end)))).collect())
    }

    /// Checks every block against its schema without state or variable values.
    fn validate(&self) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for import in &self.config.root().imports {
            if self.managed_resource(&import.to.resource).is_none() {
                diags.push(not_configured(&import.to.resource).at(&import.span));
            }
        }
        let mut values = Values::with_root_variables(self.config.root().variables.keys().map(|k| (k.clone(), Value::Unknown)).collect());
        let evaluator = self.evaluator(true);
        for &ix in &self.graph.order {
            let Node::Resource(m, i) = &self.graph.graph[ix] else {
                evaluator.node(&self.graph.graph[ix], &mut values, &mut diags);
                continue;
            };
            let r = &self.config.modules[*m].module.resources[*i];
            let key = self.registry.key_for(&self.config, *m, r);
            let schema = self.registry.schema(&key, r.mode, &r.type_name);
            let repetition = if r.count.is_some() || r.for_each.is_some() { Repetition::Unknown } else { Repetition::None };
            for path in values.instances_of(*m) {
                let scope = evaluator.scope(&values, *m, &path, Repetition::None);
                if let Err(d) = evaluate::expand(r.count.as_deref(), r.for_each.as_deref(), &scope) {
                    diags.push(d);
                }
                match (schema, self.registry.get(&key)) {
                    (Some(schema), Some(provider)) => {
                        let what = match r.mode {
                            Mode::Managed => format!("resource {:?}", r.type_name),
                            Mode::Data => format!("data source {:?}", r.type_name),
                        };
                        let scope = evaluator.scope(&values, *m, &path, repetition.clone());
                        let config = decode_body(&r.body, &schema.schema, &scope, &what, &mut diags);
                        let problems = match r.mode {
                            Mode::Managed => provider.validate(&r.type_name, &config),
                            Mode::Data => provider.validate_data(&r.type_name, &config),
                        };
                        for e in problems {
                            diags.push(planner::attr_diagnostic(r, &e.path, &e.message));
                        }
                    }
                    _ => diags.push(
                        Diagnostic::error("terrane::unknown_resource_type", format!("the provider {} has no {} type {:?}", key.source, if r.mode == Mode::Data { "data source" } else { "resource" }, r.type_name))
                            .at(&r.span),
                    ),
                }
                let expansion = Expansion::of(r);
                let mut rv = ResourceValues::new(expansion);
                if expansion == Expansion::Single {
                    rv.instances.insert(terrane_core::InstanceKey::None, Value::Unknown);
                }
                values.module_mut(&path).resources.insert((r.mode, r.type_name.clone(), r.name.clone()), rv);
            }
        }
        diags
    }
}

fn not_configured(addr: &terrane_core::ResourceAddr) -> Diagnostic {
    Diagnostic::error("terrane::import", format!("{addr} is not in the configuration"))
        .help("add a resource block for it first, then import the existing object into it")
}

/// Seconds since the intent was recorded; unreadable times count as long ago.
fn intent_age(intent: &terrane_state::Intent) -> f64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    terrane_core::time::parse_utc_seconds(&intent.created_at).map_or(f64::INFINITY, |at| now - at)
}
