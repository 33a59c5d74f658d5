//! Every validation in examples/ and modules/ is real: it accepts a good value
//! and rejects a bad one. People copy examples, so a condition that cannot fail
//! would teach them to write checks that check nothing. A validation added
//! without a row here fails the test.

use std::path::{Path, PathBuf};

use terrane_core::{Diagnostic, Diagnostics, SourceFile, Span, Value};
use terrane_lang::config::parse_module;
use terrane_lang::{eval, Scope, Traverser};

/// (module directory, variable, a value it accepts, a value it rejects), as HCL.
const CASES: &[(&str, &str, &str, &str)] = &[
    ("examples/quickstart", "environment", r#""staging-2""#, r#""Staging env""#),
    ("modules/network", "cidr", r#""10.0.0.0/16""#, r#""10.0.0.0/33""#),
    ("modules/network", "availability_zones", r#"["us-east-1a"]"#, "[]"),
    ("modules/service", "name", r#""shop-staging""#, r#""Shop""#),
];

struct OneVariable<'a>(&'a str, Value);

impl Scope for OneVariable<'_> {
    fn resolve(&self, root: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        match (root, steps.first()) {
            ("var", Some(Traverser::Attr(name, _))) if name == self.0 => Ok((self.1.clone(), 1)),
            _ => Err(Diagnostic::error("test::scope", format!("the validation reads more than var.{}", self.0)).at(span)),
        }
    }

    fn base_dir(&self) -> &Path {
        Path::new(".")
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn literal(text: &str) -> Value {
    let file = SourceFile::new("value.tf", text);
    let expr = terrane_lang::parse::parse_expr(text).expect("the table's values parse");
    let expr = terrane_lang::ast::Lowering { file: &file, base: 0 }.expr(&expr);
    eval(&expr, &OneVariable("", Value::Null)).expect("the table's values are literals")
}

fn module_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for top in ["examples", "modules"] {
        for entry in std::fs::read_dir(repo().join(top)).expect("the directory exists").flatten() {
            if entry.path().is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    dirs
}

fn load(dir: &Path) -> terrane_lang::config::Module {
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the module directory exists").flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "tf") {
            sources.push(SourceFile::new(path.display().to_string(), std::fs::read_to_string(&path).expect("readable")));
        }
    }
    let mut diags = Diagnostics::new();
    let module = parse_module(dir, sources, &mut diags);
    assert!(!diags.has_errors(), "{}: {diags}", dir.display());
    module
}

#[test]
fn every_validation_accepts_a_good_value_and_rejects_a_bad_one() {
    let mut checked = 0;
    for dir in module_dirs() {
        let module = load(&dir);
        let relative = dir.strip_prefix(repo()).unwrap_or(&dir).to_string_lossy().replace('\\', "/");
        let relative = relative.trim_start_matches("./");
        for variable in module.variables.values().filter(|v| !v.validations.is_empty()) {
            let Some((_, _, good, bad)) = CASES.iter().find(|(d, v, _, _)| relative.ends_with(d) && *v == variable.name) else {
                panic!("{relative}: var.{} has a validation but no row in CASES", variable.name);
            };
            for validation in &variable.validations {
                let verdict = |value: &str| {
                    let value = variable.ty.convert(literal(value)).expect("the value has the variable's type");
                    eval(&validation.condition, &OneVariable(&variable.name, value)).map(|v| v.as_bool())
                };
                assert_eq!(verdict(good).ok().flatten(), Some(true), "{relative}: var.{} should accept {good}", variable.name);
                assert_eq!(verdict(bad).ok().flatten(), Some(false), "{relative}: var.{} should reject {bad}", variable.name);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, CASES.len(), "every row of CASES names a validation that exists");
}
