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

/// Numbers keep Terraform's precision through arithmetic, `tostring`,
/// `jsonencode`, outputs and state: every value below is what Terraform 1.11
/// gave for the same configuration, and the second plan finds nothing changed,
/// so what state holds reads back exactly.
#[test]
fn numbers_keep_every_digit_through_outputs_and_state() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
locals {
  big   = 12345678901234567890
  forty = 1234567890123456789012345678901234567890
}

resource "terraform_data" "n" {
  input = [local.big, 0.1 + 0.2, 1e400, local.forty * 3, 1 / 3]
}

output "big" { value = local.big }
output "sum" { value = 0.1 + 0.2 }
output "huge" { value = 1e400 }
output "huger" { value = tostring(1e400 * 10) }
output "negzero" { value = -0 }
output "product" { value = local.forty * 3 }
output "third" { value = 1 / 3 }
output "text" { value = tostring(local.forty * 3) }
output "json" { value = jsonencode([local.big, -0, 0.1 + 0.2]) }
output "stored" { value = terraform_data.n.output }
"#,
    );
    w.run(&["init"]).success();
    w.run(&["apply", "-auto-approve"]).success();
    let huge = format!("1{}", "0".repeat(400));
    let third = format!("0.{}5", "3".repeat(154));
    let product = "3703703670370370367037037036703703703670";
    let expected = [
        ("big", "12345678901234567890".to_string()),
        ("sum", "0.3".to_string()),
        ("huge", huge.clone()),
        ("huger", format!("\"1{}\"", "0".repeat(401))),
        ("negzero", "0".to_string()),
        ("product", product.to_string()),
        ("third", third.clone()),
        ("text", format!("\"{product}\"")),
        ("json", "\"[12345678901234567890,-0,0.3]\"".to_string()),
        ("stored", format!("[12345678901234567890,0.3,{huge},{product},{third}]")),
    ];
    let outputs: serde_json::Value = serde_json::from_str(&w.run(&["output", "-json"]).success().stdout).expect("output -json is JSON");
    for (name, value) in expected {
        assert_eq!(outputs[name]["value"].to_string(), value, "output {name}");
    }
    let state: serde_json::Value = serde_json::from_str(&w.run(&["state", "pull"]).success().stdout).expect("state pull is JSON");
    let stored = &state["resources"][0]["instances"][0]["attributes"]["output"];
    assert_eq!(stored.to_string(), format!("[12345678901234567890,0.3,{huge},{product},{third}]"));
    w.run(&["plan", "-detailed-exitcode"]).code(0);
}
