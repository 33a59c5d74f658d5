//! Modules end to end with the local provider: inputs, outputs, nesting,
//! count and for_each on calls, addresses, and module diagnostics.

use terrane_tests::Workdir;

const LEAF: &str = r#"
variable "text" {
  type = string
  validation {
    condition     = length(var.text) > 0
    error_message = "text must not be empty"
  }
}

variable "suffix" {
  type    = string
  default = "x"
}

resource "null_resource" "this" {
  triggers = { text = "${var.text}-${var.suffix}" }
}

output "id" {
  value = null_resource.this.id
}

output "text" {
  value = null_resource.this.triggers.text
}
"#;

const MID: &str = r#"
variable "label" {
  type = string
}

module "leaf" {
  count  = 2
  source = "../leaf"
  text   = "${var.label}-${count.index}"
}

output "texts" {
  value = module.leaf[*].text
}

output "first_id" {
  value = module.leaf[0].id
}
"#;

fn root(envs: &str) -> String {
    format!(
        r#"
variable "envs" {{
  type    = map(string)
  default = {envs}
}}

module "mid" {{
  for_each = var.envs
  source   = "./mods/mid"
  label    = "${{each.key}}-${{each.value}}"
}}

# Another call of the same directory: it shares nothing with the others.
module "single" {{
  source = "./mods/leaf"
  text   = "single"
  suffix = "y"
}}

resource "null_resource" "root" {{
  triggers = {{ first = module.single.id }}
}}

output "texts" {{
  value = {{ for k, m in module.mid : k => m.texts }}
}}

output "single" {{
  value = module.single.text
}}
"#
    )
}

/// The root configuration with one environment, followed by `extra`.
fn with_one_env(extra: &str) -> String {
    root(r#"{ a = "one" }"#) + extra
}

fn workdir(envs: &str) -> Workdir {
    let w = Workdir::new();
    w.write("mods/leaf/main.tf", LEAF).write("mods/mid/main.tf", MID).write("main.tf", &root(envs));
    w
}

#[test]
fn module_instances_get_their_own_addresses_inputs_and_outputs() {
    let w = workdir(r#"{ a = "one", b = "two" }"#);
    w.run(&["apply", "-auto-approve"])
        .success()
        .contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed.")
        .contains(r#"module.mid["b"].module.leaf[1].null_resource.this: Creation complete"#);
    let list = w.run(&["state", "list"]).success().all();
    let mut addresses: Vec<&str> = list.lines().collect();
    addresses.sort();
    assert_eq!(
        addresses,
        [
            r#"module.mid["a"].module.leaf[0].null_resource.this"#,
            r#"module.mid["a"].module.leaf[1].null_resource.this"#,
            r#"module.mid["b"].module.leaf[0].null_resource.this"#,
            r#"module.mid["b"].module.leaf[1].null_resource.this"#,
            "module.single.null_resource.this",
            "null_resource.root",
        ]
    );
    let outputs: serde_json::Value = serde_json::from_str(&w.run(&["output", "-json"]).success().all()).expect("output -json is JSON");
    assert_eq!(
        outputs["texts"]["value"],
        serde_json::json!({ "a": ["a-one-0-x", "a-one-1-x"], "b": ["b-two-0-x", "b-two-1-x"] }),
        "each instance got its own inputs, and the default where none was given"
    );
    assert_eq!(outputs["single"]["value"], "single-y");
    w.run(&["plan", "-detailed-exitcode"]).code(0).contains("No changes.");

    // Removing one key of the call's for_each destroys that instance's resources only.
    w.write("main.tf", &root(r#"{ a = "one" }"#));
    w.run(&["plan", "-detailed-exitcode"])
        .code(2)
        .contains(r#"# module.mid["b"].module.leaf[0].null_resource.this will be destroyed"#)
        .contains("Plan: 0 to add, 0 to change, 2 to destroy.");
    w.run(&["apply", "-auto-approve"]).success().contains("0 added, 0 changed, 2 destroyed");
    w.run(&["plan", "-detailed-exitcode"]).code(0);
    w.run(&["destroy", "-auto-approve"]).success().contains("4 destroyed");
    assert_eq!(w.run(&["state", "list"]).success().all().trim(), "");
}

#[test]
fn module_mistakes_are_reported_where_they_are_made() {
    let w = workdir(r#"{ a = "one" }"#);
    w.write(
        "main.tf",
        &with_one_env(
            r#"
module "typo" {
  source = "./mods/leaf"
  txt    = "x"
}

output "wrong" {
  value = module.single.idd
}
"#,
        ),
    );
    w.run(&["validate"])
        .code(1)
        .contains(r#"main.tf:34:3: module "typo" has no input variable "txt""#)
        .contains(r#"did you mean "text"?"#)
        .contains(r#"main.tf:38:11: module.single has no output "idd""#)
        .contains("did you mean module.single.id?");

    w.write(
        "main.tf",
        &with_one_env("\nmodule \"missing\" {\n  source = \"./mods/leaf\"\n}\n\nmodule \"empty\" {\n  source = \"./mods/leaf\"\n  text   = \"\"\n}\n"),
    );
    w.run(&["plan"])
        .code(1)
        .contains(r#"main.tf:32:1: module "missing" needs a value for its variable "text""#)
        .contains(r#"invalid value for variable "text""#)
        .contains("text must not be empty");

    w.write(
        "main.tf",
        &with_one_env("\nmodule \"remote\" {\n  source = \"hashicorp/consul/aws\"\n}\n\nmodule \"absent\" {\n  source = \"./mods/none\"\n}\n"),
    );
    w.run(&["plan"])
        .code(1)
        .contains(r#"main.tf:33:12: module "remote": only local module sources are supported"#)
        .contains(r#"main.tf:37:12: module "absent": no directory"#);
    assert!(!w.path().join(".terrane/state.db").exists(), "nothing was written");
}

#[test]
fn a_module_for_each_over_another_modules_output_plans_once_known() {
    let w = Workdir::new();
    w.write("mods/leaf/main.tf", LEAF);
    w.write(
        "main.tf",
        r#"
module "names" {
  source = "./mods/leaf"
  text   = "names"
}

# The keys come from a variable; the values from another module's outputs.
module "users" {
  for_each = { for k in ["x", "y"] : k => module.names.id }
  source   = "./mods/leaf"
  text     = each.key
  suffix   = each.value
}

module "unknowable" {
  for_each = toset([module.names.id])
  source   = "./mods/leaf"
  text     = each.key
}
"#,
    );
    w.run(&["plan"])
        .code(1)
        .contains("the for_each value depends on values known only after apply")
        .contains("main.tf:16:14");
    let text = w.read("main.tf").unwrap();
    let cut = text.find("module \"unknowable\"").unwrap();
    w.write("main.tf", &text[..cut]);
    w.run(&["apply", "-auto-approve"]).success().contains("3 added");
    w.run(&["plan", "-detailed-exitcode"]).code(0);
}
