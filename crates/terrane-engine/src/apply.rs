//! The applier: walks the plan's graph with bounded concurrency. Each resource
//! node re-evaluates its configuration once its dependencies are applied, checks
//! the result against the plan, calls the provider, and commits the result to
//! state as it lands. When a branch fails, independent branches still finish.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use terrane_core::{Diagnostic, Diagnostics, InstanceAddr, InstanceKey, Mode, ModulePath, Value};
use terrane_lang::config::Config;
use terrane_lang::eval;
use terrane_provider::{proposed_new, PlanRequest, Provider};
use terrane_state::{Actor, Change, Intent, OutputRecord, ResourceRecord, StateStore, Status};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::Instrument as _;

use crate::decode::decode_body;
use crate::graph::{ConfigGraph, Node};
use crate::plan::{Action, Plan, ResourceChange};
use crate::evaluate::Evaluator;
use crate::planner::{apply_ignore_changes, attr_diagnostic, mark_schema_sensitive};
use crate::registry::ProviderRegistry;
use crate::scope::{EvalScope, Expansion, Repetition, ResourceValues, Values};

/// What the applier reports as it goes, for progress display.
#[derive(Debug, Clone)]
pub enum ApplyEvent {
    Started { addr: InstanceAddr, action: Action, phase: Phase },
    Finished { addr: InstanceAddr, action: Action, phase: Phase, elapsed: Duration, id: Option<String> },
    Failed { addr: InstanceAddr, action: Action, phase: Phase, message: String },
}

/// Which half of an action an event is about (a replace has both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Create,
    Update,
    Delete,
    Read,
}

pub trait Observer: Send + Sync {
    fn event(&self, event: ApplyEvent);
}

pub struct ApplyContext<'a> {
    pub config: &'a Config,
    pub graph: &'a ConfigGraph,
    pub registry: &'a ProviderRegistry,
    pub plan: &'a Plan,
    pub variables: &'a BTreeMap<String, Value>,
    pub root_dir: &'a Path,
    pub store: Arc<dyn StateStore>,
    pub actor: Actor,
    pub parallelism: usize,
    pub observer: Arc<dyn Observer>,
    /// Set on interrupt: start nothing new, let what runs finish and commit.
    pub cancel: Arc<AtomicBool>,
}

#[derive(Debug, Default)]
pub struct ApplyReport {
    pub diagnostics: Diagnostics,
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    /// Objects `import` blocks brought under management.
    pub imported: usize,
    pub outputs: BTreeMap<String, Value>,
    /// Operations not started because of an interrupt.
    pub not_started: usize,
}

/// The result of a task that an interrupt stopped before it called its provider.
const NOT_STARTED: &str = "not started: interrupted";

/// What limits an apply's concurrency. `-parallelism` bounds provider calls
/// (`calls`); recording intents and committing results happen outside those
/// slots, so a call does not wait for the state store's round trips of the
/// one before it. `in_flight` bounds the changes between their intent and
/// their commit, which bounds what a crash leaves for recovery to look up.
#[derive(Clone)]
struct Slots {
    calls: Arc<Semaphore>,
    in_flight: Arc<Semaphore>,
    cancel: Arc<AtomicBool>,
}

/// Changes in flight per provider-call slot.
const IN_FLIGHT_PER_CALL: usize = 4;

impl Slots {
    fn new(parallelism: usize, cancel: Arc<AtomicBool>) -> Slots {
        let parallelism = parallelism.max(1);
        Slots {
            calls: Arc::new(Semaphore::new(parallelism)),
            in_flight: Arc::new(Semaphore::new(parallelism * IN_FLIGHT_PER_CALL)),
            cancel,
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// The result of a change that was made but whose postcondition is false.
const POSTCONDITION_FAILED: &str = "postcondition failed";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Op {
    Config(NodeIndex),
    /// Destroys the prior object of `plan.changes[i]` (a delete, or a replace's old half).
    Destroy(usize),
}

struct Outcome {
    op: NodeIndex,
    change: usize,
    result: Result<Option<Value>, String>,
    counted: Counted,
}

#[derive(Clone, Copy)]
enum Counted {
    Nothing,
    Added,
    Changed,
    Destroyed,
}

fn conforms(planned: &Value, actual: &Value) -> bool {
    match (planned.unmarked(), actual.unmarked()) {
        (Value::Unknown, _) => true,
        // Providers written for Terraform's SDK cannot tell an unset value
        // from its zero value, and Terraform accepts either for null.
        (Value::Null, Value::String(s)) => s.is_empty(),
        (Value::Null, Value::Bool(b)) => !b,
        (Value::Null, Value::Number(n)) => n.is_zero(),
        (Value::Null, Value::List(items) | Value::Set(items)) => items.is_empty(),
        (Value::Map(p), Value::Map(a)) => p.iter().all(|(k, pv)| a.get(k).is_some_and(|av| conforms(pv, av))),
        (Value::List(p), Value::List(a)) | (Value::Set(p), Value::Set(a)) => {
            p.len() == a.len() && p.iter().zip(a).all(|(x, y)| conforms(x, y))
        }
        (p, a) => terrane_provider::same_value(p, a),
    }
}

/// The attributes (top level) where the provider's result broke the plan.
fn broken_promises(planned: &Value, actual: &Value) -> Vec<String> {
    match (planned.unmarked(), actual.unmarked()) {
        (Value::Map(p), Value::Map(a)) => {
            p.iter().filter(|(k, pv)| !a.get(*k).is_some_and(|av| conforms(pv, av))).map(|(k, _)| k.clone()).collect()
        }
        _ => vec!["the object".into()],
    }
}

fn record_for(change: &ResourceChange, value: &Value, token: Option<String>) -> ResourceRecord {
    let (plain, sensitive_paths) = value.clone().unmark_deep();
    ResourceRecord {
        addr: change.addr.clone(),
        provider: change.provider.to_string(),
        schema_version: change.schema_version,
        attributes: plain.to_json(),
        sensitive_paths,
        dependencies: change.dependencies.to_vec(),
        status: Status::Ready,
        create_token: token,
    }
}

fn id_of(value: &Value) -> Option<String> {
    value.get("id").and_then(Value::as_str).map(str::to_string)
}

pub async fn apply(ctx: ApplyContext<'_>) -> ApplyReport {
    let mut report = ApplyReport::default();
    let workspace = ctx.plan.workspace.clone();

    // Renames from moved blocks come first: the changes below use the new addresses.
    for (from, to) in &ctx.plan.moves {
        if let Err(e) = ctx.store.move_instance(&workspace, &from.to_string(), &to.to_string(), &ctx.actor).await {
            report.diagnostics.push(Diagnostic::error("terrane::state_write", format!("cannot move {from} to {to}")).detail(e.to_string()));
            return report;
        }
    }

    // Objects refresh found gone, with nothing planned for them, leave state now.
    let planned_addrs: HashSet<&InstanceAddr> = ctx.plan.changes.iter().map(|c| &c.addr).collect();
    for drift in &ctx.plan.drift {
        if drift.after.is_none() && !planned_addrs.contains(&drift.addr) {
            let change = Change { addr: drift.addr.clone(), action: "gone".into(), after: None, actor: ctx.actor.clone() };
            if let Err(e) = ctx.store.commit(&workspace, change).await {
                report.diagnostics.push(Diagnostic::error("terrane::state_write", "cannot record a deleted object").detail(e.to_string()));
                return report;
            }
        }
    }

    // Build the operation graph.
    let mut ops: DiGraph<Op, ()> = DiGraph::new();
    let mut config_op: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    for ix in ctx.graph.graph.node_indices() {
        config_op.insert(ix, ops.add_node(Op::Config(ix)));
    }
    for e in ctx.graph.graph.edge_references() {
        ops.add_edge(config_op[&e.source()], config_op[&e.target()], ());
    }
    let mut resource_node: HashMap<(usize, Mode, &str, &str), NodeIndex> = HashMap::new();
    for (m, entry) in ctx.config.modules.iter().enumerate() {
        for (i, r) in entry.module.resources.iter().enumerate() {
            resource_node.insert((m, r.mode, &r.type_name, &r.name), config_op[&ctx.graph.index[&Node::Resource(m, i)]]);
        }
    }
    let node_of = |addr: &InstanceAddr| {
        let module = ctx.config.find(&static_path(&addr.resource.module))?;
        resource_node.get(&(module, addr.resource.mode, addr.resource.type_name.as_str(), addr.resource.name.as_str())).copied()
    };
    // What `ConfigGraph::dependencies` calls a resource.
    let name_of = |addr: &InstanceAddr| addr.resource.config_name();
    let mut destroy_ops: Vec<(usize, NodeIndex)> = Vec::new();
    let mut changes_of: HashMap<NodeIndex, Vec<usize>> = HashMap::new();
    for (i, change) in ctx.plan.changes.iter().enumerate() {
        match change.action {
            Action::Delete => destroy_ops.push((i, ops.add_node(Op::Destroy(i)))),
            Action::Replace { create_before_destroy } => {
                let d = ops.add_node(Op::Destroy(i));
                destroy_ops.push((i, d));
                if let Some(n) = node_of(&change.addr) {
                    changes_of.entry(n).or_default().push(i);
                    if create_before_destroy {
                        ops.add_edge(n, d, ());
                    } else {
                        ops.add_edge(d, n, ());
                    }
                }
            }
            Action::NoOp | Action::Create | Action::Update | Action::Read | Action::Forget => {
                if let Some(n) = node_of(&change.addr) {
                    changes_of.entry(n).or_default().push(i);
                }
            }
        }
    }
    // A destroy waits for the destroys of everything that depended on it, and for
    // the updates of dependents that stay.
    let mut destroy_by_name: HashMap<String, Vec<NodeIndex>> = HashMap::new();
    for (i, d) in &destroy_ops {
        destroy_by_name.entry(name_of(&ctx.plan.changes[*i].addr)).or_default().push(*d);
    }
    let replaced_first: HashSet<NodeIndex> = destroy_ops
        .iter()
        .filter(|(j, _)| matches!(ctx.plan.changes[*j].action, Action::Replace { create_before_destroy: false }))
        .map(|(_, d)| *d)
        .collect();
    let destroy_of: HashMap<usize, NodeIndex> = destroy_ops.iter().copied().collect();
    let mut extra_edges = Vec::new();
    for (i, change) in ctx.plan.changes.iter().enumerate() {
        for dep in change.dependencies.iter() {
            let Some(targets) = destroy_by_name.get(dep) else { continue };
            match change.action {
                Action::Delete | Action::Replace { .. } => {
                    if let Some(mine) = destroy_of.get(&i) {
                        extra_edges.extend(targets.iter().filter(|t| *t != mine).map(|t| (*mine, *t)));
                    }
                }
                Action::NoOp | Action::Create | Action::Update | Action::Read | Action::Forget => {}
            }
            if !matches!(change.action, Action::Delete) {
                if let Some(n) = node_of(&change.addr) {
                    extra_edges.extend(targets.iter().filter(|t| !replaced_first.contains(t)).map(|t| (n, *t)));
                }
            }
        }
    }
    for (from, to) in extra_edges {
        ops.update_edge(from, to, ());
    }
    if petgraph::algo::toposort(&ops, None).is_err() {
        report.diagnostics.push(
            Diagnostic::error("terrane::apply_cycle", "the changes cannot be ordered: replacing and destroying these objects depend on each other")
                .help("apply the change in two steps, or use create_before_destroy"),
        );
        return report;
    }

    let mut walker = Walker {
        ctx: &ctx,
        workspace,
        values: Values::with_root_variables(ctx.variables.clone()),
        pending: HashMap::new(),
        blocked: HashSet::new(),
        tasks: JoinSet::new(),
        slots: Slots::new(ctx.parallelism, ctx.cancel.clone()),
        instance_values: HashMap::new(),
        failed: HashSet::new(),
        report,
    };
    let mut indegree: HashMap<NodeIndex, usize> = ops.node_indices().map(|n| (n, ops.edges_directed(n, Direction::Incoming).count())).collect();
    let mut ready: VecDeque<NodeIndex> = indegree.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
    let mut sorted: Vec<NodeIndex> = ready.drain(..).collect();
    sorted.sort();
    ready.extend(sorted);
    let mut done_ops: Vec<(NodeIndex, bool)> = Vec::new();
    loop {
        while let Some(op) = ready.pop_front() {
            if ctx.cancel.load(Ordering::SeqCst) {
                let changes_something = match ops[op] {
                    Op::Destroy(_) => true,
                    Op::Config(_) => changes_of.get(&op).is_some_and(|c| {
                        c.iter().any(|i| !matches!(ctx.plan.changes[*i].action, Action::NoOp))
                    }),
                };
                walker.report.not_started += usize::from(changes_something);
                done_ops.push((op, false));
                continue;
            }
            let ok_so_far = !walker.blocked.contains(&op);
            let started = if ok_so_far { walker.start(op, ops[op], &changes_of) } else { Started::Failed };
            match started {
                Started::Done => done_ops.push((op, true)),
                Started::Failed => done_ops.push((op, false)),
                Started::Running(n) => {
                    walker.pending.insert(op, n);
                }
            }
        }
        for (op, ok) in done_ops.drain(..) {
            if let (false, Op::Config(ix)) = (ok, ops[op]) {
                walker.failed.insert(ix);
            }
            for next in ops.neighbors_directed(op, Direction::Outgoing).collect::<Vec<_>>() {
                if !ok {
                    walker.blocked.insert(next);
                }
                let d = indegree.get_mut(&next).map(|d| {
                    *d -= 1;
                    *d
                });
                if d == Some(0) {
                    ready.push_back(next);
                }
            }
        }
        if !ready.is_empty() {
            continue;
        }
        let Some(joined) = walker.tasks.join_next().await else { break };
        let outcome = match joined {
            Ok(o) => o,
            Err(e) => {
                walker.report.diagnostics.push(Diagnostic::error("terrane::apply_task", format!("an apply task failed: {e}")));
                continue;
            }
        };
        if let Some((op, ok)) = walker.finish(outcome, &ops) {
            done_ops.push((op, ok));
        }
    }
    walker.finish_outputs().await;
    // Create tokens have done their work once the objects are in state. An
    // object that keeps its token (the run died first) is still found by it,
    // its tags never show it, and the next apply takes it off.
    for (key, provider) in ctx.registry.instances() {
        if let Err(e) = provider.finish_apply().await {
            tracing::warn!(provider = %key, error = %e, "idempotency tokens stay on objects");
        }
    }
    walker.report
}

enum Started {
    Done,
    Failed,
    Running(usize),
}

struct Walker<'c, 'a> {
    ctx: &'c ApplyContext<'a>,
    workspace: String,
    values: Values,
    /// Operations with instance tasks still running, and how many.
    pending: HashMap<NodeIndex, usize>,
    /// Operations that must not run because something they need failed.
    blocked: HashSet<NodeIndex>,
    tasks: JoinSet<Outcome>,
    slots: Slots,
    /// Results of a resource node's running instances, by module instance and key.
    instance_values: HashMap<NodeIndex, (BTreeMap<(ModulePath, InstanceKey), Value>, bool)>,
    /// Configuration nodes that failed or were skipped.
    failed: HashSet<NodeIndex>,
    report: ApplyReport,
}

impl Walker<'_, '_> {
    fn scope<'s>(&'s self, module: usize, path: &'s ModulePath, repetition: Repetition) -> EvalScope<'s> {
        EvalScope::new(&self.values, self.ctx.config, module, path, &self.workspace, repetition, self.ctx.root_dir).applying(true)
    }

    fn start(&mut self, op: NodeIndex, kind: Op, changes_of: &HashMap<NodeIndex, Vec<usize>>) -> Started {
        match kind {
            Op::Destroy(i) => {
                self.spawn_destroy(op, i);
                Started::Running(1)
            }
            Op::Config(ix) => match self.ctx.graph.graph[ix].clone() {
                // Root outputs are evaluated once everything has been applied.
                Node::Output(0, _) => Started::Done,
                Node::Resource(m, i) => self.start_resource(op, m, i, changes_of.get(&op).cloned().unwrap_or_default()),
                node @ (Node::Variable(..) | Node::Local(..) | Node::Output(..) | Node::Call(..)) => {
                    if self.ctx.plan.destroy {
                        return Started::Done;
                    }
                    let evaluator = Evaluator { config: self.ctx.config, workspace: &self.workspace, root_dir: self.ctx.root_dir, validating: false, applying: true };
                    let mut diags = Diagnostics::new();
                    let ok = evaluator.node(&node, &mut self.values, &mut diags);
                    self.report.diagnostics.extend(diags);
                    if ok {
                        Started::Done
                    } else {
                        Started::Failed
                    }
                }
            },
        }
    }

    fn start_resource(&mut self, op: NodeIndex, m: usize, index: usize, changes: Vec<usize>) -> Started {
        let r = &self.ctx.config.modules[m].module.resources[index];
        let expansion = Expansion::of(r);
        let mut known = BTreeMap::new();
        let mut running = 0;
        let mut failed = false;
        for i in changes {
            let change = &self.ctx.plan.changes[i];
            match change.action {
                Action::NoOp => {
                    let value = change.after.clone().or_else(|| change.before.clone()).unwrap_or(Value::Null);
                    if change.drifted || change.importing.is_some() {
                        // Persist what refresh or an import found, so state matches the world.
                        let store = self.ctx.store.clone();
                        let workspace = self.workspace.clone();
                        let record = record_for(change, &value, None);
                        let action = if change.importing.is_some() { "import" } else { "refresh" };
                        let commit = Change { addr: change.addr.clone(), action: action.into(), after: Some(record), actor: self.ctx.actor.clone() };
                        let v = value.clone();
                        self.tasks.spawn(async move {
                            let result = store.commit(&workspace, commit).await.map(|_| Some(v)).map_err(|e| e.to_string());
                            Outcome { op, change: i, result, counted: Counted::Nothing }
                        });
                        running += 1;
                    } else {
                        known.insert((change.addr.resource.module.clone(), change.addr.key.clone()), value);
                    }
                }
                Action::Create | Action::Update | Action::Replace { .. } | Action::Read => match self.prepare(m, r, change) {
                    Ok(final_config) => {
                        self.spawn_apply(op, i, final_config);
                        running += 1;
                    }
                    Err(diags) => {
                        failed = true;
                        self.ctx.observer.event(ApplyEvent::Failed {
                            addr: change.addr.clone(),
                            action: change.action,
                            phase: phase_of(change.action),
                            message: diags.to_string(),
                        });
                        self.report.diagnostics.extend(diags);
                    }
                },
                Action::Delete | Action::Forget => {}
            }
        }
        let id = (r.mode, r.type_name.clone(), r.name.clone());
        for path in self.values.instances_of(m) {
            self.values.module_mut(&path).resources.insert(id.clone(), ResourceValues::new(expansion));
        }
        if running == 0 {
            self.store_instances(&id, known);
            return if failed { Started::Failed } else { Started::Done };
        }
        self.instance_values.insert(op, (known, failed));
        Started::Running(running)
    }

    /// Puts a resource's instance values where references find them: in the
    /// values of each instance's module instance.
    fn store_instances(&mut self, id: &crate::scope::ResourceId, instances: BTreeMap<(ModulePath, InstanceKey), Value>) {
        for ((path, key), value) in instances {
            let module = self.values.module_mut(&path);
            match module.resources.get_mut(id) {
                Some(values) => {
                    values.instances.insert(key, value);
                }
                None => {
                    let mut values = ResourceValues::new(match key {
                        InstanceKey::None => Expansion::Single,
                        InstanceKey::Int(_) => Expansion::Count,
                        InstanceKey::Str(_) => Expansion::ForEach,
                    });
                    values.instances.insert(key, value);
                    module.resources.insert(id.clone(), values);
                }
            }
        }
    }

    /// Re-evaluates one instance's configuration now that its dependencies are
    /// applied, and plans it again; the result must agree with the saved plan.
    fn prepare(&self, m: usize, r: &terrane_lang::Resource, change: &ResourceChange) -> Result<Value, Diagnostics> {
        let mut diags = Diagnostics::new();
        let Some(provider) = self.ctx.registry.get(&change.provider) else {
            return Err(Diagnostic::error("terrane::unknown_provider", format!("no provider {}", change.provider)).into());
        };
        let Some(schema) = self.ctx.registry.schema(&change.provider, r.mode, &r.type_name) else {
            return Err(Diagnostic::error("terrane::unknown_resource_type", format!("no schema for {}", r.type_name)).into());
        };
        // each.value again, now that what for_each iterates over is applied
        // (a map of resources has unknown values at plan time).
        let path = &change.addr.resource.module;
        let each_value = match &r.for_each {
            Some(for_each) => match crate::evaluate::expand(None, Some(for_each), &self.scope(m, path, Repetition::None)) {
                Ok(Some((_, keys))) => keys.into_iter().find(|(k, _)| *k == change.addr.key).and_then(|(_, v)| v),
                Ok(None) | Err(_) => None,
            }
            .or_else(|| change.each_value.clone()),
            None => None,
        };
        let scope = self.scope(m, path, Repetition::from_key(&change.addr.key, each_value.as_ref()));
        let config = decode_body(&r.body, &schema.schema, &scope, &format_args!("resource {:?}", r.type_name), &mut diags);
        let problems = match r.mode {
            Mode::Managed => provider.validate(&r.type_name, &config),
            Mode::Data => provider.validate_data(&r.type_name, &config),
        };
        for e in problems {
            diags.push(attr_diagnostic(r, &e.path, &e.message));
        }
        if diags.has_errors() {
            return Err(diags);
        }
        if r.mode == Mode::Data {
            return Ok(config);
        }
        let prior = match change.action {
            Action::Update => change.before.as_ref(),
            Action::NoOp | Action::Create | Action::Read | Action::Replace { .. } | Action::Delete | Action::Forget => None,
        };
        let config = match &change.before {
            Some(before) => apply_ignore_changes(&r.lifecycle().ignore_changes, config, before),
            None => config,
        };
        let resp = provider
            .plan(PlanRequest {
                type_name: &r.type_name,
                prior,
                config: &config,
                proposed: proposed_new(&schema.schema, prior, &config),
            })
            .map_err(|e| Diagnostics::from(Diagnostic::error("terrane::provider_plan", format!("{}: {e}", change.addr))))?;
        if let Some(planned) = &change.after {
            if !conforms(planned, &resp.planned) {
                return Err(Diagnostic::error("terrane::inconsistent_plan", format!("{}: the final plan differs from the saved plan", change.addr))
                    .detail(format!("planned {planned}, but now {}", resp.planned))
                    .at(&r.span)
                    .into());
            }
        }
        Ok(mark_schema_sensitive(&schema.schema, resp.planned))
    }

    fn spawn_apply(&mut self, op: NodeIndex, i: usize, planned: Value) {
        let change = self.ctx.plan.changes[i].clone();
        let Some(provider) = self.ctx.registry.get(&change.provider).cloned() else { return };
        let store = self.ctx.store.clone();
        let workspace = self.workspace.clone();
        let actor = self.ctx.actor.clone();
        let observer = self.ctx.observer.clone();
        let slots = self.slots.clone();
        let span = tracing::info_span!("resource", address = %change.addr, action = change.action.name());
        self.tasks.spawn(
            async move {
                let _slot = slots.in_flight.clone().acquire_owned().await;
                if slots.cancelled() {
                    return Outcome { op, change: i, result: Err(NOT_STARTED.into()), counted: Counted::Nothing };
                }
                let (result, counted) = run_change(&*provider, &*store, &workspace, &actor, &*observer, &slots, &change, planned).await;
                Outcome { op, change: i, result, counted }
            }
            .instrument(span),
        );
    }

    fn spawn_destroy(&mut self, op: NodeIndex, i: usize) {
        let change = self.ctx.plan.changes[i].clone();
        let provider = self.ctx.registry.get(&change.provider).cloned();
        let store = self.ctx.store.clone();
        let workspace = self.workspace.clone();
        let actor = self.ctx.actor.clone();
        let observer = self.ctx.observer.clone();
        let slots = self.slots.clone();
        let span = tracing::info_span!("resource", address = %change.addr, action = "delete");
        self.tasks.spawn(async move {
            let _slot = slots.in_flight.clone().acquire_owned().await;
            if slots.cancelled() {
                return Outcome { op, change: i, result: Err(NOT_STARTED.into()), counted: Counted::Nothing };
            }
            let Some(provider) = provider else {
                let message = format!("no provider {} to destroy {}", change.provider, change.addr);
                return Outcome { op, change: i, result: Err(message), counted: Counted::Nothing };
            };
            let result = run_destroy(&*provider, &*store, &workspace, &actor, &*observer, &slots, &change).await;
            let counted = if result.is_ok() && matches!(change.action, Action::Delete) { Counted::Destroyed } else { Counted::Nothing };
            Outcome { op, change: i, result: result.map(|()| None), counted }
        }.instrument(span));
    }

    /// Records one finished task; returns the operation when all its tasks are done.
    fn finish(&mut self, outcome: Outcome, ops: &DiGraph<Op, ()>) -> Option<(NodeIndex, bool)> {
        let change = &self.ctx.plan.changes[outcome.change];
        let mut result = outcome.result;
        if let (Ok(Some(value)), Op::Config(ix)) = (&result, ops[outcome.op]) {
            let diags = self.postconditions(ix, change, value);
            if diags.has_errors() {
                self.report.diagnostics.extend(diags);
                result = Err(POSTCONDITION_FAILED.into());
            }
        }
        let ok = match result {
            Ok(value) => {
                if change.importing.is_some() && !matches!(ops[outcome.op], Op::Destroy(_)) {
                    self.report.imported += 1;
                }
                match outcome.counted {
                    Counted::Added => self.report.added += 1,
                    Counted::Changed => self.report.changed += 1,
                    Counted::Destroyed => self.report.destroyed += 1,
                    Counted::Nothing => {}
                }
                if matches!(change.action, Action::Replace { .. }) && matches!(ops[outcome.op], Op::Destroy(_)) {
                    self.report.destroyed += 1;
                }
                if let (Some(v), Some(entry)) = (value, self.instance_values.get_mut(&outcome.op)) {
                    entry.0.insert((change.addr.resource.module.clone(), change.addr.key.clone()), v);
                }
                true
            }
            Err(message) if message == POSTCONDITION_FAILED => {
                // The object exists and is in state; only its dependents stop.
                match outcome.counted {
                    Counted::Added => self.report.added += 1,
                    Counted::Changed => self.report.changed += 1,
                    Counted::Destroyed | Counted::Nothing => {}
                }
                if let Some(entry) = self.instance_values.get_mut(&outcome.op) {
                    entry.1 = true;
                }
                false
            }
            Err(message) if message == NOT_STARTED => {
                self.report.not_started += 1;
                if let Some(entry) = self.instance_values.get_mut(&outcome.op) {
                    entry.1 = true;
                }
                false
            }
            Err(message) => {
                self.report.diagnostics.push(
                    Diagnostic::error("terrane::apply_failed", format!("{}: {} failed", change.addr, change.action.name())).detail(message),
                );
                if let Some(entry) = self.instance_values.get_mut(&outcome.op) {
                    entry.1 = true;
                }
                false
            }
        };
        let left = self.pending.get_mut(&outcome.op)?;
        *left -= 1;
        if *left > 0 {
            if !ok {
                self.blocked.insert(outcome.op);
            }
            return None;
        }
        self.pending.remove(&outcome.op);
        let failed_before = self.blocked.remove(&outcome.op);
        match ops[outcome.op] {
            Op::Destroy(_) => Some((outcome.op, ok && !failed_before)),
            Op::Config(_) => {
                let (instances, failed) = self.instance_values.remove(&outcome.op).unwrap_or_default();
                let id = (change.addr.resource.mode, change.addr.resource.type_name.clone(), change.addr.resource.name.clone());
                self.store_instances(&id, instances);
                Some((outcome.op, ok && !failed && !failed_before))
            }
        }
    }

    /// Postconditions the plan could not decide, now that the object is known.
    fn postconditions(&self, ix: NodeIndex, change: &ResourceChange, value: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        let Node::Resource(m, index) = self.ctx.graph.graph[ix] else { return diags };
        let r = &self.ctx.config.modules[m].module.resources[index];
        if r.lifecycle().postconditions.is_empty() || matches!(change.action, Action::NoOp) {
            return diags;
        }
        let path = &change.addr.resource.module;
        let scope = self.scope(m, path, Repetition::from_key(&change.addr.key, change.each_value.as_ref()));
        let with_self = crate::conditions::WithSelf { scope: &scope, value };
        crate::conditions::check("postcondition", &change.addr, &r.lifecycle().postconditions, &with_self, &mut diags);
        diags
    }

    async fn finish_outputs(&mut self) {
        let mut records = Vec::new();
        if !self.ctx.plan.destroy {
            let root = ModulePath::root();
            for (name, output) in &self.ctx.config.root().outputs {
                let node = self.ctx.graph.index[&Node::Output(0, name.clone())];
                let depends_failed = self
                    .ctx
                    .graph
                    .graph
                    .neighbors_directed(node, Direction::Incoming)
                    .any(|n| self.failed.contains(&n));
                if depends_failed {
                    continue;
                }
                let scope = self.scope(0, &root, Repetition::None);
                let mut unmet = Diagnostics::new();
                crate::conditions::check("precondition", &format!("output {name:?}"), &output.preconditions, &scope, &mut unmet);
                if unmet.has_errors() {
                    self.report.diagnostics.extend(unmet);
                    continue;
                }
                match eval(&output.expr, &scope) {
                    Ok(v) if v.is_wholly_known() => {
                        let v = v.mark_if(output.sensitive);
                        records.push(OutputRecord {
                            name: name.clone(),
                            value: v.to_json(),
                            sensitive: output.sensitive || v.contains_sensitive(),
                        });
                        self.report.outputs.insert(name.clone(), v);
                    }
                    Ok(_) => {}
                    Err(d) => self.report.diagnostics.push(d),
                }
            }
        }
        if let Err(e) = self.ctx.store.set_outputs(&self.workspace, &self.ctx.actor, records).await {
            self.report.diagnostics.push(Diagnostic::error("terrane::state_write", "cannot save outputs").detail(e.to_string()));
        }
    }

}

/// The module path's call names, without instance keys.
fn static_path(path: &ModulePath) -> Vec<String> {
    path.0.iter().map(|(name, _)| name.clone()).collect()
}

fn phase_of(action: Action) -> Phase {
    match action {
        Action::Create | Action::Replace { .. } => Phase::Create,
        Action::Update | Action::NoOp | Action::Forget => Phase::Update,
        Action::Delete => Phase::Delete,
        Action::Read => Phase::Read,
    }
}

async fn run_change(
    provider: &dyn Provider,
    store: &dyn StateStore,
    workspace: &str,
    actor: &Actor,
    observer: &dyn Observer,
    slots: &Slots,
    change: &ResourceChange,
    planned: Value,
) -> (Result<Option<Value>, String>, Counted) {
    let type_name = &change.addr.resource.type_name;
    let phase = phase_of(change.action);
    tracing::debug!(provider = %change.provider, "applying");
    let fail = |message: String| {
        observer.event(ApplyEvent::Failed { addr: change.addr.clone(), action: change.action, phase, message: message.clone() });
        (Err(message), Counted::Nothing)
    };
    if matches!(change.action, Action::Read) {
        let Ok(_call) = slots.calls.acquire().await else { return fail(NOT_STARTED.into()) };
        if slots.cancelled() {
            return (Err(NOT_STARTED.into()), Counted::Nothing);
        }
        observer.event(ApplyEvent::Started { addr: change.addr.clone(), action: change.action, phase });
        let started = Instant::now();
        return match provider.read_data(type_name, planned.unmark_deep().0).await {
            Ok(v) => {
                observer.event(ApplyEvent::Finished { addr: change.addr.clone(), action: change.action, phase, elapsed: started.elapsed(), id: id_of(&v) });
                (Ok(Some(v)), Counted::Nothing)
            }
            Err(e) => fail(e.to_string()),
        };
    }
    if let (Some(before), Action::Update) = (&change.before, change.action) {
        if change.importing.is_some() {
            // The imported object is managed from here on, whatever the update does.
            let commit = Change { addr: change.addr.clone(), action: "import".into(), after: Some(record_for(change, before, None)), actor: actor.clone() };
            if let Err(e) = store.commit(workspace, commit).await {
                return fail(format!("cannot record the imported object in state: {e}"));
            }
        }
    }
    let token = uuid::Uuid::new_v4().to_string();
    let action = match change.action {
        Action::Update => "update",
        Action::NoOp | Action::Create | Action::Read | Action::Replace { .. } | Action::Delete | Action::Forget => "create",
    };
    let (plain_planned, sensitive_paths) = planned.clone().unmark_deep();
    let intent = Intent {
        addr: change.addr.clone(),
        run_id: actor.run_id.clone(),
        action: action.into(),
        token: token.clone(),
        provider: change.provider.to_string(),
        planned: plain_planned.to_json(),
        created_at: terrane_core::time::now_rfc3339(),
    };
    if let Err(e) = store.record_intent(workspace, &intent).await {
        return fail(format!("cannot record the intent in state: {e}"));
    }
    let Ok(call) = slots.calls.acquire().await else { return fail(NOT_STARTED.into()) };
    if slots.cancelled() {
        // Nothing was called: the intent goes, and the change is not started.
        return match store.clear_intent(workspace, &change.addr.to_string()).await {
            Ok(()) => (Err(NOT_STARTED.into()), Counted::Nothing),
            Err(e) => fail(format!("not started, and the intent could not be cleared: {e}")),
        };
    }
    observer.event(ApplyEvent::Started { addr: change.addr.clone(), action: change.action, phase });
    let started = Instant::now();
    let result = match change.action {
        Action::Update => {
            let prior = change.before.clone().unwrap_or(Value::Null).unmark_deep().0;
            provider.update(type_name, prior, plain_planned).await
        }
        Action::NoOp | Action::Create | Action::Read | Action::Replace { .. } | Action::Delete | Action::Forget => {
            provider.create(type_name, plain_planned, &token).await
        }
    };
    drop(call);
    let value = match result {
        Ok(v) => v.mark_paths(&sensitive_paths),
        Err(e) => {
            if let Err(se) = store.clear_intent(workspace, &change.addr.to_string()).await {
                return fail(format!("{e}; and the intent could not be cleared: {se}"));
            }
            return fail(e.to_string());
        }
    };
    let record = record_for(change, &value, (action == "create").then_some(token));
    let commit = Change { addr: change.addr.clone(), action: change.action.name().into(), after: Some(record), actor: actor.clone() };
    if let Err(e) = store.commit(workspace, commit).await {
        return fail(format!("the object was {action}d but state could not be saved: {e}"));
    }
    // As Terraform does, an object whose result broke the plan is recorded
    // as it is, and the apply fails naming what differs.
    if !conforms(&planned, &value) {
        let attributes = broken_promises(&planned, &value).join(", ");
        return fail(format!("the provider returned a result that differs from the plan in {attributes}; the object is recorded as it is: planned {planned}, got {value}"));
    }
    observer.event(ApplyEvent::Finished { addr: change.addr.clone(), action: change.action, phase, elapsed: started.elapsed(), id: id_of(&value) });
    let counted = match change.action {
        Action::Update => Counted::Changed,
        Action::NoOp | Action::Create | Action::Read | Action::Replace { .. } | Action::Delete | Action::Forget => Counted::Added,
    };
    (Ok(Some(value)), counted)
}

async fn run_destroy(
    provider: &dyn Provider,
    store: &dyn StateStore,
    workspace: &str,
    actor: &Actor,
    observer: &dyn Observer,
    slots: &Slots,
    change: &ResourceChange,
) -> Result<(), String> {
    let mut started = Instant::now();
    let phase = Phase::Delete;
    tracing::debug!(provider = %change.provider, "destroying");
    let prior = change.before.clone().unwrap_or(Value::Null).unmark_deep().0;
    let intent = Intent {
        addr: change.addr.clone(),
        run_id: actor.run_id.clone(),
        action: "delete".into(),
        token: uuid::Uuid::new_v4().to_string(),
        provider: change.provider.to_string(),
        planned: prior.to_json(),
        created_at: terrane_core::time::now_rfc3339(),
    };
    let result = async {
        store.record_intent(workspace, &intent).await.map_err(|e| format!("cannot record the intent in state: {e}"))?;
        let call = slots.calls.acquire().await.map_err(|_| NOT_STARTED.to_string())?;
        if slots.cancelled() {
            store.clear_intent(workspace, &change.addr.to_string()).await.map_err(|e| format!("not started, and the intent could not be cleared: {e}"))?;
            return Err(NOT_STARTED.to_string());
        }
        observer.event(ApplyEvent::Started { addr: change.addr.clone(), action: change.action, phase });
        started = Instant::now();
        provider.delete(&change.addr.resource.type_name, prior).await.map_err(|e| e.to_string())?;
        drop(call);
        // A create-before-destroy replace already committed the new object at this address.
        let keep_row = matches!(change.action, Action::Replace { create_before_destroy: true });
        if keep_row {
            store.clear_intent(workspace, &change.addr.to_string()).await.map_err(|e| e.to_string())?;
        } else {
            let commit = Change { addr: change.addr.clone(), action: "delete".into(), after: None, actor: actor.clone() };
            store.commit(workspace, commit).await.map_err(|e| format!("the object was deleted but state could not be saved: {e}"))?;
        }
        Ok::<(), String>(())
    }
    .await;
    match &result {
        Ok(()) => observer.event(ApplyEvent::Finished { addr: change.addr.clone(), action: change.action, phase, elapsed: started.elapsed(), id: None }),
        Err(message) if message == NOT_STARTED => {}
        Err(message) => observer.event(ApplyEvent::Failed { addr: change.addr.clone(), action: change.action, phase, message: message.clone() }),
    }
    result
}
