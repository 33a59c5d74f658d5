//! Input variables: values from `-var`, `-var-file`, `terraform.tfvars`,
//! `*.auto.tfvars` and `TF_VAR_*`, merged in Terraform's order of precedence,
//! converted to each variable's type and checked against its validation blocks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use terrane_core::{Diagnostic, Diagnostics, SourceFile, Span, Value};

use crate::ast::{Lowering, Traverser};
use crate::config::{Module, Variable};
use crate::eval::{eval, eval_constant, Scope};

/// Where one raw input came from, lowest precedence first.
#[derive(Debug, Clone)]
pub enum InputSource {
    /// `TF_VAR_name` or `TERRANE_VAR_name`: raw text.
    Env(String, String),
    /// A `.tfvars` file (`terraform.tfvars`, `*.auto.tfvars` or `-var-file`).
    File(PathBuf),
    /// `-var name=value`: raw text.
    Flag(String),
}

/// Reads the automatic sources of `dir` and the environment, then the command
/// line's, in Terraform's order: later entries win.
pub fn collect_sources(dir: &Path, env: &[(String, String)], flags: Vec<InputSource>) -> Vec<InputSource> {
    let mut sources = Vec::new();
    for (key, value) in env {
        for prefix in ["TF_VAR_", "TERRANE_VAR_"] {
            if let Some(name) = key.strip_prefix(prefix) {
                sources.push(InputSource::Env(name.to_string(), value.clone()));
            }
        }
    }
    let tfvars = dir.join("terraform.tfvars");
    if tfvars.is_file() {
        sources.push(InputSource::File(tfvars));
    }
    let mut auto: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".auto.tfvars")))
                .collect()
        })
        .unwrap_or_default();
    auto.sort();
    sources.extend(auto.into_iter().map(InputSource::File));
    sources.extend(flags);
    sources
}

struct Raw {
    value: RawValue,
    span: Option<Span>,
}

enum RawValue {
    Text(String),
    Parsed(Value),
}

/// Resolves every declared variable to a value, reporting all problems at once.
pub fn resolve_variables(module: &Module, sources: &[InputSource]) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let mut raw: BTreeMap<String, Raw> = BTreeMap::new();
    for source in sources {
        match source {
            InputSource::Env(name, text) => {
                // Undeclared environment variables are ignored, as in Terraform.
                if module.variables.contains_key(name) {
                    raw.insert(name.clone(), Raw { value: RawValue::Text(text.clone()), span: None });
                }
            }
            InputSource::Flag(text) => match text.split_once('=') {
                Some((name, value)) if !name.trim().is_empty() => {
                    let name = name.trim();
                    if !module.variables.contains_key(name) {
                        diags.push(
                            Diagnostic::error("terrane::undeclared_variable", format!("value for undeclared variable {name:?}"))
                                .detail("a -var option names a variable the configuration does not declare")
                                .help(format!("declare it with variable \"{name}\" {{}} or remove the option")),
                        );
                        continue;
                    }
                    raw.insert(name.to_string(), Raw { value: RawValue::Text(value.to_string()), span: None });
                }
                _ => diags.push(
                    Diagnostic::error("terrane::invalid_var_option", format!("invalid -var option {text:?}"))
                        .help("write it as -var 'NAME=VALUE'"),
                ),
            },
            InputSource::File(path) => read_tfvars(module, path, &mut raw, &mut diags),
        }
    }
    let mut values = BTreeMap::new();
    for (name, var) in &module.variables {
        let given = match raw.remove(name) {
            Some(Raw { value: RawValue::Parsed(v), span }) => Given::Value(v, span),
            Some(Raw { value: RawValue::Text(text), .. }) => match parse_text(var, &text) {
                Some(v) => Given::Value(v, None),
                None => continue,
            },
            None => Given::Nothing,
        };
        let missing = || {
            Diagnostic::error("terrane::missing_variable", format!("no value for required variable {name:?}"))
                .at(&var.span)
                .help(format!("set it with -var '{name}=...', a .tfvars file, or the TF_VAR_{name} environment variable"))
        };
        if let Some(value) = accept_value(var, given, missing, &mut diags) {
            values.insert(name.clone(), value);
        }
    }
    diags.into_result(values)
}

/// What a variable was given: a value (with where it was written), or nothing.
pub enum Given {
    Value(Value, Option<Span>),
    Nothing,
}

/// A variable's final value from what it was given, as Terraform decides it:
/// converted to its type, the default when nothing (or, for a non-nullable
/// variable, null) was given, marked when sensitive, and checked by its
/// validation blocks. `None` after reporting why not.
pub fn accept_value(var: &Variable, given: Given, missing: impl FnOnce() -> Diagnostic, diags: &mut Diagnostics) -> Option<Value> {
    let value = match given {
        Given::Value(v, span) => convert(var, v, span.as_ref(), diags)?,
        Given::Nothing => match &var.default {
            Some(d) => d.clone(),
            None => {
                diags.push(missing());
                return None;
            }
        },
    };
    let value = if value.is_null() && !var.nullable {
        match &var.default {
            Some(d) if !d.is_null() => d.clone(),
            _ => {
                diags.push(Diagnostic::error("terrane::null_variable", format!("variable {:?} must not be null", var.name)).at(&var.span));
                return None;
            }
        }
    } else {
        value
    };
    let value = value.mark_if(var.sensitive);
    validate(var, &value, diags).then_some(value)
}

fn parse_text(var: &Variable, text: &str) -> Option<Value> {
    // A string-typed variable takes the text as is; others parse it as an expression.
    if matches!(var.ty, terrane_core::Type::String) {
        return Some(Value::string(text));
    }
    let file = SourceFile::new(format!("<value for var.{}>", var.name), text);
    match crate::parse::parse_expr(text) {
        Ok(e) => eval_constant(&Lowering { file: &file, base: 0 }.expr(&e)).ok().or_else(|| Some(Value::string(text))),
        Err(_) => Some(Value::string(text)),
    }
}

fn convert(var: &Variable, value: Value, span: Option<&Span>, diags: &mut Diagnostics) -> Option<Value> {
    match var.ty.convert(value) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(
                Diagnostic::error("terrane::invalid_variable_value", format!("invalid value for variable {:?}", var.name))
                    .detail(format!("the variable's type is {}: {e}", var.ty))
                    .at(span.unwrap_or(&var.span)),
            );
            None
        }
    }
}

fn read_tfvars(module: &Module, path: &Path, raw: &mut BTreeMap<String, Raw>, diags: &mut Diagnostics) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            diags.push(Diagnostic::error("terrane::read_file", format!("cannot read {}: {e}", path.display())));
            return;
        }
    };
    let file: Arc<SourceFile> = SourceFile::new(path.display().to_string(), text);
    let body = match crate::parse::parse_body(&file.text) {
        Ok(b) => b,
        Err(err) => {
            diags.push(crate::config::syntax_error(&file, &err, 0));
            return;
        }
    };
    let lower = Lowering { file: &file, base: 0 };
    for attr in body.attributes() {
        let name = attr.key.as_str();
        let key_span = lower.span(hcl_edit::Span::span(&attr.key));
        if !module.variables.contains_key(name) {
            diags.push(
                Diagnostic::warning("terrane::undeclared_variable", format!("value for undeclared variable {name:?}"))
                    .at(&key_span),
            );
            continue;
        }
        let expr = lower.expr(&attr.value);
        match eval_constant(&expr) {
            Ok(v) => {
                raw.insert(name.to_string(), Raw { value: RawValue::Parsed(v), span: Some(expr.span.clone()) });
            }
            Err(d) => diags.push(d),
        }
    }
    for block in body.blocks() {
        let span = lower.span(hcl_edit::Span::span(&block.ident));
        diags.push(Diagnostic::error("terrane::unexpected_block", "blocks are not allowed in a .tfvars file").at(&span));
    }
}

/// A scope holding one variable, for its validation conditions.
struct OneVariable<'a> {
    name: &'a str,
    value: &'a Value,
    dir: &'a Path,
}

impl Scope for OneVariable<'_> {
    fn resolve(&self, root: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        match (root, steps.first()) {
            ("var", Some(Traverser::Attr(name, _))) if name == self.name => Ok((self.value.clone(), 1)),
            _ => Err(Diagnostic::error(
                "terrane::invalid_validation_reference",
                "a validation condition can only refer to the variable it validates",
            )
            .at(span)),
        }
    }

    fn base_dir(&self) -> &Path {
        self.dir
    }
}

fn validate(var: &Variable, value: &Value, diags: &mut Diagnostics) -> bool {
    let scope = OneVariable { name: &var.name, value, dir: Path::new(".") };
    let mut ok = true;
    for rule in &var.validations {
        match eval(&rule.condition, &scope) {
            Ok(v) if v.as_bool() == Some(true) || v.is_unknown() => {}
            Ok(v) if v.as_bool() == Some(false) => {
                let message = eval(&rule.error_message, &scope)
                    .ok()
                    .map(|m| if m.is_sensitive() { "(sensitive value)".to_string() } else { m.as_str().unwrap_or("").to_string() })
                    .unwrap_or_else(|| "the value is not valid".into());
                diags.push(
                    Diagnostic::error("terrane::variable_validation", format!("invalid value for variable {:?}", var.name))
                        .detail(message)
                        .at(&rule.condition.span),
                );
                ok = false;
            }
            Ok(other) => {
                diags.push(
                    Diagnostic::error("terrane::variable_validation", "a validation condition must be true or false")
                        .detail(format!("it evaluated to a {}", other.type_name()))
                        .at(&rule.condition.span),
                );
                ok = false;
            }
            Err(d) => {
                diags.push(d);
                ok = false;
            }
        }
    }
    ok
}
