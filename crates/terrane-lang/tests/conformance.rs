//! The language against Terraform: every expression in tests/conformance/cases.txt
//! evaluated by terrane must give what Terraform 1.11 gave (expected.jsonl, recorded
//! by scripts/oracle-functions): the same JSON encoding, the same kind of
//! collection, the same sensitivity and unknownness, or an error where Terraform
//! had one. The built-in functions' signatures are held to functions.json.

use std::path::Path;

use terrane_core::{Diagnostic, SourceFile, Span, Value};
use terrane_lang::ast::Lowering;
use terrane_lang::functions::{self, ParamType};
use terrane_lang::{eval, Scope, Traverser};

const DIR: &str = "tests/conformance";

/// `local.unknown` and `local.secret`, as the oracle's main.tf defines them.
struct Locals;

impl Scope for Locals {
    fn resolve(&self, root: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        match (root, steps.first()) {
            ("local", Some(Traverser::Attr(name, _))) if name == "unknown" => Ok((Value::Unknown, 1)),
            ("local", Some(Traverser::Attr(name, _))) if name == "secret" => Ok((Value::string("hunter2").sensitive(), 1)),
            _ => Err(Diagnostic::error("test::scope", format!("reference to undeclared {root}")).at(span)),
        }
    }

    fn base_dir(&self) -> &Path {
        Path::new(DIR)
    }
}

fn evaluate(src: &str) -> Result<Value, String> {
    let file = SourceFile::new("case.tf", src);
    let expr = terrane_lang::parse::parse_expr(src).map_err(|e| format!("parse: {}", e.message()))?;
    let expr = Lowering { file: &file, base: 0 }.expr(&expr);
    eval(&expr, &Locals).map_err(|d| match d.detail {
        Some(detail) => format!("{}: {detail}", d.summary),
        None => d.summary,
    })
}

fn json_text(value: &Value) -> String {
    match functions::call("jsonencode", vec![value.clone().unmark_deep().0], Path::new(DIR)) {
        Ok(Value::String(s)) => s,
        other => format!("<not encodable: {other:?}>"),
    }
}

/// Terraform's type name, reduced to what a terrane value shows.
fn kind_of_type(ty: &str) -> &'static str {
    match ty.split('(').next().unwrap_or(ty) {
        "list" | "tuple" => "sequence",
        "set" => "set",
        "map" | "object" => "record",
        "string" => "string",
        "number" => "number",
        "bool" => "bool",
        _ => "any",
    }
}

fn kind_of_value(value: &Value) -> &'static str {
    match value.unmarked() {
        Value::List(_) => "sequence",
        Value::Set(_) => "set",
        Value::Map(_) => "record",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null | Value::Unknown | Value::Sensitive(_) => "any",
    }
}

fn rows() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(Path::new(DIR).join("expected.jsonl")).expect("expected.jsonl is committed");
    text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect()
}

/// What differs between terrane's answer and Terraform's, if anything.
fn compare(row: &serde_json::Value) -> Option<String> {
    let expr = row["expr"].as_str().unwrap_or_default();
    let got = evaluate(expr);
    if let Some(error) = row["error"].as_str() {
        return got.ok().map(|v| format!("Terraform fails ({error}); terrane gives {v}"));
    }
    let value = match got {
        Ok(v) => v,
        Err(e) => return Some(format!("terrane fails ({e}); Terraform gives {}", row["json"])),
    };
    if row["unknown"] == true {
        return value.is_wholly_known().then(|| format!("Terraform's result is unknown; terrane gives {value}"));
    }
    if !value.is_wholly_known() {
        return Some(format!("terrane's result is unknown; Terraform gives {}", row["json"]));
    }
    let sensitive = row["sensitive"] == true;
    if value.contains_sensitive() != sensitive {
        return Some(format!("sensitive: Terraform {sensitive}, terrane {}", value.contains_sensitive()));
    }
    if let Some(text) = row["string"].as_str() {
        let shown = value.unmark_deep().0;
        let shown = match shown {
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        return (shown != text).then(|| format!("Terraform gives {text}; terrane {shown}"));
    }
    let Some(want) = row["json"].as_str() else {
        return None;
    };
    let have = json_text(&value);
    if have != want {
        return Some(format!("Terraform gives {want}\n      terrane gives {have}"));
    }
    let (want_kind, have_kind) = (kind_of_type(row["type"].as_str().unwrap_or_default()), kind_of_value(&value));
    // terrane's nulls carry no type; Terraform's do.
    if want_kind != "any" && want != "null" && want_kind != have_kind {
        return Some(format!("Terraform's result is a {} ({want_kind}); terrane's a {have_kind}", row["type"]));
    }
    None
}

/// Cases terrane answers differently, on purpose, with why (README, "Known
/// differences"). Each must still differ: one that starts to agree leaves the list.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "true ? tolist([\"a\"]) : toset([\"b\"])",
    "terrane's values do not tell a list from a tuple, and a set with a tuple unifies to a set, \
     which `cond ? toset(names) : []` (for_each's idiom) needs",
)];

#[test]
fn every_case_gives_what_terraform_gives() {
    let rows = rows();
    let mut failures = Vec::new();
    for row in &rows {
        let expr = row["expr"].as_str().unwrap_or_default();
        let known = KNOWN_DIFFERENCES.iter().any(|(case, _)| *case == expr);
        match (compare(row), known) {
            (Some(why), false) => failures.push(format!("{expr}\n      {why}")),
            (None, true) => failures.push(format!("{expr}\n      now agrees with Terraform: take it off KNOWN_DIFFERENCES")),
            _ => {}
        }
    }
    for (case, _) in KNOWN_DIFFERENCES {
        assert!(rows.iter().any(|row| row["expr"] == *case), "known difference {case:?} has a row in the table");
    }
    assert!(failures.is_empty(), "{} of {} cases differ from Terraform:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

fn signatures() -> serde_json::Map<String, serde_json::Value> {
    let text = std::fs::read_to_string(Path::new(DIR).join("functions.json")).expect("functions.json is committed");
    serde_json::from_str(&text).expect("functions.json is JSON")
}

#[test]
fn the_table_covers_every_function_with_at_least_600_cases() {
    let rows = rows();
    assert!(rows.len() >= 600, "only {} cases", rows.len());
    let signatures = signatures();
    // Terraform's console has no plan time, so plantimestamp is checked in tests/eval.rs.
    let uncovered: Vec<&String> = signatures
        .keys()
        .filter(|name| *name != "plantimestamp")
        .filter(|name| !rows.iter().any(|r| r["expr"].as_str().is_some_and(|e| calls(e, name))))
        .collect();
    assert!(uncovered.is_empty(), "functions with no case: {uncovered:?}");
}

fn calls(expr: &str, name: &str) -> bool {
    expr.match_indices(&format!("{name}(")).any(|(i, _)| !expr[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
}

#[test]
fn every_function_has_terraforms_signature() {
    let param = |p: Option<&functions::Param>| {
        p.map_or(serde_json::Value::Null, |p| serde_json::json!({"name": p.name, "type": ParamType::to_json(p.ty), "nullable": p.nullable}))
    };
    let mut mismatched = Vec::new();
    let expected = signatures();
    for (name, want) in &expected {
        let Some(f) = functions::lookup(name) else {
            mismatched.push(format!("{name}: missing"));
            continue;
        };
        let have = serde_json::json!({
            "parameters": f.params.iter().map(|p| param(Some(p))).collect::<Vec<_>>(),
            "variadic": param(f.variadic.as_ref()),
        });
        if &have != want {
            mismatched.push(format!("{name}: terrane {have}, Terraform {want}"));
        }
    }
    let extra: Vec<&str> = functions::names().filter(|n| !expected.contains_key(*n)).collect();
    assert!(mismatched.is_empty() && extra.is_empty(), "{mismatched:#?}\nnot in Terraform: {extra:?}");
}
