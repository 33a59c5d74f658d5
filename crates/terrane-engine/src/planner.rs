//! The planner: pure and deterministic. Walks the configuration graph, expands
//! count and for_each, evaluates each instance, asks its provider to plan it, and
//! diffs against the refreshed state. It does no I/O: data sources it cannot read
//! from earlier results are returned as pending reads for the caller to perform.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use terrane_core::{Diagnostic, Diagnostics, InstanceAddr, InstanceKey, Mode, ModulePath, PathStep, ResourceAddr, Span, Value};
use terrane_lang::config::{Config, IgnoreChanges, Resource};
use terrane_lang::{eval, ExprKind, RefTarget};
use terrane_provider::{proposed_new, same_value, PlanRequest};

use crate::decode::decode_body;
use crate::evaluate::{expand, unknown_expansion, Evaluator, Keys};
use crate::graph::{ConfigGraph, Node};
use crate::plan::{Action, OutputChange, Plan, ResourceChange};
use crate::refresh::{PriorInstance, Refreshed};
use crate::registry::{ProviderKey, ProviderRegistry};
use crate::scope::{EvalScope, Expansion, Repetition, ResourceValues, Values};

pub const PLAN_FORMAT_VERSION: u32 = 1;

/// A data source whose configuration is known and that the caller should read.
#[derive(Debug, Clone)]
pub struct PendingRead {
    pub addr: InstanceAddr,
    pub provider: ProviderKey,
    pub config: Value,
}

pub struct Planner<'a> {
    pub config: &'a Config,
    pub graph: &'a ConfigGraph,
    pub registry: &'a ProviderRegistry,
    pub prior: &'a Refreshed,
    pub variables: &'a BTreeMap<String, Value>,
    pub workspace: &'a str,
    pub destroy: bool,
    /// Results of data source reads made for earlier passes.
    pub data_results: &'a HashMap<InstanceAddr, Value>,
    pub root_dir: &'a Path,
}

/// One planning pass: the plan when it succeeded, the problems when it did not,
/// and the data sources it could not read (which may be why it failed: their
/// values are unknown until read, and the next pass has them).
pub struct PlanOutcome {
    pub plan: Result<Plan, Diagnostics>,
    pub pending_reads: Vec<PendingRead>,
}

struct Walk<'p> {
    values: Values,
    changes: Vec<ResourceChange>,
    pending: Vec<PendingRead>,
    /// Resources (per module instance) with at least one instance that will change.
    changing: HashSet<ResourceAddr>,
    /// The stored instances in address order, found by address through
    /// `stored_at`: one hash lookup per planned instance, where searching the
    /// state's map compared keys whose strings miss the cache at every step of a
    /// large state.
    stored: Vec<(&'p InstanceAddr, &'p PriorInstance)>,
    stored_at: HashMap<&'p InstanceAddr, usize>,
    /// Which of `stored` the configuration still declares.
    visited: Vec<bool>,
    diags: Diagnostics,
}

/// Sets each managed change's `before` to its refreshed object, moved out of
/// `prior`, which the plan outlives: the planner leaves them unset, as a copy of
/// every stored object was a large plan's biggest cost in memory. `changes` are in
/// address order, as `Planner::run` returns them.
pub fn take_prior_values(changes: &mut [ResourceChange], prior: BTreeMap<InstanceAddr, PriorInstance>) {
    let mut stored = prior.into_iter().peekable();
    for change in changes.iter_mut().filter(|c| c.action != Action::Read) {
        while stored.next_if(|(addr, _)| *addr < change.addr).is_some() {}
        if let Some((_, instance)) = stored.next_if(|(addr, _)| *addr == change.addr) {
            change.before = Some(instance.value);
        }
    }
}

impl<'p> Walk<'p> {
    /// The stored instance at `addr`, noted as still declared.
    fn visit(&mut self, addr: &InstanceAddr) -> Option<&'p PriorInstance> {
        let at = *self.stored_at.get(addr)?;
        self.visited[at] = true;
        Some(self.stored[at].1)
    }
}

pub fn resource_addr(path: &ModulePath, r: &Resource) -> ResourceAddr {
    ResourceAddr { module: path.clone(), mode: r.mode, type_name: r.type_name.clone(), name: r.name.clone() }
}

impl<'a> Planner<'a> {
    pub fn run(&self) -> PlanOutcome {
        // About one change per resource block or stored instance: sized up front,
        // as growing them was a tenth of a large plan.
        let expected = self.prior.instances.len().max(self.config.modules.iter().map(|e| e.module.resources.len()).sum());
        let mut walk = Walk {
            values: Values::with_root_variables(self.variables.clone()),
            changes: Vec::with_capacity(expected),
            pending: Vec::new(),
            changing: HashSet::new(),
            stored: self.prior.instances.iter().collect(),
            stored_at: self.prior.instances.keys().enumerate().map(|(at, addr)| (addr, at)).collect(),
            visited: vec![false; self.prior.instances.len()],
            diags: Diagnostics::new(),
        };
        walk.values.module_mut(&ModulePath::root()).resources.reserve(self.config.root().resources.len());
        let evaluator = self.evaluator();
        for &ix in &self.graph.order {
            match &self.graph.graph[ix] {
                Node::Resource(m, i) => {
                    let r = &self.config.modules[*m].module.resources[*i];
                    let dependencies = self.graph.dependencies.get(&ix).cloned().unwrap_or_else(|| Arc::new([]));
                    for path in walk.values.instances_of(*m) {
                        match r.mode {
                            Mode::Managed => self.plan_resource(*m, &path, r, &dependencies, &mut walk),
                            Mode::Data => self.plan_data(*m, &path, r, &dependencies, &mut walk),
                        }
                    }
                }
                node => {
                    evaluator.node(node, &mut walk.values, &mut walk.diags);
                }
            }
        }
        let mut outputs = Vec::new();
        let root_outputs = walk.values.root().map(|m| &m.outputs);
        for (name, output) in &self.config.root().outputs {
            let Some(value) = root_outputs.and_then(|o| o.get(name)) else { continue };
            outputs.push(OutputChange {
                name: name.clone(),
                before: self.prior.outputs.get(name).cloned(),
                after: if self.destroy { Value::Null } else { value.clone() },
                sensitive: output.sensitive,
            });
        }
        for (at, &(addr, prior)) in walk.stored.iter().enumerate() {
            if walk.visited[at] || addr.resource.mode == Mode::Data {
                continue;
            }
            if let Some(importing) = &prior.importing {
                walk.diags.push(
                    Diagnostic::error("terrane::import_target", format!("the import target {addr} is not an instance of the configuration"))
                        .at(&importing.span)
                        .help("import into an instance that count or for_each declares, with the same kind of key"),
                );
                continue;
            }
            walk.changes.push(ResourceChange {
                addr: addr.clone(),
                provider: prior.provider.clone(),
                action: Action::Delete,
                before: None, // moved in by `take_prior_values`
                after: None,
                requires_replace: Vec::new(),
                schema_version: prior.schema_version,
                reason: Some(if self.destroy { "destroy".into() } else { "no longer in the configuration".into() }),
                each_value: None,
                dependencies: prior.dependencies.as_slice().into(),
                drifted: false,
                importing: None,
            });
        }
        if walk.diags.has_errors() {
            return PlanOutcome { plan: Err(walk.diags), pending_reads: walk.pending };
        }
        let mut warnings = if self.destroy { Vec::new() } else { self.checks(&walk.values) };
        // The same warning from each instance of a resource is said once.
        for warning in std::mem::take(&mut walk.diags.0) {
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
        }
        walk.changes.sort_unstable_by(|a, b| a.addr.cmp(&b.addr));
        PlanOutcome {
            plan: Ok(Plan {
                format_version: PLAN_FORMAT_VERSION,
                workspace: self.workspace.to_string(),
                lineage: self.prior.lineage.clone(),
                serial: self.prior.serial,
                destroy: self.destroy,
                changes: walk.changes,
                outputs,
                drift: self.prior.drift.clone(),
                moves: self.prior.moves.clone(),
                warnings,
            }),
            pending_reads: walk.pending,
        }
    }

    fn evaluator(&self) -> Evaluator<'_> {
        Evaluator { config: self.config, workspace: self.workspace, root_dir: self.root_dir, validating: false, applying: false }
    }

    fn scope<'s>(&'s self, values: &'s Values, module: usize, path: &'s ModulePath, repetition: Repetition) -> EvalScope<'s> {
        EvalScope::new(values, self.config, module, path, self.workspace, repetition, self.root_dir)
    }

    fn plan_resource(&self, m: usize, path: &ModulePath, r: &Resource, dependencies: &Arc<[String]>, walk: &mut Walk<'a>) {
        let id = (r.mode, r.type_name.clone(), r.name.clone());
        let raddr = resource_addr(path, r);
        let key = self.registry.key_for(self.config, m, r);
        let Some(schema) = self.registry.schema(&key, Mode::Managed, &r.type_name) else {
            walk.diags.push(
                Diagnostic::error("terrane::unknown_resource_type", format!("the provider {} has no resource type {:?}", key.source, r.type_name))
                    .at(&r.span),
            );
            return;
        };
        let Some(provider) = self.registry.get(&key) else { return };
        if self.destroy {
            let mut values = ResourceValues::new(Expansion::Single);
            for (addr, prior) in self.prior.instances.range(raddr.instance(InstanceKey::None)..) {
                if addr.resource != raddr {
                    break;
                }
                values.expansion = match addr.key {
                    InstanceKey::None => Expansion::Single,
                    InstanceKey::Int(_) => Expansion::Count,
                    InstanceKey::Str(_) => Expansion::ForEach,
                };
                values.instances.insert(addr.key.clone(), prior.value.clone());
            }
            walk.values.module_mut(path).resources.insert(id, values);
            if r.lifecycle().prevent_destroy {
                self.check_orphans_kept(&raddr, r, walk);
            }
            return;
        }
        let (expansion, keys) = match self.expand_known(m, path, r, &walk.values) {
            Ok(x) => x,
            Err(d) => {
                walk.diags.push(d);
                walk.values.module_mut(path).resources.insert(id, ResourceValues::new(Expansion::Single));
                return;
            }
        };
        let triggered = self.replace_triggered(path, r, walk);
        let mut values = ResourceValues::with_capacity(expansion, keys.len());
        for (instance_key, each_value) in keys {
            let addr = raddr.instance(instance_key.clone());
            let prior = walk.visit(&addr);
            let scope = self.scope(&walk.values, m, path, Repetition::from_key(&instance_key, each_value.as_ref()));
            let mut diags = Diagnostics::new();
            crate::conditions::check("precondition", &addr, &r.lifecycle().preconditions, &scope, &mut diags);
            let mut config = decode_body(&r.body, &schema.schema, &scope, &format_args!("resource {:?}", r.type_name), &mut diags);
            for e in provider.validate(&r.type_name, &config) {
                diags.push(attr_diagnostic(r, &e.path, &e.message));
            }
            if diags.has_errors() {
                walk.diags.extend(diags);
                values.instances.insert(instance_key, Value::Unknown);
                continue;
            }
            walk.diags.extend(diags);
            if let Some(p) = prior {
                config = apply_ignore_changes(&r.lifecycle().ignore_changes, config, &p.value);
            }
            let prior_value = prior.map(|p| &p.value);
            let planned = provider.plan(PlanRequest {
                type_name: &r.type_name,
                prior: prior_value,
                config: &config,
                proposed: proposed_new(&schema.schema, prior_value, &config),
            });
            let mut resp = match planned {
                Ok(mut resp) => {
                    resp.planned = mark_schema_sensitive(&schema.schema, resp.planned);
                    resp
                }
                Err(e) => {
                    walk.diags.push(Diagnostic::error("terrane::provider_plan", format!("{addr}: the provider could not plan it")).detail(e.to_string()).at(&r.span));
                    continue;
                }
            };
            let cbd = r.lifecycle().create_before_destroy;
            let (action, reason) = match prior {
                None => (Action::Create, None),
                Some(p) if p.tainted => (Action::Replace { create_before_destroy: cbd }, Some("tainted".to_string())),
                Some(_) if !resp.requires_replace.is_empty() => (Action::Replace { create_before_destroy: cbd }, None),
                Some(_) if triggered => {
                    (Action::Replace { create_before_destroy: cbd }, Some("replace_triggered_by".to_string()))
                }
                Some(p) if same_value(&p.value, &resp.planned) => (Action::NoOp, None),
                Some(_) => (Action::Update, None),
            };
            if matches!(action, Action::Replace { .. }) && !resp.requires_replace.is_empty() && prior.is_some_and(|p| p.tainted) {
                resp.requires_replace.clear();
            }
            if matches!(action, Action::Replace { .. }) {
                // The replacement is a new object: plan its create, as apply will,
                // so nothing of the old object's computed values carries over.
                let fresh = provider.plan(PlanRequest {
                    type_name: &r.type_name,
                    prior: None,
                    config: &config,
                    proposed: proposed_new(&schema.schema, None, &config),
                });
                match fresh {
                    Ok(fresh) => resp.planned = mark_schema_sensitive(&schema.schema, fresh.planned),
                    Err(e) => {
                        walk.diags.push(Diagnostic::error("terrane::provider_plan", format!("{addr}: the provider could not plan it")).detail(e.to_string()).at(&r.span));
                        continue;
                    }
                }
            }
            // Undecided postconditions are checked again once apply knows the object.
            let mut diags = Diagnostics::new();
            let with_self = crate::conditions::WithSelf { scope: &scope, value: &resp.planned };
            crate::conditions::check("postcondition", &addr, &r.lifecycle().postconditions, &with_self, &mut diags);
            if diags.has_errors() {
                walk.diags.extend(diags);
                values.instances.insert(instance_key, Value::Unknown);
                continue;
            }
            if matches!(action, Action::Replace { .. }) && r.lifecycle().prevent_destroy {
                walk.diags.push(prevent_destroy(&addr, &r.span));
            }
            if !matches!(action, Action::NoOp) {
                walk.changing.insert(raddr.clone());
            }
            values.instances.insert(instance_key, resp.planned.clone());
            walk.changes.push(ResourceChange {
                addr,
                provider: key.clone(),
                action,
                before: None, // moved in by `take_prior_values`
                after: Some(resp.planned),
                requires_replace: resp.requires_replace,
                schema_version: schema.version,
                reason,
                each_value,
                dependencies: dependencies.clone(),
                drifted: prior.is_some_and(|p| p.drifted),
                importing: prior.and_then(|p| p.importing.as_ref()).map(|i| i.id.clone()),
            });
        }
        // Instances no longer configured are deleted by `run`; prevent_destroy forbids that.
        if r.lifecycle().prevent_destroy {
            self.check_orphans_kept(&raddr, r, walk);
        }
        walk.values.module_mut(path).resources.insert(id, values);
    }

    /// The instance keys, which planning needs known.
    fn expand_known(&self, m: usize, path: &ModulePath, r: &Resource, values: &Values) -> Result<(Expansion, Keys), Diagnostic> {
        expand(r.count.as_deref(), r.for_each.as_deref(), &self.scope(values, m, path, Repetition::None))?.ok_or_else(|| {
            let e = r.count.as_deref().or(r.for_each.as_deref()).map_or(&r.span, |e| &e.span);
            unknown_expansion(if r.count.is_some() { "count" } else { "for_each" }, e)
        })
    }

    /// `check` assertions that are known to be false, as warnings.
    fn checks(&self, values: &Values) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (m, entry) in self.config.modules.iter().enumerate() {
            for path in values.instances_of(m) {
                self.checks_in(&entry.module.checks, &self.scope(values, m, &path, Repetition::None), &mut out);
            }
        }
        out
    }

    fn checks_in(&self, checks: &[terrane_lang::config::Check], scope: &EvalScope<'_>, out: &mut Vec<Diagnostic>) {
        for check in checks {
            for assert in &check.asserts {
                match eval(&assert.condition, scope) {
                    Ok(v) if v.as_bool() == Some(false) => {
                        let message = eval(&assert.error_message, scope)
                            .ok()
                            .and_then(|m| if m.is_sensitive() { None } else { m.as_str().map(str::to_string) })
                            .unwrap_or_else(|| "the assertion is false".into());
                        out.push(
                            Diagnostic::warning("terrane::check_failed", format!("check {:?} failed", check.name))
                                .detail(message)
                                .at(&assert.condition.span),
                        );
                    }
                    Ok(_) => {}
                    Err(d) => out.push(Diagnostic { severity: terrane_core::Severity::Warning, ..d }),
                }
            }
        }
    }

    fn check_orphans_kept(&self, raddr: &ResourceAddr, r: &Resource, walk: &mut Walk<'a>) {
        let first = walk.stored.partition_point(|(a, _)| a.resource < *raddr);
        for (at, (addr, _)) in walk.stored.iter().enumerate().skip(first).take_while(|(_, (a, _))| a.resource == *raddr) {
            if !walk.visited[at] {
                walk.diags.push(prevent_destroy(addr, &r.span));
            }
        }
    }

    /// True when a `replace_triggered_by` reference points at a resource that changes.
    fn replace_triggered(&self, path: &ModulePath, r: &Resource, walk: &Walk<'_>) -> bool {
        r.lifecycle().replace_triggered_by.iter().any(|e| e.references().iter().any(|reference| refers_to_changing(path, reference, walk)))
    }

    fn plan_data(&self, m: usize, path: &ModulePath, r: &Resource, dependencies: &Arc<[String]>, walk: &mut Walk<'a>) {
        let id = (r.mode, r.type_name.clone(), r.name.clone());
        let raddr = resource_addr(path, r);
        let key = self.registry.key_for(self.config, m, r);
        let Some(schema) = self.registry.schema(&key, Mode::Data, &r.type_name) else {
            walk.diags.push(
                Diagnostic::error("terrane::unknown_data_source", format!("the provider {} has no data source {:?}", key.source, r.type_name))
                    .at(&r.span),
            );
            return;
        };
        let (expansion, keys) = match self.expand_known(m, path, r, &walk.values) {
            Ok(x) => x,
            Err(d) => {
                walk.diags.push(d);
                walk.values.module_mut(path).resources.insert(id, ResourceValues::new(Expansion::Single));
                return;
            }
        };
        // A data source that reads a resource changing in this plan waits for apply.
        let depends_on_changes = r.references().iter().any(|reference| refers_to_changing(path, reference, walk));
        let mut values = ResourceValues::with_capacity(expansion, keys.len());
        for (instance_key, each_value) in keys {
            let addr = raddr.instance(instance_key.clone());
            walk.visit(&addr);
            let scope = self.scope(&walk.values, m, path, Repetition::from_key(&instance_key, each_value.as_ref()));
            let mut diags = Diagnostics::new();
            crate::conditions::check("precondition", &addr, &r.lifecycle().preconditions, &scope, &mut diags);
            let config = decode_body(&r.body, &schema.schema, &scope, &format_args!("data source {:?}", r.type_name), &mut diags);
            for e in self.registry.get(&key).map(|p| p.validate_data(&r.type_name, &config)).unwrap_or_default() {
                diags.push(attr_diagnostic(r, &e.path, &e.message));
            }
            let errors = diags.has_errors();
            walk.diags.extend(diags);
            if errors {
                continue;
            }
            let value = if config.is_wholly_known() && !depends_on_changes {
                match self.data_results.get(&addr) {
                    Some(v) => {
                        let mut diags = Diagnostics::new();
                        let with_self = crate::conditions::WithSelf { scope: &scope, value: v };
                        crate::conditions::check("postcondition", &addr, &r.lifecycle().postconditions, &with_self, &mut diags);
                        walk.diags.extend(diags);
                        // Read during planning: recorded as a no-op so apply sees the same value.
                        walk.changes.push(ResourceChange {
                            addr: addr.clone(),
                            provider: key.clone(),
                            action: Action::NoOp,
                            before: None,
                            after: Some(v.clone()),
                            requires_replace: Vec::new(),
                            schema_version: schema.version,
                            reason: None,
                            each_value: each_value.clone(),
                            dependencies: Arc::new([]),
                            drifted: false,
                            importing: None,
                        });
                        v.clone()
                    }
                    None => {
                        walk.pending.push(PendingRead { addr: addr.clone(), provider: key.clone(), config: config.clone() });
                        Value::Unknown
                    }
                }
            } else {
                let after = unknown_computed(&schema.schema, config);
                walk.changes.push(ResourceChange {
                    addr,
                    provider: key.clone(),
                    action: Action::Read,
                    before: None,
                    after: Some(after.clone()),
                    requires_replace: Vec::new(),
                    schema_version: schema.version,
                    reason: Some("its configuration depends on values known only after apply".into()),
                    each_value,
                    dependencies: dependencies.clone(),
                    drifted: false,
                    importing: None,
                });
                walk.changing.insert(raddr.clone());
                after
            };
            values.instances.insert(instance_key, value);
        }
        walk.values.module_mut(path).resources.insert(id, values);
    }
}

/// True when a reference names a managed resource of the same module instance
/// with an instance that changes in this plan.
fn refers_to_changing(path: &ModulePath, reference: &terrane_lang::Reference, walk: &Walk<'_>) -> bool {
    match &reference.target {
        RefTarget::Resource(t, n) => {
            walk.changing.contains(&ResourceAddr { module: path.clone(), mode: Mode::Managed, type_name: t.clone(), name: n.clone() })
        }
        RefTarget::Data(..) | RefTarget::Var(_) | RefTarget::Local(_) | RefTarget::Module(..) | RefTarget::Builtin(_) => false,
    }
}

fn prevent_destroy(addr: &InstanceAddr, span: &Span) -> Diagnostic {
    Diagnostic::error("terrane::prevent_destroy", format!("{addr} has lifecycle.prevent_destroy set, but the plan would destroy it"))
        .at(span)
        .help("remove prevent_destroy, or change the plan so the object is kept")
}

/// The data source's configuration with every unset computed attribute unknown.
fn unknown_computed(schema: &terrane_provider::Schema, config: Value) -> Value {
    let Value::Map(mut m) = config else { return Value::Unknown };
    for (name, attr) in &schema.attributes {
        if attr.computed && m.get(name).is_none_or(Value::is_null) {
            m.insert(name.clone(), Value::Unknown);
        }
    }
    Value::Map(m)
}

/// Keeps the prior value of ignored attributes, so changing them plans nothing.
pub(crate) fn apply_ignore_changes(ignore: &IgnoreChanges, config: Value, prior: &Value) -> Value {
    let Value::Map(mut m) = config else { return config };
    match ignore {
        IgnoreChanges::None => {}
        IgnoreChanges::All => {
            for (k, v) in m.iter_mut() {
                if let Some(p) = prior.get(k) {
                    *v = p.clone();
                }
            }
        }
        IgnoreChanges::Attributes(exprs) => {
            for e in exprs {
                let path = ignore_path(e);
                if let Some((PathStep::Attr(first), rest)) = path.split_first() {
                    if rest.is_empty() {
                        if let Some(p) = prior.get(first) {
                            m.insert(first.clone(), p.clone());
                        }
                    } else if let (Some(current), Some(p)) = (m.remove(first), prior.get(first)) {
                        m.insert(first.clone(), replace_at(current, rest, p.at_path(rest)));
                    }
                }
            }
        }
    }
    Value::Map(m)
}

fn replace_at(value: Value, path: &[PathStep], with: Option<&Value>) -> Value {
    let Some((step, rest)) = path.split_first() else {
        return with.cloned().unwrap_or(Value::Null);
    };
    match (value, step) {
        (Value::Map(mut m), PathStep::Attr(k)) => {
            let inner = m.remove(k).unwrap_or(Value::Null);
            let replaced = replace_at(inner, rest, with);
            if !replaced.is_null() {
                m.insert(k.clone(), replaced);
            }
            Value::Map(m)
        }
        (Value::List(mut items), PathStep::Index(i)) if *i < items.len() => {
            let inner = std::mem::replace(&mut items[*i], Value::Null);
            items[*i] = replace_at(inner, rest, with);
            Value::List(items)
        }
        (other, _) => other,
    }
}

/// `tags["Name"]` or `tags.Name` as an attribute path.
fn ignore_path(e: &terrane_lang::Expr) -> Vec<PathStep> {
    match &e.kind {
        ExprKind::Variable(name) => vec![PathStep::Attr(name.clone())],
        ExprKind::Literal(Value::String(s)) => vec![PathStep::Attr(s.clone())],
        ExprKind::Traversal(root, ops) => {
            let mut path = ignore_path(root);
            for op in ops {
                match op {
                    terrane_lang::Traverser::Attr(n, _) => path.push(PathStep::Attr(n.clone())),
                    terrane_lang::Traverser::Index(ix) => match &ix.kind {
                        ExprKind::Literal(Value::String(s)) => path.push(PathStep::Attr(s.clone())),
                        ExprKind::Literal(Value::Number(n)) => path.push(PathStep::Index(n.to_i64().and_then(|i| usize::try_from(i).ok()).unwrap_or(usize::MAX))),
                        _ => {}
                    },
                    terrane_lang::Traverser::AttrSplat(_) | terrane_lang::Traverser::FullSplat(_) => {}
                }
            }
            path
        }
        _ => Vec::new(),
    }
}

/// A provider's complaint about an attribute, placed at that attribute in the source.
pub fn attr_diagnostic(r: &Resource, path: &[PathStep], message: &str) -> Diagnostic {
    let name = terrane_core::value::format_path(path);
    Diagnostic::error("terrane::invalid_attribute", format!("invalid value for {name:?} in {}", r.display_addr()))
        .detail(message.to_string())
        .at_opt(Some(path_span(&r.body, path).unwrap_or(&r.body.span)))
}

/// The source of what a provider's path names, as deep as the source shows
/// it. A block named without an index (a set's members have no source order)
/// is found only when the body has exactly one of that type.
fn path_span<'a>(body: &'a terrane_lang::Body, path: &[PathStep]) -> Option<&'a Span> {
    let Some(PathStep::Attr(name)) = path.first() else { return None };
    if let Some(attr) = body.attr(name) {
        return Some(&attr.expr.span);
    }
    let mut of_type = body.blocks.iter().filter(|b| &b.type_name == name);
    let (block, rest) = match path.get(1) {
        Some(PathStep::Index(i)) => (of_type.nth(*i)?, &path[2..]),
        _ => {
            let first = of_type.next()?;
            if of_type.next().is_some() {
                return None;
            }
            (first, &path[1..])
        }
    };
    path_span(&block.body, rest).or(Some(&block.span))
}

/// Marks the attributes a schema declares sensitive, whatever their value.
pub fn mark_schema_sensitive(schema: &terrane_provider::Schema, value: Value) -> Value {
    let paths: Vec<Vec<PathStep>> = schema.sensitive_attributes().into_iter().map(|n| vec![PathStep::Attr(n)]).collect();
    value.mark_paths(&paths)
}
