//! The values that references resolve to during plan and apply, and the `Scope`
//! that serves them to the evaluator.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use terrane_core::{Diagnostic, InstanceKey, Mode, ModulePath, Span, Value};
use terrane_lang::config::{suggest, Config, Module};
use terrane_lang::{ExprKind, Traverser};

/// How a resource was expanded, which decides the shape of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expansion {
    Single,
    Count,
    ForEach,
}

impl Expansion {
    /// What a resource's meta-arguments make of it.
    pub fn of(r: &terrane_lang::Resource) -> Expansion {
        if r.count.is_some() {
            Expansion::Count
        } else if r.for_each.is_some() {
            Expansion::ForEach
        } else {
            Expansion::Single
        }
    }
}

#[derive(Debug, Clone)]
pub struct ResourceValues {
    pub expansion: Expansion,
    pub instances: Instances,
}

/// A resource's instance values by key, in key order. A sorted vector: most
/// resources have one instance, and a map node for one entry is sized for
/// eleven (a tenth of a large plan's memory was empty map nodes).
#[derive(Debug, Clone, Default)]
pub struct Instances(Vec<(InstanceKey, Value)>);

impl Instances {
    pub fn insert(&mut self, key: InstanceKey, value: Value) {
        // Keys mostly arrive in order: look at the end first.
        match self.0.last() {
            Some((last, _)) if *last < key => self.0.push((key, value)),
            None => self.0.push((key, value)),
            Some(_) => match self.0.binary_search_by(|(k, _)| k.cmp(&key)) {
                Ok(at) => self.0[at].1 = value,
                Err(at) => self.0.insert(at, (key, value)),
            },
        }
    }

    pub fn get(&self, key: &InstanceKey) -> Option<&Value> {
        self.0.binary_search_by(|(k, _)| k.cmp(key)).ok().map(|at| &self.0[at].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&InstanceKey, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(_, v)| v)
    }
}

impl ResourceValues {
    pub fn new(expansion: Expansion) -> ResourceValues {
        ResourceValues { expansion, instances: Instances::default() }
    }

    /// Room for `count` instances: grown from empty, a single instance's vector
    /// would hold four.
    pub fn with_capacity(expansion: Expansion, count: usize) -> ResourceValues {
        ResourceValues { expansion, instances: Instances(Vec::with_capacity(count)) }
    }

    /// The value `TYPE.NAME` evaluates to: an object, a list or a map of objects.
    pub fn to_value(&self) -> Value {
        match self.expansion {
            Expansion::Single => self.instances.get(&InstanceKey::None).cloned().unwrap_or(Value::Null),
            Expansion::Count => Value::List(self.instances.values().cloned().collect()),
            Expansion::ForEach => Value::Map(
                self.instances
                    .iter()
                    .filter_map(|(k, v)| match k {
                        InstanceKey::Str(s) => Some((s.clone(), v.clone())),
                        _ => None,
                    })
                    .collect(),
            ),
        }
    }
}

pub type ResourceId = (Mode, String, String);

/// The values of one module instance.
#[derive(Debug, Default)]
pub struct ModuleValues {
    pub variables: BTreeMap<String, Value>,
    pub locals: HashMap<String, Value>,
    pub resources: HashMap<ResourceId, ResourceValues>,
    pub outputs: BTreeMap<String, Value>,
}

/// How one instance of a calling module expanded one module call.
#[derive(Debug, Clone)]
pub struct CallValues {
    pub expansion: Expansion,
    /// Instance keys with `each.value`.
    pub keys: Vec<(InstanceKey, Option<Value>)>,
    /// Validation only: the call's count or for_each is not evaluated, so
    /// `module.NAME` is unknown and its one instance stands for all of them.
    pub unknown: bool,
}

/// Every value references resolve to, by module instance.
#[derive(Debug, Default)]
pub struct Values {
    pub modules: HashMap<ModulePath, ModuleValues>,
    /// (calling module instance, call name) -> its expansion.
    pub calls: HashMap<(ModulePath, String), CallValues>,
    /// The instances of each module (by index in `Config::modules`), known once
    /// the calls leading to it are expanded.
    pub instances: HashMap<usize, Vec<ModulePath>>,
}

impl Values {
    /// Values with the root module's variables set and nothing else evaluated.
    pub fn with_root_variables(variables: BTreeMap<String, Value>) -> Values {
        let mut values = Values::default();
        values.modules.insert(ModulePath::root(), ModuleValues { variables, ..ModuleValues::default() });
        values.instances.insert(0, vec![ModulePath::root()]);
        values
    }

    pub fn root(&self) -> Option<&ModuleValues> {
        self.modules.get(&ModulePath::root())
    }

    pub fn module_mut(&mut self, path: &ModulePath) -> &mut ModuleValues {
        if !self.modules.contains_key(path) {
            self.modules.insert(path.clone(), ModuleValues::default());
        }
        self.modules.get_mut(path).expect("inserted above")
    }

    /// The instances of a module; none while a call leading to it is unexpanded.
    pub fn instances_of(&self, module: usize) -> Vec<ModulePath> {
        self.instances.get(&module).cloned().unwrap_or_default()
    }
}

/// `count.index` or `each.key`/`each.value` while evaluating one instance.
#[derive(Debug, Clone)]
pub enum Repetition {
    None,
    Count(i64),
    Each(String, Value),
    /// Validation without values: `count.index` and `each.*` are unknown.
    Unknown,
}

impl Repetition {
    pub fn from_key(key: &InstanceKey, each_value: Option<&Value>) -> Repetition {
        match key {
            InstanceKey::None => Repetition::None,
            InstanceKey::Int(i) => Repetition::Count(*i),
            InstanceKey::Str(s) => Repetition::Each(s.clone(), each_value.cloned().unwrap_or_else(|| Value::string(s.clone()))),
        }
    }
}

pub struct EvalScope<'a> {
    pub values: &'a Values,
    pub config: &'a Config,
    /// The module's index in `config.modules`, and which of its instances.
    pub module_index: usize,
    pub path: &'a ModulePath,
    pub module: &'a Module,
    pub workspace: &'a str,
    pub repetition: Repetition,
    pub root_dir: &'a Path,
    /// Set during apply, when uuid() and timestamp() take their values.
    pub applying: bool,
}

fn attr_step(steps: &[Traverser], i: usize) -> Option<(&str, &Span)> {
    match steps.get(i) {
        Some(Traverser::Attr(name, span)) => Some((name.as_str(), span)),
        _ => None,
    }
}

fn path_string(p: &Path) -> String {
    let s = p.display().to_string();
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

impl<'a> EvalScope<'a> {
    pub fn new(values: &'a Values, config: &'a Config, module_index: usize, path: &'a ModulePath, workspace: &'a str, repetition: Repetition, root_dir: &'a Path) -> EvalScope<'a> {
        EvalScope { values, config, module_index, path, module: &config.modules[module_index].module, workspace, repetition, root_dir, applying: false }
    }

    pub fn applying(self, applying: bool) -> EvalScope<'a> {
        EvalScope { applying, ..self }
    }

    fn here(&self) -> Option<&'a ModuleValues> {
        self.values.modules.get(self.path)
    }

    /// `module.NAME`: an object of the instance's outputs, or a list or map of
    /// them for a call with count or for_each.
    fn module_call(&self, name: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        let Some(call) = self.values.calls.get(&(self.path.clone(), name.to_string())) else {
            if self.module.calls.contains_key(name) {
                return Err(Diagnostic::error("terrane::not_yet_known", format!("module.{name} has not been evaluated")).at(span));
            }
            let names: Vec<&str> = self.module.calls.keys().map(String::as_str).collect();
            let mut d = Diagnostic::error("terrane::undeclared_module", format!("reference to undeclared module {name:?}")).at(span);
            if let Some(s) = suggest(name, &names) {
                d = d.help(format!("did you mean module.{s}?"));
            }
            return Err(d);
        };
        if call.unknown {
            return Ok((Value::Unknown, 1));
        }
        let outputs_of = |key: &InstanceKey| -> Value {
            let path = self.path.child(name, key.clone());
            Value::Map(self.values.modules.get(&path).map(|m| m.outputs.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default())
        };
        // A literal index picks one instance without building the others.
        if let Some(Traverser::Index(ix)) = steps.get(1) {
            if let ExprKind::Literal(key) = &ix.kind {
                let key = match (call.expansion, key) {
                    (Expansion::Count, Value::Number(n)) => n.to_i64().map(InstanceKey::Int),
                    (Expansion::ForEach, Value::String(s)) => Some(InstanceKey::Str(s.clone())),
                    _ => None,
                };
                if let Some(key) = key.filter(|k| call.keys.iter().any(|(c, _)| c == k)) {
                    return Ok((outputs_of(&key), 2));
                }
            }
        }
        let value = match call.expansion {
            Expansion::Single => outputs_of(&InstanceKey::None),
            Expansion::Count => Value::List(call.keys.iter().map(|(k, _)| outputs_of(k)).collect()),
            Expansion::ForEach => Value::Map(
                call.keys
                    .iter()
                    .filter_map(|(k, _)| match k {
                        InstanceKey::Str(s) => Some((s.clone(), outputs_of(k))),
                        InstanceKey::None | InstanceKey::Int(_) => None,
                    })
                    .collect(),
            ),
        };
        Ok((value, 1))
    }

    fn resource(&self, mode: Mode, type_name: &str, name: &str, steps: &[Traverser], consumed: usize, span: &Span) -> Result<(Value, usize), Diagnostic> {
        let id = (mode, type_name.to_string(), name.to_string());
        let Some(values) = self.here().and_then(|m| m.resources.get(&id)) else {
            let prefix = if mode == Mode::Data { "data." } else { "" };
            let declared = self.module.resource(mode, type_name, name).is_some();
            let mut d = if declared {
                Diagnostic::error("terrane::not_yet_known", format!("{prefix}{type_name}.{name} has not been evaluated"))
            } else {
                Diagnostic::error(
                    "terrane::undeclared_resource",
                    format!("reference to undeclared resource {prefix}{type_name}.{name}"),
                )
            };
            let names: Vec<String> = self
                .module
                .resources
                .iter()
                .filter(|r| r.mode == mode && r.type_name == type_name)
                .map(|r| r.name.clone())
                .collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            if let Some(s) = suggest(name, &names) {
                d = d.help(format!("did you mean {prefix}{type_name}.{s}?"));
            }
            return Err(d.at(span));
        };
        // A literal index picks one instance without building the whole collection.
        if let Some(Traverser::Index(ix)) = steps.get(consumed) {
            if let ExprKind::Literal(key) = &ix.kind {
                let key = match (values.expansion, key) {
                    (Expansion::Count, Value::Number(n)) => n.to_i64().map(InstanceKey::Int),
                    (Expansion::ForEach, Value::String(s)) => Some(InstanceKey::Str(s.clone())),
                    _ => None,
                };
                if let Some(v) = key.and_then(|k| values.instances.get(&k)) {
                    let (v, consumed) = follow_attributes(v, steps, consumed + 1);
                    return Ok((v.clone(), consumed));
                }
            }
        }
        if values.expansion == Expansion::Single {
            if let Some(v) = values.instances.get(&InstanceKey::None) {
                let (v, consumed) = follow_attributes(v, steps, consumed);
                return Ok((v.clone(), consumed));
            }
        }
        Ok((values.to_value(), consumed))
    }
}

/// Follows attribute steps into plain (unmarked) objects, as the evaluator's
/// `get_attr` would, so `TYPE.NAME.id` copies the id and not the whole object;
/// anything else (a marked or unknown value, a missing attribute) is left to the
/// evaluator and its diagnostics.
fn follow_attributes<'v>(mut value: &'v Value, steps: &[Traverser], mut consumed: usize) -> (&'v Value, usize) {
    while let (Value::Map(map), Some(Traverser::Attr(name, _))) = (value, steps.get(consumed)) {
        let Some(inner) = map.get(name) else { break };
        value = inner;
        consumed += 1;
    }
    (value, consumed)
}

impl terrane_lang::Scope for EvalScope<'_> {
    fn resolve(&self, root: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        let missing_attr = |what: &str| {
            Diagnostic::error("terrane::invalid_reference", format!("{root} must be followed by {what}")).at(span)
        };
        match root {
            "var" => {
                let (name, s) = attr_step(steps, 0).ok_or_else(|| missing_attr("a variable name"))?;
                match self.here().and_then(|m| m.variables.get(name)) {
                    Some(v) => Ok((v.clone(), 1)),
                    None => {
                        let names: Vec<&str> = self.module.variables.keys().map(String::as_str).collect();
                        let mut d = Diagnostic::error("terrane::undeclared_variable", format!("reference to undeclared variable {name:?}")).at(s);
                        d = match suggest(name, &names) {
                            Some(x) => d.help(format!("did you mean var.{x}?")),
                            None => d.help(format!("declare it with variable \"{name}\" {{}}")),
                        };
                        Err(d)
                    }
                }
            }
            "local" => {
                let (name, s) = attr_step(steps, 0).ok_or_else(|| missing_attr("a local value name"))?;
                match self.here().and_then(|m| m.locals.get(name)) {
                    Some(v) => Ok((v.clone(), 1)),
                    None => {
                        let names: Vec<&str> = self.module.locals.keys().map(String::as_str).collect();
                        let mut d = Diagnostic::error("terrane::undeclared_local", format!("reference to undeclared local value {name:?}")).at(s);
                        if let Some(x) = suggest(name, &names) {
                            d = d.help(format!("did you mean local.{x}?"));
                        }
                        Err(d)
                    }
                }
            }
            "count" => match (attr_step(steps, 0), &self.repetition) {
                (Some(("index", _)), Repetition::Count(i)) => Ok((Value::number(*i), 1)),
                (Some(("index", _)), Repetition::Unknown) => Ok((Value::Unknown, 1)),
                _ => Err(Diagnostic::error("terrane::invalid_count_reference", "count.index is only available in a resource with count")
                    .at(span)),
            },
            "each" => match (attr_step(steps, 0), &self.repetition) {
                (Some(("key", _)), Repetition::Each(k, _)) => Ok((Value::string(k.clone()), 1)),
                (Some(("value", _)), Repetition::Each(_, v)) => Ok((v.clone(), 1)),
                (Some(("key" | "value", _)), Repetition::Unknown) => Ok((Value::Unknown, 1)),
                _ => Err(Diagnostic::error("terrane::invalid_each_reference", "each.key and each.value are only available in a resource with for_each")
                    .at(span)),
            },
            "path" => match attr_step(steps, 0) {
                Some(("module", _)) => Ok((Value::string(path_string(&self.module.dir)), 1)),
                Some(("root", _)) => Ok((Value::string(path_string(self.root_dir)), 1)),
                Some(("cwd", _)) => {
                    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                    Ok((Value::string(path_string(&cwd)), 1))
                }
                _ => Err(missing_attr("module, root or cwd")),
            },
            "terraform" => match attr_step(steps, 0) {
                Some(("workspace", _)) => Ok((Value::string(self.workspace), 1)),
                _ => Err(missing_attr("workspace")),
            },
            "data" => {
                let (t, _) = attr_step(steps, 0).ok_or_else(|| missing_attr("TYPE.NAME"))?;
                let (n, _) = attr_step(steps, 1).ok_or_else(|| missing_attr("TYPE.NAME"))?;
                self.resource(Mode::Data, t, n, steps, 2, span)
            }
            "module" => {
                let (name, _) = attr_step(steps, 0).ok_or_else(|| missing_attr("a module name"))?;
                self.module_call(name, steps, span)
            }
            "self" => Err(Diagnostic::error("terrane::invalid_self", "self is only available in a postcondition, where it is the object being checked").at(span)),
            type_name => {
                let Some((name, _)) = attr_step(steps, 0) else {
                    return Err(Diagnostic::error("terrane::invalid_reference", format!("unknown name {type_name:?}"))
                        .at(span)
                        .help("references look like var.NAME, local.NAME, TYPE.NAME or data.TYPE.NAME"));
                };
                self.resource(Mode::Managed, type_name, name, steps, 1, span)
            }
        }
    }

    fn base_dir(&self) -> &Path {
        &self.module.dir
    }

    fn applying(&self) -> bool {
        self.applying
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_stay_in_key_order_whatever_order_they_arrive_in() {
        let mut instances = Instances::default();
        for i in [3, 0, 2, 1, 3] {
            instances.insert(InstanceKey::Int(i), Value::number(i * 10));
        }
        instances.insert(InstanceKey::Int(2), Value::string("replaced"));
        let keys: Vec<_> = instances.iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(keys, (0..4).map(InstanceKey::Int).collect::<Vec<_>>());
        assert_eq!(instances.get(&InstanceKey::Int(2)), Some(&Value::string("replaced")));
        assert_eq!(instances.get(&InstanceKey::Int(3)), Some(&Value::number(30)));
        assert_eq!(instances.get(&InstanceKey::Int(9)), None);
    }
}
