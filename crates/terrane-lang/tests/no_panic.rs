//! No input makes the language layer panic: thousands of seeded mutations of real
//! configurations go through parsing, decoding and evaluation, and each must end
//! in a value or a diagnostic.

use std::path::Path;

use terrane_core::{Diagnostic, Diagnostics, SourceFile, Span, Value};
use terrane_lang::config::{parse_module, parse_module_in_pieces};
use terrane_lang::fuzz::{mutate, Lcg};
use terrane_lang::{eval, Scope, Traverser};

const SEEDS: &[&str] = &[
    include_str!("../../../examples/quickstart/main.tf"),
    r#"
locals {
  xs    = [for i, v in ["a", "b", "c"] : "${i}-${upper(v)}" if v != "b"]
  m     = { for k, v in { a = 1, b = 2 } : k => v * 2... }
  s     = "%{ for x in local.xs }${x},%{ endfor }%{ if length(local.xs) > 1 }many%{ else }one%{ endif }"
  n     = try(tonumber("12") + 3 % 2 - -1, 0) / (1 == 1 ? 2 : 3)
  j     = jsondecode(jsonencode({ a = [1, true, null, "x"], b = { c = 1.5 } }))
  parts = split(",", join(",", formatlist("%s=%d", ["a", "b"], [1, 2])))
  r     = regexall("[0-9]+", "a1b22c333")[1]
  z     = zipmap(keys(local.m), values(local.m))
  f     = format("%-8s|%05.1f|%q", "x", 3.14159, "y")
  sub   = substr("hello", -3, 2)
  el    = element(range(1, 10, 3), 7)
  splat = [{ id = 1 }, { id = 2 }][*].id
}
variable "v" {
  type = object({ a = string, b = optional(number, 3), c = list(map(string)) })
  default = { a = "x", c = [{ k = "v" }] }
  validation {
    condition     = length(var.v.a) > 0
    error_message = "a must not be empty"
  }
}
output "o" { value = [local.xs, local.m, local.s, local.n, local.j, local.parts, local.r, local.z, local.f] }
"#,
];

/// Every reference resolves to something, so evaluation goes deep.
struct Anything;

impl Scope for Anything {
    fn resolve(&self, root: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        match (root, steps.len()) {
            ("count", _) => Ok((Value::number(1), 1)),
            (_, 0) => Err(Diagnostic::error("test::scope", "bare name").at(span)),
            ("local", _) => Ok((Value::List(vec![Value::string("a"), Value::number(2), Value::Unknown]), 1)),
            ("var", _) => Ok((Value::map([("a", Value::string("x")), ("b", Value::number(3))]), 1)),
            _ => Ok((Value::Unknown, 1)),
        }
    }

    fn base_dir(&self) -> &Path {
        Path::new(".")
    }
}

/// A small deterministic generator, so a failure can be replayed from its iteration.
fn exercise(text: &str) {
    let file = SourceFile::new("fuzz.tf", text);
    // Formatting a file that parses gives one that still parses, and is stable.
    if let Ok(formatted) = terrane_lang::fmt::format_file(&file) {
        let again = SourceFile::new("fuzz.tf", formatted.clone());
        assert!(terrane_lang::fmt::format_file(&again).is_ok(), "formatting broke:\n{text}\n---\n{formatted}");
        assert_eq!(terrane_lang::fmt::format_file(&again).ok(), Some(formatted.clone()), "formatting is not stable for:\n{text}");
    }
    let mut diags = Diagnostics::new();
    let module = parse_module(Path::new("."), vec![file.clone()], &mut diags);
    // Decoded in the smallest pieces, the file gives the same diagnostics and module.
    let mut piece_diags = Diagnostics::new();
    let pieces = parse_module_in_pieces(Path::new("."), vec![file], &mut piece_diags, 1);
    assert_eq!(format!("{piece_diags:?}"), format!("{diags:?}"), "pieces change the diagnostics of:\n{text}");
    if !diags.has_errors() {
        assert_eq!(format!("{pieces:?}"), format!("{module:?}"), "pieces change the module of:\n{text}");
    }
    for d in diags.iter() {
        // Every diagnostic can be placed.
        if let Some(span) = &d.span {
            let _ = span.line_col();
            let _ = span.text();
        }
    }
    for local in module.locals.values() {
        let _ = eval(&local.expr, &Anything);
    }
    for output in module.outputs.values() {
        let _ = eval(&output.expr, &Anything);
    }
    for resource in &module.resources {
        for attr in resource.body.attrs.values() {
            let _ = eval(&attr.expr, &Anything);
        }
    }
}

#[test]
fn mutated_configurations_never_panic() {
    let iterations: usize = std::env::var("TERRANE_FUZZ_ITERATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let mut rng = Lcg(0x7e22a4e);
    for i in 0..iterations {
        let seed = SEEDS[i % SEEDS.len()];
        let text = mutate(seed, &mut rng);
        let result = std::panic::catch_unwind(|| exercise(&text));
        assert!(result.is_ok(), "iteration {i} panicked on:\n{text}");
    }
}

/// `local.NAME` from the locals evaluated so far.
struct Locals(std::collections::BTreeMap<String, Value>);

impl Scope for Locals {
    fn resolve(&self, root: &str, steps: &[Traverser], span: &Span) -> Result<(Value, usize), Diagnostic> {
        match (root, steps.first()) {
            ("local", Some(Traverser::Attr(name, _))) => match self.0.get(name) {
                Some(v) => Ok((v.clone(), 1)),
                None => Err(Diagnostic::error("test::scope", format!("no local {name}")).at(span)),
            },
            _ => Err(Diagnostic::error("test::scope", format!("no {root}")).at(span)),
        }
    }

    fn base_dir(&self) -> &Path {
        Path::new(".")
    }
}

#[test]
fn the_seed_evaluates_to_terraforms_results() {
    let file = SourceFile::new("seed.tf", SEEDS[1]);
    let mut diags = Diagnostics::new();
    let module = parse_module(Path::new("."), vec![file], &mut diags);
    assert!(!diags.has_errors(), "{diags}");
    let mut scope = Locals(Default::default());
    for (name, local) in &module.locals {
        let v = eval(&local.expr, &scope).unwrap_or_else(|d| panic!("local.{name}: {d}"));
        scope.0.insert(name.clone(), v);
    }
    let got = |name: &str| scope.0[name].to_string();
    assert_eq!(got("xs"), r#"["0-A", "2-C"]"#);
    assert_eq!(got("m"), "{a = [2], b = [4]}");
    assert_eq!(got("s"), r#""0-A,2-C,many""#);
    assert_eq!(got("n"), "7");
    assert_eq!(got("j"), r#"{a = [1, true, null, "x"], b = {c = 1.5}}"#);
    assert_eq!(got("parts"), r#"["a=1", "b=2"]"#);
    assert_eq!(got("r"), r#""22""#);
    assert_eq!(got("f"), r#""x       |003.1|\"y\"""#);
    assert_eq!(got("sub"), r#""ll""#);
    assert_eq!(got("el"), "4");
    assert_eq!(got("splat"), "[1, 2]");
}

/// Every built-in function, called with every pair (and many triples) of awkward
/// arguments: nulls, unknowns, secrets, huge and negative numbers, empty and
/// nested collections. Each call ends in a value or an error.
#[test]
fn every_function_takes_any_arguments_without_panicking() {
    let number = |s: &str| Value::Number(terrane_core::Number::parse(s).unwrap_or(terrane_core::Number::ZERO));
    let pool = vec![
        Value::Null,
        Value::Unknown,
        Value::string("secret").sensitive(),
        Value::string(""),
        Value::string("a,b%s%d ${x}"),
        Value::string("10.0.0.0/8"),
        Value::string("2024-01-01T00:00:00Z"),
        Value::string("e\u{301}\u{0}👍🏽"),
        Value::Bool(true),
        number("0"),
        number("-1"),
        number("1.5"),
        number("1e400"),
        number("9223372036854775808"),
        Value::List(vec![]),
        Value::List(vec![Value::string("a"), number("1"), Value::Null]),
        Value::set(vec![Value::string("b"), Value::string("a")]),
        Value::map([("k", Value::List(vec![Value::string("v")])), ("n", Value::Null)]),
        Value::Map(Default::default()),
    ];
    let small = &pool[..8];
    let dir = Path::new(".");
    for f in terrane_lang::functions::FUNCTIONS {
        let mut calls: Vec<Vec<Value>> = vec![vec![]];
        calls.extend(pool.iter().map(|a| vec![a.clone()]));
        for a in &pool {
            calls.extend(pool.iter().map(|b| vec![a.clone(), b.clone()]));
        }
        for a in small {
            for b in small {
                calls.extend(small.iter().map(|c| vec![a.clone(), b.clone(), c.clone()]));
            }
        }
        for args in calls {
            let shown = format!("{}({})", f.name, args.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "));
            let result = std::panic::catch_unwind(|| terrane_lang::functions::call(f.name, args, dir));
            assert!(result.is_ok(), "{shown} panicked");
        }
    }
}
