//! Custom conditions: resource preconditions and postconditions, and output
//! preconditions. A false condition is an error naming its owner; one whose
//! answer is unknown at plan time is checked again after apply.

use std::path::Path;

use terrane_core::{Diagnostic, Diagnostics, Span, Value};
use terrane_lang::config::Condition;
use terrane_lang::{eval, Scope, Traverser};

/// A scope that adds `self`, the object a postcondition is about.
pub struct WithSelf<'a> {
    pub scope: &'a dyn Scope,
    pub value: &'a Value,
}

impl Scope for WithSelf<'_> {
    fn resolve(&self, root: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        match root {
            "self" => Ok((self.value.clone(), 0)),
            _ => self.scope.resolve(root, steps, span),
        }
    }

    fn base_dir(&self) -> &Path {
        self.scope.base_dir()
    }
}

/// Evaluates each condition; a false one adds an error (`kind` is
/// "precondition" or "postcondition", `owner` what it belongs to). One that
/// is unknown passes for now: apply checks postconditions again.
pub fn check(kind: &str, owner: &dyn std::fmt::Display, conditions: &[Condition], scope: &dyn Scope, diags: &mut Diagnostics) {
    for c in conditions {
        let value = match eval(&c.condition, scope) {
            Ok(v) => v.unmark_deep().0,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        match value {
            Value::Unknown | Value::Bool(true) => {}
            Value::Bool(false) => {
                // A sensitive or unknown message is replaced rather than shown.
                let message = eval(&c.error_message, scope)
                    .ok()
                    .filter(|m| !m.contains_sensitive())
                    .and_then(|m| m.as_str().map(str::to_string))
                    .unwrap_or_else(|| "the condition is false".into());
                let code = if kind == "postcondition" { "terrane::postcondition_failed" } else { "terrane::precondition_failed" };
                diags.push(Diagnostic::error(code, format!("{kind} of {owner} failed")).detail(message).at(&c.condition.span));
            }
            other => diags.push(
                Diagnostic::error("terrane::invalid_condition", format!("the {kind} of {owner} is not true or false"))
                    .detail(format!("it is {}", other.type_name()))
                    .at(&c.condition.span),
            ),
        }
    }
}
