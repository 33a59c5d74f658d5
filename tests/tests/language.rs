//! Language features seen through the binary where apply matters:
//! postconditions decided only after apply, impure functions, and `fmt`.

use terrane_tests::Workdir;

#[test]
fn a_postcondition_unknown_at_plan_is_checked_after_apply() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
resource "random_id" "token" {
  byte_length = 8
  lifecycle {
    postcondition {
      condition     = length(self.hex) == 4
      error_message = "the token must be four hex digits."
    }
  }
}
resource "terraform_data" "user" {
  input = random_id.token.hex
}
"#,
    );
    w.run(&["init"]).success();
    // The plan cannot know the token yet.
    w.run(&["plan"]).success().contains("Plan: 2 to add");
    w.run(&["apply", "-auto-approve"])
        .code(1)
        .contains("postcondition of random_id.token failed")
        .contains("the token must be four hex digits.")
        .contains("main.tf:6:23")
        .lacks("terraform_data.user: Creation complete");
    // The object exists, so it is in state; its dependent was never created.
    let list = w.run(&["state", "list"]);
    assert_eq!(list.success().stdout, "random_id.token\n");
    // With the object known, the next plan reports the failure before any change.
    w.run(&["plan"]).code(1).contains("postcondition of random_id.token failed");
}

#[test]
fn uuid_and_timestamp_are_known_only_at_apply() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
resource "terraform_data" "stamp" {
  input = { id = uuid(), at = timestamp() }
}
output "stamp" { value = terraform_data.stamp.output }
"#,
    );
    w.run(&["init"]).success();
    w.run(&["plan"]).success().contains("at = (known after apply)").contains("id = (known after apply)");
    w.run(&["apply", "-auto-approve"]).success();
    let out = w.run(&["output", "-json", "stamp"]);
    let value: serde_json::Value = serde_json::from_str(&out.success().stdout).expect("JSON output");
    let id = value["id"].as_str().expect("a uuid");
    assert_eq!(id.len(), 36, "{id}");
    let at = value["at"].as_str().expect("a timestamp");
    assert!(at.starts_with("20") && at.ends_with('Z') && at.len() == 20, "{at}");
    // Like Terraform, a new value on every run means a change on every plan.
    w.run(&["plan", "-detailed-exitcode"]).code(2).contains("~ input");
}

#[test]
fn fmt_rewrites_checks_and_diffs() {
    let w = Workdir::new();
    let messy = "resource \"null_resource\" \"a\" {\ntriggers={\n  a=\"1\" # why\n      longer = \"2\"\n  }\n}\n";
    let tidy = "resource \"null_resource\" \"a\" {\n  triggers = {\n    a      = \"1\" # why\n    longer = \"2\"\n  }\n}\n";
    w.write("main.tf", messy);
    w.write("vars.tfvars", "region = \"eu\"\n");
    w.run(&["fmt", "-check"]).code(3).contains("main.tf").lacks("vars.tfvars");
    assert_eq!(w.read("main.tf").as_deref(), Some(messy), "-check writes nothing");
    w.run(&["fmt", "-check", "-diff"]).code(3).contains("--- old/main.tf").contains("-triggers={").contains("+  triggers = {");
    w.run(&["fmt"]).success().contains("main.tf");
    assert_eq!(w.read("main.tf").as_deref(), Some(tidy));
    w.run(&["fmt", "-check"]).success();
    // A file that does not parse is reported with its place and left alone.
    w.write("broken.tf", "x = {\n");
    w.run(&["fmt"]).code(1).contains("broken.tf:1:1").contains("invalid HCL syntax");
    assert_eq!(w.read("broken.tf").as_deref(), Some("x = {\n"));
}
