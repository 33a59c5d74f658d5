//! The quickstart's whole life through the real binary: apply, no-change plan,
//! update, replace, drift, destroy.

use terrane_tests::Workdir;

#[test]
fn quickstart_applies_converges_and_destroys() {
    let w = Workdir::copy_of("examples/quickstart");
    w.run(&["init"]).success().contains("successfully initialized");
    w.run(&["apply", "-auto-approve"])
        .success()
        .contains("Apply complete! Resources: 5 added, 0 changed, 0 destroyed.")
        .contains("local_file.config: Creation complete");
    let config = w.read("out/quickstart-dev.json").expect("apply wrote the config file");
    assert!(config.contains("\"name\":\"quickstart-dev\""), "{config}");

    // A second plan finds nothing to do.
    w.run(&["plan", "-detailed-exitcode"]).code(0).contains("No changes.");

    // A new input that forces replacement.
    w.run(&["plan", "-detailed-exitcode", "-var", "environment=prod"])
        .code(2)
        .contains("# local_file.config must be replaced")
        .contains("# forces replacement")
        .contains("Plan: 3 to add, 0 to change, 3 to destroy.");

    // Out-of-band edits are drift, and apply puts the file back. As with
    // Terraform, the drift itself is reported only where a planned change
    // reads from the drifted object, and nothing reads the file.
    w.write("out/quickstart-dev.json", "tampered\n");
    w.run(&["plan", "-detailed-exitcode"])
        .code(2)
        .lacks("Objects have changed outside of terrane")
        .contains("# local_file.config will be updated in-place");
    w.run(&["apply", "-auto-approve"]).success().contains("0 added, 1 changed, 0 destroyed");
    assert_eq!(w.read("out/quickstart-dev.json").as_deref(), Some(config.as_str()));
    w.run(&["plan", "-detailed-exitcode"]).code(0);

    // A deleted file is recreated.
    std::fs::remove_file(w.path().join("out/quickstart-dev.json")).expect("remove the file");
    w.run(&["plan", "-detailed-exitcode"]).code(2).lacks("has been deleted").contains("# local_file.config will be created");
    w.run(&["apply", "-auto-approve"]).success().contains("1 added, 0 changed, 0 destroyed");
    assert!(w.read("out/quickstart-dev.json").is_some());

    w.run(&["destroy", "-auto-approve"]).success().contains("Destroy complete! Resources: 0 added, 0 changed, 5 destroyed.");
    assert!(w.read("out/quickstart-dev.json").is_none(), "destroy removed the file");
    let list = w.run(&["state", "list"]);
    assert_eq!(list.success().stdout, "");
    w.run(&["show"]).success().contains("The state file is empty");
}

#[test]
fn changing_an_updatable_attribute_updates_in_place() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
variable "message" { default = "one" }
resource "terraform_data" "note" {
  input = var.message
}
output "note" { value = terraform_data.note.output }
"#,
    );
    w.run(&["apply", "-auto-approve"]).success().contains("note = \"one\"");
    let id = w.run(&["state", "show", "terraform_data.note"]).success().stdout.clone();
    w.run(&["plan", "-detailed-exitcode", "-var", "message=two"])
        .code(2)
        .contains("# terraform_data.note will be updated in-place")
        .contains("~ input  = \"one\" -> \"two\"")
        .contains("Plan: 0 to add, 1 to change, 0 to destroy.");
    w.run(&["apply", "-auto-approve", "-var", "message=two"]).success().contains("note = \"two\"");
    let after = w.run(&["state", "show", "terraform_data.note"]).success().stdout.clone();
    let id_line = |s: &str| s.lines().find(|l| l.trim_start().starts_with("id ")).map(str::to_string);
    assert_eq!(id_line(&id), id_line(&after), "an in-place update keeps the object's id");
    w.run(&["output", "-raw", "note"]).success();
    assert_eq!(w.run(&["output", "-raw", "note"]).stdout, "two");
}

#[test]
fn removing_instances_destroys_only_those() {
    let w = Workdir::new();
    w.write("main.tf", "variable \"n\" { default = 3 }\nresource \"null_resource\" \"r\" { count = var.n }\n");
    w.run(&["apply", "-auto-approve"]).success().contains("3 added");
    w.run(&["apply", "-auto-approve", "-var", "n=1"])
        .success()
        .contains("null_resource.r[2]: Destruction complete")
        .contains("0 added, 0 changed, 2 destroyed");
    assert_eq!(w.run(&["state", "list"]).stdout, "null_resource.r[0]\n");
}

#[test]
fn one_failing_branch_leaves_the_others_applied_and_recorded() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
resource "null_resource" "independent" {}
resource "local_file" "blocked" {
  filename = "${path.module}/not-a-dir/file.txt"
  content  = "x"
}
resource "null_resource" "after_blocked" {
  triggers = { file = local_file.blocked.id }
}
"#,
    );
    // A regular file where a directory must be makes the write fail.
    w.write("not-a-dir", "a file, not a directory");
    w.run(&["apply", "-auto-approve"])
        .code(1)
        .contains("local_file.blocked: creation failed")
        .contains("null_resource.independent: Creation complete");
    let list = w.run(&["state", "list"]);
    assert_eq!(list.success().stdout, "null_resource.independent\n");
}

#[test]
fn apply_without_a_terminal_needs_auto_approve_and_changes_nothing() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"a\" {}\n");
    w.run(&["apply"]).code(1).contains("-auto-approve");
    w.run(&["state", "list"]).success();
    assert_eq!(w.run(&["state", "list"]).stdout, "");
}

#[test]
fn data_sources_are_read_and_usable() {
    let w = Workdir::new();
    w.write("input.txt", "hello from a file");
    w.write(
        "main.tf",
        r#"
data "local_file" "input" { filename = "${path.module}/input.txt" }
resource "terraform_data" "copy" { input = upper(data.local_file.input.content) }
output "copied" { value = terraform_data.copy.output }
"#,
    );
    w.run(&["apply", "-auto-approve"]).success().contains("copied = \"HELLO FROM A FILE\"");
    w.run(&["plan", "-detailed-exitcode"]).code(0);
}

#[test]
fn graph_prints_dependencies_as_dot() {
    let w = Workdir::copy_of("examples/quickstart");
    w.run(&["graph"])
        .success()
        .contains("digraph {")
        .contains("\"local_file.config\" -> \"random_id.suffix\"")
        .contains("\"null_resource.replica\" -> \"var.replicas\"");
}

#[test]
fn creates_follow_dependencies_and_destroys_run_in_reverse() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
resource "null_resource" "base" {}
resource "null_resource" "middle" { triggers = { up = null_resource.base.id } }
resource "null_resource" "top" { triggers = { up = null_resource.middle.id } }
"#,
    );
    let apply = w.run(&["apply", "-auto-approve"]);
    let out = &apply.success().stdout;
    let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s:?} missing from\n{out}"));
    assert!(pos("null_resource.base: Creation complete") < pos("null_resource.middle: Creating..."));
    assert!(pos("null_resource.middle: Creation complete") < pos("null_resource.top: Creating..."));
    let destroy = w.run(&["destroy", "-auto-approve"]);
    let out = &destroy.success().stdout;
    let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("{s:?} missing from\n{out}"));
    assert!(pos("null_resource.top: Destruction complete") < pos("null_resource.middle: Destroying..."));
    assert!(pos("null_resource.middle: Destruction complete") < pos("null_resource.base: Destroying..."));
}

#[test]
fn an_interrupted_create_is_adopted_not_repeated() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"local_file\" \"f\" {\n  filename = \"${path.module}/f.txt\"\n  content  = \"hello\"\n}\n");
    w.run(&["init"]).success();
    // A run that died after writing the file but before committing it.
    w.write("f.txt", "hello");
    w.sql(
        "INSERT INTO intents (workspace, address, run_id, action, token, provider, planned, created_at) VALUES \
         ('default', 'local_file.f', 'dead-run', 'create', 'tok-1', 'provider[\"hashicorp/local\"]', \
          '{\"filename\":\"./f.txt\",\"content\":\"hello\",\"file_permission\":\"0777\",\"directory_permission\":\"0777\"}', 'then')",
    );
    w.run(&["apply", "-auto-approve"])
        .success()
        .contains("Resolved 1 interrupted change(s) from an earlier run; adopted 1 object(s): local_file.f.")
        .contains("Apply complete! Resources: 1 recovered from an interrupted run, 0 added, 0 changed, 0 destroyed.")
        .lacks("local_file.f: Creating...");
    assert_eq!(w.run(&["state", "list"]).stdout, "local_file.f\n");
    w.run(&["plan", "-detailed-exitcode"]).code(0);
}

#[test]
fn import_blocks_are_recorded_by_apply_and_then_plan_clean() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
resource "null_resource" "many" {
  for_each = toset(["a", "b"])
}
resource "random_string" "code" {
  length = 6
}
import {
  for_each = toset(["a", "b"])
  to       = null_resource.many[each.key]
  id       = "id-${each.key}"
}
import {
  to = random_string.code
  id = "abc123"
}
output "code" { value = random_string.code.result }
"#,
    );
    w.run(&["init"]).success();
    w.run(&["plan", "-detailed-exitcode"]).code(2).contains("Plan: 3 to import, 0 to add, 0 to change, 0 to destroy.");
    w.run(&["apply", "-auto-approve"])
        .success()
        .contains("Resources: 3 imported, 0 added, 0 changed, 0 destroyed.")
        .contains("code = \"abc123\"");
    assert_eq!(w.run(&["state", "list"]).stdout, "null_resource.many[\"a\"]\nnull_resource.many[\"b\"]\nrandom_string.code\n");
    w.run(&["state", "show", "null_resource.many[\"b\"]"]).success().contains("id = \"id-b\"");
    w.run(&["state", "history"]).success().contains("import");
    w.run(&["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
}

#[test]
fn flags_take_terraform_and_gnu_spellings() {
    let w = Workdir::new();
    w.write("main.tf", "variable \"v\" { default = \"a\" }\nresource \"terraform_data\" \"d\" { input = var.v }\noutput \"v\" { value = terraform_data.d.output }\n");
    w.run(&["apply", "--auto-approve", "--var=v=b"]).success().contains("v = \"b\"");
    w.run(&["apply", "-auto-approve", "-var=v=c", "-parallelism=1"]).success().contains("v = \"c\"");
    w.write("prod.tfvars", "v = \"d\"\n");
    w.run(&["plan", "-var-file=prod.tfvars", "-detailed-exitcode"]).code(2).contains("\"c\" -> \"d\"");
    // Later sources win: -var after -var-file.
    w.run(&["plan", "-var-file", "prod.tfvars", "-var", "v=c", "-detailed-exitcode"]).code(0);
    w.run_with_env(&["plan", "-detailed-exitcode"], &[("TF_VAR_v", "e")]).code(2).contains("\"c\" -> \"e\"");
}

#[test]
fn one_interrupt_finishes_running_work_and_starts_nothing_new() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
resource "time_sleep" "first" { create_duration = "2s" }
resource "time_sleep" "second" {
  create_duration = "2s"
  triggers        = { after = time_sleep.first.id }
}
"#,
    );
    let run = w.start_until(&["apply", "-auto-approve"], &[], "time_sleep.first: Creating...");
    run.signal("INT");
    let done = run.finish();
    done.code(1)
        .contains("Interrupt received")
        .contains("time_sleep.first: Creation complete")
        .contains("Interrupted. Resources: 1 added, 0 changed, 0 destroyed; 1 operation(s) were not started.")
        .lacks("time_sleep.second: Creating...");
    assert_eq!(w.run(&["state", "list"]).stdout, "time_sleep.first\n");
    w.run(&["apply", "-auto-approve"]).success().contains("1 added").lacks("time_sleep.first: Creating...");
}

#[test]
fn two_interrupts_exit_at_once_with_committed_state_intact() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
resource "null_resource" "quick" {}
resource "time_sleep" "slow" {
  create_duration = "30s"
  triggers        = { after = null_resource.quick.id }
}
"#,
    );
    let run = w.start_until(&["apply", "-auto-approve"], &[], "time_sleep.slow: Creating...");
    let started = std::time::Instant::now();
    run.signal("INT");
    std::thread::sleep(std::time::Duration::from_millis(300));
    run.signal("INT");
    let done = run.finish();
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "the second interrupt must not wait for the sleep");
    done.code(130).contains("Two interrupts received");
    // The quick resource was committed before; the slow one was cut off and is not in state.
    assert_eq!(w.run(&["state", "list"]).stdout, "null_resource.quick\n");
    w.write("main.tf", "resource \"null_resource\" \"quick\" {}\n");
    w.run(&["plan", "-detailed-exitcode"]).code(0);
}

#[test]
fn on_a_terminal_a_required_variable_is_prompted_for() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        "variable \"region\" {\n  type        = string\n  description = \"Where to deploy\"\n}\nresource \"terraform_data\" \"a\" {\n  input = var.region\n}\n",
    );
    // util-linux's `script` gives terrane a real terminal; the answer arrives on it.
    let command = format!("NO_COLOR=1 {} plan", terrane_tests::bin().display());
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(w.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run script (util-linux)");
    std::thread::sleep(std::time::Duration::from_millis(500));
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(b"eu-north-1\n").expect("answer the prompt");
    }
    let out = child.wait_with_output().expect("wait for script");
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(text.contains("var.region\n  Where to deploy\n\n  Enter a value:"), "{text}");
    assert!(text.contains("+ input  = \"eu-north-1\""), "{text}");
}

#[test]
fn moved_blocks_rename_without_recreating() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"terraform_data\" \"old\" { input = \"keep me\" }\nresource \"null_resource\" \"many\" { count = 2 }\n");
    w.run(&["apply", "-auto-approve"]).success();
    let id_before = w.run(&["state", "show", "terraform_data.old"]).stdout.lines().find(|l| l.trim_start().starts_with("id ")).unwrap_or_default().to_string();
    w.write(
        "main.tf",
        r#"
resource "terraform_data" "new" { input = "keep me" }
moved {
  from = terraform_data.old
  to   = terraform_data.new
}
resource "null_resource" "renamed" { count = 2 }
moved {
  from = null_resource.many
  to   = null_resource.renamed
}
"#,
    );
    w.run(&["plan", "-detailed-exitcode"])
        .code(2)
        .contains("# terraform_data.old has moved to terraform_data.new")
        .contains("# null_resource.many[1] has moved to null_resource.renamed[1]")
        .contains("Plan: 0 to add, 0 to change, 0 to destroy.");
    w.run(&["apply", "-auto-approve"]).success().lacks("Creating...").lacks("Destroying...");
    assert_eq!(w.run(&["state", "list"]).stdout, "null_resource.renamed[0]\nnull_resource.renamed[1]\nterraform_data.new\n");
    let id_after = w.run(&["state", "show", "terraform_data.new"]).stdout.lines().find(|l| l.trim_start().starts_with("id ")).unwrap_or_default().to_string();
    assert_eq!(id_before, id_after, "the object is the same one");
    w.run(&["plan", "-detailed-exitcode"]).code(0);
    w.run(&["state", "history"]).success().contains("move from terraform_data.old");
}

#[test]
fn preconditions_stop_the_plan_and_checks_only_warn() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
variable "replicas" { default = 1 }
resource "null_resource" "r" {
  count = var.replicas
  lifecycle {
    precondition {
      condition     = var.replicas <= 3
      error_message = "At most 3 replicas are allowed."
    }
  }
}
check "enough_replicas" {
  assert {
    condition     = var.replicas >= 2
    error_message = "Production wants at least 2 replicas."
  }
}
"#,
    );
    w.run(&["plan", "-detailed-exitcode"])
        .code(2)
        .contains("check \"enough_replicas\" failed")
        .contains("Production wants at least 2 replicas.")
        .contains("main.tf:14:21");
    w.run(&["apply", "-auto-approve", "-var", "replicas=2"]).success().lacks("enough_replicas");
    w.run(&["plan", "-var", "replicas=5"])
        .code(1)
        .contains("precondition of null_resource.r[0] failed")
        .contains("At most 3 replicas are allowed.")
        .contains("main.tf:7:23");
    assert_eq!(w.run(&["state", "list"]).stdout.lines().count(), 2);
}

#[test]
fn version_names_the_release_and_the_platform_in_both_forms() {
    let w = Workdir::new();
    let plain = w.run(&["version"]).success().stdout.clone();
    let release = env!("CARGO_PKG_VERSION");
    assert!(plain.starts_with(&format!("terrane v{release}\non ")), "{plain}");
    let json: serde_json::Value = serde_json::from_str(&w.run(&["version", "-json"]).success().stdout).expect("version -json is JSON");
    assert_eq!(json["terrane_version"], release);
    let platform = json["platform"].as_str().expect("a platform");
    assert!(plain.trim_end().ends_with(platform), "{plain} / {platform}");
    assert!(platform.contains('_') && !platform.contains("x86_64"), "Terraform's naming: {platform}");
}
