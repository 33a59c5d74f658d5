//! Crash safety: `terrane apply` killed with SIGKILL at random moments leaves a
//! state the next run can use. After each kill, plan and apply converge to the
//! configuration with no duplicate and no leaked file, and the database passes
//! SQLite's integrity check.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use terrane_tests::{bin, Workdir};

const FILES: usize = 300;

fn config(files: usize, generation: u32) -> String {
    format!(
        r#"
variable "generation" {{ default = {generation} }}
resource "local_file" "f" {{
  count    = {files}
  filename = "${{path.module}}/files/f${{count.index}}.txt"
  content  = "file ${{count.index}}, generation ${{var.generation}}"
}}
resource "null_resource" "n" {{
  count    = {files}
  triggers = {{ file = local_file.f[count.index].id }}
}}
"#
    )
}

/// A small deterministic generator, so a failing run can be repeated from its seed.
struct Lcg(u64);

impl Lcg {
    fn next_below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

fn files_on_disk(w: &Workdir) -> BTreeSet<String> {
    std::fs::read_dir(w.path().join("files"))
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

fn integrity(w: &Workdir) -> String {
    let url = format!("sqlite://{}?mode=ro", w.path().join(".terrane/state.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let result: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&pool).await.unwrap();
        pool.close().await;
        result
    })
}

/// Starts `terrane apply` and kills it (SIGKILL) once it has started `changes`
/// provider calls, plus a few milliseconds. Counting progress lines instead of
/// sleeping a fixed time keeps the kill inside the apply on fast and slow machines.
fn apply_killed_after(w: &Workdir, changes: u64, extra_millis: u64) {
    let mut child = Command::new(bin())
        .args(["apply", "-auto-approve", "-no-color"])
        .current_dir(w.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start terrane");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut started = 0;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        if line.ends_with("Creating...") || line.ends_with("Destroying...") || line.ends_with("Modifying...") {
            started += 1;
            if started >= changes {
                std::thread::sleep(Duration::from_millis(extra_millis));
                break;
            }
        }
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
}

#[test]
fn sigkill_at_random_moments_never_duplicates_or_leaks() {
    let seed = std::env::var("TERRANE_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261122u64);
    let mut rng = Lcg(seed);
    let w = Workdir::new();
    w.write("main.tf", &config(FILES, 0));
    w.run(&["init"]).success();
    let expected: BTreeSet<String> = (0..FILES).map(|i| format!("f{i}.txt")).collect();
    let mut cut_mid_change = 0;
    for round in 0..20u32 {
        // Alternate generations so kills land in creates, replacements and deletes.
        w.write("main.tf", &config(FILES, round % 3));
        apply_killed_after(&w, 1 + rng.next_below(FILES as u64), rng.next_below(20));
        assert_eq!(integrity(&w), "ok", "seed {seed}, round {round}: the database is damaged");
        let on_disk = files_on_disk(&w);
        assert!(on_disk.is_subset(&expected), "seed {seed}, round {round}: unexpected files {:?}", on_disk.difference(&expected).collect::<Vec<_>>());

        // The next run converges: everything configured exists once, with its content.
        let apply = w.run(&["apply", "-auto-approve"]);
        if apply.success().stdout.contains("interrupted change(s) from an earlier run") {
            cut_mid_change += 1;
        }
        assert_eq!(files_on_disk(&w), expected, "seed {seed}, round {round}");
        for i in [0, FILES / 2, FILES - 1] {
            let content = w.read(&format!("files/f{i}.txt")).unwrap_or_default();
            assert_eq!(content, format!("file {i}, generation {}", round % 3), "seed {seed}, round {round}");
        }
        let state = w.run(&["state", "list"]);
        let addresses: Vec<&str> = state.success().stdout.lines().collect();
        assert_eq!(addresses.len(), 2 * FILES, "seed {seed}, round {round}: each object is in state exactly once");
        w.run(&["plan", "-detailed-exitcode"]).code(0);
    }
    // The kills must really land inside provider calls, or this test proves nothing.
    assert!(cut_mid_change >= 5, "seed {seed}: only {cut_mid_change} of 20 kills interrupted a change");
    eprintln!("seed {seed}: {cut_mid_change} of 20 kills interrupted a change in flight");

    // Destroy still cleans up after all of it.
    w.write("main.tf", &config(FILES, 0));
    apply_killed_after(&w, 50, 0);
    w.run(&["destroy", "-auto-approve"]).success();
    assert!(files_on_disk(&w).is_empty());
    assert_eq!(w.run(&["state", "list"]).stdout, "");
}
