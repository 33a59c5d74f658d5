//! Bad input gets one clear diagnostic per problem, with file, line and column,
//! and changes nothing: no state is created, and existing state keeps its serial.

use terrane_tests::Workdir;

struct Case {
    name: &'static str,
    tf: &'static str,
    /// `file:line:column` of the problem.
    at: &'static str,
    message: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "malformed HCL",
        tf: "resource \"null_resource\" \"a\" {\n  triggers = {\n}\n",
        at: "main.tf:3:2",
        message: "invalid HCL syntax",
    },
    Case {
        name: "unknown block",
        tf: "resourc \"null_resource\" \"a\" {}\n",
        at: "main.tf:1:1",
        message: "unsupported block type \"resourc\"",
    },
    Case {
        name: "unknown attribute",
        tf: "resource \"null_resource\" \"a\" {\n  trigers = {}\n}\n",
        at: "main.tf:2:3",
        message: "unsupported argument \"trigers\" in resource \"null_resource\"",
    },
    Case {
        name: "type mismatch",
        tf: "resource \"random_id\" \"a\" {\n  byte_length = \"four\"\n}\n",
        at: "main.tf:2:17",
        message: "a number is required, got the string \"four\"",
    },
    Case {
        name: "missing required attribute",
        tf: "resource \"random_id\" \"a\" {\n}\n",
        at: "main.tf:1:27",
        message: "missing required argument \"byte_length\"",
    },
    Case {
        name: "undeclared resource",
        tf: "resource \"null_resource\" \"a\" {\n  triggers = { x = null_resource.nope.id }\n}\n",
        at: "main.tf:2:20",
        message: "reference to undeclared resource null_resource.nope",
    },
    Case {
        name: "undeclared variable",
        tf: "resource \"null_resource\" \"a\" {\n  triggers = { x = var.nope }\n}\n",
        at: "main.tf:2:20",
        message: "reference to undeclared variable var.nope",
    },
    Case {
        name: "cycle",
        tf: "resource \"null_resource\" \"a\" {\n  triggers = { x = null_resource.b.id }\n}\nresource \"null_resource\" \"b\" {\n  triggers = { x = null_resource.a.id }\n}\n",
        at: "main.tf:2:20",
        message: "dependency cycle: null_resource.a -> null_resource.b -> null_resource.a",
    },
    Case {
        name: "unknown function",
        tf: "resource \"terraform_data\" \"a\" {\n  input = uper(\"x\")\n}\n",
        at: "main.tf:2:11",
        message: "there is no function named \"uper\"",
    },
    Case {
        name: "negative count",
        tf: "resource \"null_resource\" \"a\" {\n  count = -1\n}\n",
        at: "main.tf:2:11",
        message: "count must be a whole number of 0 or more",
    },
    Case {
        name: "invalid variable default",
        tf: "variable \"n\" {\n  type    = number\n  default = \"many\"\n}\n",
        at: "main.tf:3:13",
        message: "invalid default value for variable \"n\"",
    },
];

#[track_caller]
fn check(w: &Workdir, case: &Case, args: &[&str]) {
    let run = w.run(args);
    assert_eq!(run.code, 1, "{}: `terrane {}` should fail\n{}", case.name, args.join(" "), run.all());
    let text = run.all();
    assert!(text.contains(case.at), "{}: expected the location {} in\n{text}", case.name, case.at);
    assert!(text.contains(case.message), "{}: expected {:?} in\n{text}", case.name, case.message);
    assert!(!text.contains("panicked"), "{}: terrane panicked\n{text}", case.name);
}

#[test]
fn bad_configurations_are_reported_with_their_location_and_change_nothing() {
    for case in CASES {
        let w = Workdir::new();
        w.write("main.tf", case.tf);
        check(&w, case, &["plan"]);
        check(&w, case, &["apply", "-auto-approve"]);
        assert_eq!(w.state_serial().unwrap_or(0), 0, "{}: state was written", case.name);
    }
}

#[test]
fn validate_reports_the_same_problems() {
    for case in CASES {
        let w = Workdir::new();
        w.write("main.tf", case.tf);
        check(&w, case, &["validate"]);
        let json = w.run(&["validate", "-json"]);
        json.code(1);
        let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("validate -json prints JSON");
        assert_eq!(parsed["valid"], false, "{}", case.name);
        let first = &parsed["diagnostics"][0];
        let at = format!("{}:{}:{}", first["range"]["filename"].as_str().unwrap_or(""), first["range"]["start"]["line"], first["range"]["start"]["column"]);
        assert_eq!(at, case.at, "{}: {}", case.name, json.stdout);
    }
}

#[test]
fn a_broken_change_to_applied_configuration_leaves_state_untouched() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"a\" {}\n");
    w.run(&["apply", "-auto-approve"]).success();
    let serial = w.state_serial();
    assert!(serial.is_some_and(|s| s > 0));
    for case in CASES {
        w.write("main.tf", case.tf);
        check(&w, case, &["apply", "-auto-approve"]);
        assert_eq!(w.state_serial(), serial, "{}: the serial moved", case.name);
    }
    assert_eq!(w.run(&["state", "list"]).stdout, "null_resource.a\n");
}

#[test]
fn every_problem_is_reported_at_once() {
    let w = Workdir::new();
    w.write("a.tf", "resource \"null_resource\" \"a\" {\n  trigers = {}\n}\n");
    w.write("b.tf", "resource \"random_id\" \"b\" {\n  byte_length = \"x\"\n}\n");
    w.run(&["validate"]).code(1).contains("a.tf:2:3").contains("b.tf:2:17");
}

#[test]
fn validate_reports_problems_of_every_kind_in_one_run() {
    let w = Workdir::new();
    // One problem the loader finds, one the dependency graph finds, two the
    // provider schemas find, one an unknown provider and one an import block.
    w.write(
        "main.tf",
        r#"variable "size" {
  type  = number
  bogus = true
}

resource "null_resource" "a" {
  count    = var.size
  triggers = { x = var.nope }
}

resource "random_string" "s" {
  length = "many"
  wrong  = 1
}

resource "nosuch_thing" "x" {}

import {
  to = null_resource.b
  id = "1"
}
"#,
    );
    let json = w.run(&["validate", "-json"]);
    json.code(1);
    let parsed: serde_json::Value = serde_json::from_str(&json.stdout).expect("validate -json prints JSON");
    let mut found: Vec<String> = parsed["diagnostics"]
        .as_array()
        .expect("a list of diagnostics")
        .iter()
        .map(|d| format!("{}:{} {}", d["range"]["start"]["line"], d["range"]["start"]["column"], d["summary"].as_str().unwrap_or("")))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            "12:12 invalid value for \"length\"",
            "13:3 unsupported argument \"wrong\" in resource \"random_string\"",
            "16:1 no provider for \"hashicorp/nosuch\"",
            "18:1 null_resource.b is not in the configuration",
            "3:3 unsupported argument \"bogus\" in variable",
            "8:20 reference to undeclared variable var.nope",
        ],
        "{}",
        json.stdout
    );
    assert_eq!(parsed["error_count"], 6);
    // The plain form reports the same problems.
    let plain = w.run(&["validate", "-no-color"]);
    assert_eq!(plain.code, 1);
    assert_eq!(plain.stderr.matches("Error: ").count(), 6, "{}", plain.stderr);
}

/// The conformance cases broken at random, through the real binary: every
/// command ends in a result or diagnostics, never a panic, and plan writes no
/// state for a configuration it refuses.
#[test]
fn mutated_configurations_never_make_validate_or_plan_panic() {
    let iterations: usize = std::env::var("TERRANE_FUZZ_ITERATIONS").ok().and_then(|s| s.parse().ok()).map_or(300, |n: usize| n / 100);
    let root = terrane_tests::repo_root().join("tests/conformance");
    let mut cases: Vec<String> = std::fs::read_dir(&root).expect("tests/conformance").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    cases.sort();
    let mut rng = terrane_lang::fuzz::Lcg(0x5eed_0f_7e);
    for i in 0..iterations {
        let case = &cases[i % cases.len()];
        let w = Workdir::copy_of(&format!("tests/conformance/{case}"));
        let seed = w.read("main.tf").expect("every case has a main.tf");
        let text = terrane_lang::fuzz::mutate(&seed, &mut rng);
        w.write("main.tf", &text);
        for args in [&["validate", "-json"][..], &["plan", "-no-color"]] {
            let run = w.run(args);
            assert!(
                (run.code == 0 || run.code == 1) && !run.stderr.contains("panicked"),
                "iteration {i} ({case}): `terrane {}` ended with {}:\n{}\n--- input\n{text}",
                args.join(" "),
                run.code,
                run.all()
            );
            if args[0] == "validate" {
                let parsed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_default();
                assert_eq!(parsed["valid"].as_bool(), Some(run.code == 0), "iteration {i} ({case}): {}", run.stdout);
            } else if run.code == 1 {
                assert_eq!(w.state_serial().unwrap_or(0), 0, "iteration {i} ({case}): a refused plan wrote state");
            }
        }
    }
}

#[test]
fn a_corrupt_state_database_is_refused_and_left_as_it_was() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"a\" {}\n");
    let garbage = "this is not a database, it is a text file that happens to be here\n".repeat(100);
    w.write(".terrane/state.db", &garbage);
    for args in [&["plan"][..], &["apply", "-auto-approve"], &["state", "list"]] {
        w.run(args).code(1).contains("state database").contains(".terrane/state.db").lacks("panicked");
    }
    assert_eq!(w.read(".terrane/state.db").as_deref(), Some(garbage.as_str()));
}

#[test]
fn a_database_that_is_not_terranes_is_refused_and_left_as_it_was() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"a\" {}\n");
    let path = w.path().join(".terrane/state.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let tables = |path: &std::path::Path| -> Vec<String> {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let url = format!("sqlite://{}?mode=rwc", path.display());
            let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
            sqlx::query("CREATE TABLE IF NOT EXISTS invoices (id INTEGER PRIMARY KEY)").execute(&pool).await.unwrap();
            let names: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .fetch_all(&pool)
                .await
                .unwrap();
            pool.close().await;
            names
        })
    };
    assert_eq!(tables(&path), vec!["invoices".to_string()]);
    w.run(&["apply", "-auto-approve"]).code(1).contains("is not a terrane state database");
    assert_eq!(tables(&path), vec!["invoices".to_string()], "terrane must not add its tables");
}

#[test]
fn a_required_variable_without_a_value_fails_without_a_terminal() {
    let w = Workdir::new();
    w.write("main.tf", "variable \"region\" {\n  type = string\n}\nresource \"terraform_data\" \"a\" {\n  input = var.region\n}\n");
    for args in [&["plan"][..], &["apply", "-auto-approve"]] {
        w.run(args).code(1).contains("main.tf:1:1").contains("no value for required variable \"region\"").contains("TF_VAR_region");
    }
    assert_eq!(w.state_serial().unwrap_or(0), 0);
    // validate checks the configuration, not the inputs, as in Terraform.
    w.run(&["validate"]).success();
    w.run_with_env(&["plan"], &[("TF_VAR_region", "eu-west-1")]).success().contains("\"eu-west-1\"");
}
