//! The language conformance suite: each directory under `tests/conformance`
//! is a configuration and the plan or diagnostics terrane must print for it.
//!
//! A case holds `*.tf` files (and any module folders), an optional `prior/`
//! configuration that is applied first so the plan has state to compare
//! with, and `expected`: the exit code and what `terrane plan` printed.
//! Set `TERRANE_BLESS=1` to rewrite `expected` from the current output after
//! a deliberate change; review the diff before committing it.

use std::path::Path;

use terrane_tests::{repo_root, Run, Workdir};

/// Values that differ from run to run (generated ids, temporary paths).
fn normalise(text: &str, dir: &Path) -> String {
    let dir = dir.display().to_string();
    let text = text.replace(&dir, "<dir>");
    let uuid = regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").expect("uuid pattern");
    let number = regex::Regex::new(r"\b[0-9]{12,}\b").expect("id pattern");
    let text = uuid.replace_all(&text, "<uuid>");
    number.replace_all(&text, "<id>").into_owned()
}

fn copy_tf(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read the case") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().expect("a file name");
        if path.is_dir() {
            if name != "prior" {
                std::fs::create_dir_all(to.join(name)).expect("create a folder");
                copy_tf(&path, &to.join(name));
            }
        } else if name != "expected" {
            std::fs::copy(&path, to.join(name)).expect("copy a file");
        }
    }
}

fn remove_tf(dir: &Path) {
    for entry in std::fs::read_dir(dir).expect("read the work dir").flatten() {
        if entry.path().extension().is_some_and(|e| e == "tf") {
            std::fs::remove_file(entry.path()).expect("remove a .tf file");
        }
    }
}

fn render(run: &Run, dir: &Path) -> String {
    format!("exit: {}\n--- stdout\n{}--- stderr\n{}", run.code, normalise(&run.stdout, dir), normalise(&run.stderr, dir))
}

#[test]
fn every_case_plans_as_expected() {
    let root = repo_root().join("tests/conformance");
    let mut cases: Vec<_> = std::fs::read_dir(&root).expect("tests/conformance").flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 20, "the suite has {} cases", cases.len());
    let bless = std::env::var_os("TERRANE_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().expect("a case name").to_string_lossy().into_owned();
        let w = Workdir::new();
        if case.join("prior").is_dir() {
            copy_tf(&case.join("prior"), w.path());
            w.run(&["init"]).success();
            let applied = w.run(&["apply", "-auto-approve", "-no-color"]);
            assert_eq!(applied.code, 0, "{name}: the prior configuration must apply:\n{}", applied.all());
            remove_tf(w.path());
        }
        copy_tf(case, w.path());
        // A case may be an invalid configuration: init then fails as plan will.
        w.run(&["init"]);
        let got = render(&w.run(&["plan", "-no-color"]), w.path());
        let expected_path = case.join("expected");
        if bless {
            std::fs::write(&expected_path, &got).expect("write expected");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!("== {name}\n-- expected\n{expected}\n-- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ (TERRANE_BLESS=1 rewrites them after a deliberate change):\n{}", failures.len(), cases.len(), failures.join("\n"));
}
