//! Evaluation of the graph nodes that are not resources: module variables,
//! locals, outputs and module calls, for every instance of their module. Plan,
//! apply and validate share it, so a module behaves the same in each.

use std::path::Path;

use terrane_core::{Diagnostic, Diagnostics, InstanceKey, ModulePath, Span, Value};
use terrane_lang::config::Config;
use terrane_lang::inputs::{accept_value, Given};
use terrane_lang::{eval, Expr};

use crate::graph::Node;
use crate::scope::{CallValues, EvalScope, Expansion, Repetition, Values};

pub struct Evaluator<'a> {
    pub config: &'a Config,
    pub workspace: &'a str,
    pub root_dir: &'a Path,
    /// Validation: variables are unknown and module calls are not expanded.
    pub validating: bool,
    /// Apply: uuid() and timestamp() take their values.
    pub applying: bool,
}

/// Instance keys paired with `each.value` (for for_each).
pub type Keys = Vec<(InstanceKey, Option<Value>)>;

impl<'a> Evaluator<'a> {
    pub fn scope<'s>(&'s self, values: &'s Values, module: usize, path: &'s ModulePath, repetition: Repetition) -> EvalScope<'s> {
        EvalScope::new(values, self.config, module, path, self.workspace, repetition, self.root_dir).applying(self.applying)
    }

    /// Evaluates a variable, local, output or module call node for every
    /// instance of its module. Returns false when anything failed (reported in
    /// `diags`); failed values are unknown so evaluation can go on.
    pub fn node(&self, node: &Node, values: &mut Values, diags: &mut Diagnostics) -> bool {
        let before = diags.has_errors();
        let mut failed = false;
        match node {
            Node::Resource(..) => {}
            Node::Variable(0, _) => {}
            Node::Variable(m, name) => {
                for path in values.instances_of(*m) {
                    let value = self.module_variable(*m, &path, name, values, diags).unwrap_or_else(|| {
                        failed = true;
                        Value::Unknown
                    });
                    values.module_mut(&path).variables.insert(name.clone(), value);
                }
            }
            Node::Local(m, name) => {
                let local = &self.config.modules[*m].module.locals[name];
                for path in values.instances_of(*m) {
                    let value = match eval(&local.expr, &self.scope(values, *m, &path, Repetition::None)) {
                        Ok(v) => v,
                        Err(d) => {
                            diags.push(d);
                            failed = true;
                            Value::Unknown
                        }
                    };
                    values.module_mut(&path).locals.insert(name.clone(), value);
                }
            }
            Node::Output(m, name) => {
                let output = &self.config.modules[*m].module.outputs[name];
                for path in values.instances_of(*m) {
                    let scope = self.scope(values, *m, &path, Repetition::None);
                    let mut unmet = Diagnostics::new();
                    crate::conditions::check("precondition", &format!("output {name:?}"), &output.preconditions, &scope, &mut unmet);
                    if unmet.has_errors() {
                        diags.extend(unmet);
                        failed = true;
                        values.module_mut(&path).outputs.insert(name.clone(), Value::Unknown);
                        continue;
                    }
                    let value = match eval(&output.expr, &scope) {
                        Ok(v) if v.contains_sensitive() && !output.sensitive => {
                            diags.push(
                                Diagnostic::error("terrane::sensitive_output", format!("output {name:?} refers to sensitive values"))
                                    .detail("its value would be shown in plain text")
                                    .at(&output.expr.span)
                                    .help("add sensitive = true to the output block"),
                            );
                            failed = true;
                            Value::Unknown
                        }
                        Ok(v) => v.mark_if(output.sensitive),
                        Err(d) => {
                            diags.push(d);
                            failed = true;
                            Value::Unknown
                        }
                    };
                    values.module_mut(&path).outputs.insert(name.clone(), value);
                }
            }
            Node::Call(m, name) => {
                let call = &self.config.modules[*m].module.calls[name];
                let child = self.config.modules[*m].children.get(name).copied();
                for path in values.instances_of(*m) {
                    let expanded = {
                        let scope = self.scope(values, *m, &path, Repetition::None);
                        expand(call.count.as_ref(), call.for_each.as_ref(), &scope)
                    };
                    let call_values = match expanded {
                        Ok(Some((expansion, keys))) if !self.validating => CallValues { expansion, keys, unknown: false },
                        Ok(found) => {
                            if !self.validating {
                                let e = call.count.as_ref().or(call.for_each.as_ref()).map_or(&call.span, |e| &e.span);
                                diags.push(unknown_expansion(if call.count.is_some() { "count" } else { "for_each" }, e));
                                failed = true;
                            }
                            let expansion = if call.count.is_some() {
                                Expansion::Count
                            } else if call.for_each.is_some() {
                                Expansion::ForEach
                            } else {
                                found.map_or(Expansion::Single, |(x, _)| x)
                            };
                            CallValues { expansion, keys: vec![(InstanceKey::None, None)], unknown: true }
                        }
                        Err(d) => {
                            diags.push(d);
                            failed = true;
                            CallValues { expansion: Expansion::Single, keys: vec![(InstanceKey::None, None)], unknown: true }
                        }
                    };
                    if let Some(child) = child {
                        let instances = values.instances.entry(child).or_default();
                        for (key, _) in &call_values.keys {
                            instances.push(path.child(name, key.clone()));
                        }
                    }
                    values.calls.insert((path.clone(), name.clone()), call_values);
                }
            }
        }
        !(failed || (!before && diags.has_errors()))
    }

    /// A child module's variable at one instance: its input from the call,
    /// evaluated in the calling module with that instance's count.index or
    /// each.*, or its default.
    fn module_variable(&self, m: usize, path: &ModulePath, name: &str, values: &Values, diags: &mut Diagnostics) -> Option<Value> {
        let var = &self.config.modules[m].module.variables[name];
        let (parent, call_name) = self.config.modules[m].parent.as_ref()?;
        let call = &self.config.modules[*parent].module.calls[call_name];
        let (parent_path, key) = split_last(path)?;
        let given = match call.inputs.get(name) {
            Some(attr) => {
                let call_values = values.calls.get(&(parent_path.clone(), call_name.clone()))?;
                let repetition = if call_values.unknown {
                    match call_values.expansion {
                        Expansion::Single => Repetition::None,
                        Expansion::Count | Expansion::ForEach => Repetition::Unknown,
                    }
                } else {
                    let each_value = call_values.keys.iter().find(|(k, _)| *k == key).and_then(|(_, v)| v.as_ref());
                    Repetition::from_key(&key, each_value)
                };
                match eval(&attr.expr, &self.scope(values, *parent, &parent_path, repetition)) {
                    Ok(v) => Given::Value(v, Some(attr.expr.span.clone())),
                    Err(d) => {
                        diags.push(d);
                        return None;
                    }
                }
            }
            None => Given::Nothing,
        };
        let missing = || {
            Diagnostic::error("terrane::missing_input", format!("module {call_name:?} needs a value for its variable {name:?}"))
                .at(&call.type_span)
                .related(&var.span, "declared here without a default")
                .help(format!("add {name} = ... to the module block"))
        };
        accept_value(var, given, missing, diags)
    }
}

fn split_last(path: &ModulePath) -> Option<(ModulePath, InstanceKey)> {
    let mut steps = path.0.clone();
    let (_, key) = steps.pop()?;
    Some((ModulePath(steps), key))
}

/// The instance keys that count or for_each make; `None` while the value is unknown.
pub fn expand(count: Option<&Expr>, for_each: Option<&Expr>, scope: &dyn terrane_lang::Scope) -> Result<Option<(Expansion, Keys)>, Diagnostic> {
    if let Some(count) = count {
        let v = eval(count, scope)?;
        if v.is_unknown() {
            return Ok(None);
        }
        let n = v.as_f64().ok_or_else(|| {
            Diagnostic::error("terrane::invalid_count", format!("count must be a whole number, got {}", v.type_name())).at(&count.span)
        })?;
        if n < 0.0 || n.fract() != 0.0 {
            return Err(Diagnostic::error("terrane::invalid_count", format!("count must be a whole number of 0 or more, got {n}"))
                .at(&count.span));
        }
        return Ok(Some((Expansion::Count, (0..n as i64).map(|i| (InstanceKey::Int(i), None)).collect())));
    }
    if let Some(for_each) = for_each {
        let v = eval(for_each, scope)?;
        if v.contains_sensitive() {
            return Err(Diagnostic::error("terrane::sensitive_for_each", "for_each cannot use a sensitive value")
                .detail("instance keys appear in plans and state, so they would reveal the secret")
                .at(&for_each.span)
                .help("use nonsensitive() on a value that is safe to show, or iterate over non-secret keys"));
        }
        // A map's keys are known once the map is; a set needs every member known.
        let keys_known = match &v {
            Value::Map(_) => true,
            Value::Set(items) => items.iter().all(Value::is_wholly_known),
            _ => v.is_wholly_known(),
        };
        if !keys_known {
            return Ok(None);
        }
        let pairs = match v {
            Value::Map(m) => m.into_iter().map(|(k, v)| (InstanceKey::Str(k), Some(v))).collect(),
            Value::Set(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => out.push((InstanceKey::Str(s.clone()), Some(Value::String(s)))),
                        other => {
                            return Err(Diagnostic::error(
                                "terrane::invalid_for_each",
                                format!("for_each over a set needs strings, found a {}", other.type_name()),
                            )
                            .at(&for_each.span))
                        }
                    }
                }
                out
            }
            Value::Null => {
                return Err(Diagnostic::error("terrane::invalid_for_each", "for_each must not be null").at(&for_each.span))
            }
            other => {
                return Err(Diagnostic::error(
                    "terrane::invalid_for_each",
                    format!("for_each needs a map or a set of strings, got a {}", other.type_name()),
                )
                .at(&for_each.span)
                .help("convert a list with toset(...)"))
            }
        };
        return Ok(Some((Expansion::ForEach, pairs)));
    }
    Ok(Some((Expansion::Single, vec![(InstanceKey::None, None)])))
}

pub fn unknown_expansion(what: &str, span: &Span) -> Diagnostic {
    Diagnostic::error("terrane::unknown_expansion", format!("the {what} value depends on values known only after apply"))
        .at(span)
        .detail(format!("terrane must know how many instances to plan, so {what} can only use values known at plan time"))
        .help("base it on variables or locals, or apply the resources it depends on first with -target")
}
