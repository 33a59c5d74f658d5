//! A sensitive value never appears in anything terrane prints, unless a script
//! asks for that one output by name with -raw or -json.

use terrane_tests::Workdir;

#[test]
fn a_random_password_is_never_printed() {
    let w = Workdir::copy_of("examples/quickstart");
    let mut printed = Vec::new();
    printed.push(w.run(&["plan"]).success().all());
    printed.push(w.run(&["apply", "-auto-approve"]).success().all());
    let secret = w.run(&["output", "-raw", "db_password"]).success().stdout.clone();
    assert_eq!(secret.len(), 20, "the password has the configured length");
    printed.push(w.run(&["plan"]).success().all());
    printed.push(w.run(&["show"]).success().all());
    printed.push(w.run(&["show", "-json"]).success().all());
    printed.push(w.run(&["state", "show", "random_password.db"]).success().all());
    printed.push(w.run(&["output"]).success().all());
    printed.push(w.run(&["output", "db_password"]).success().all());
    printed.push(w.run(&["output", "-json"]).success().all());
    printed.push(w.run(&["apply", "-auto-approve", "-var", "environment=stage"]).success().all());
    printed.push(w.run(&["destroy", "-auto-approve"]).success().all());
    for (i, text) in printed.iter().enumerate() {
        assert!(!text.contains(&secret), "output {i} shows the password:\n{text}");
    }
    let result_line = printed[3].lines().find(|l| l.trim_start().starts_with("result ")).unwrap_or_default();
    assert!(result_line.ends_with("= (sensitive value)"), "{}", printed[3]);
}

#[test]
fn an_output_of_a_secret_must_be_marked_sensitive() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        "resource \"random_password\" \"p\" { length = 8 }\noutput \"leak\" { value = random_password.p.result }\n",
    );
    w.run(&["plan"]).code(1).contains("output \"leak\" refers to sensitive values").contains("main.tf:2:25");
}

#[test]
fn sensitive_variables_stay_hidden_through_expressions() {
    let w = Workdir::new();
    w.write(
        "main.tf",
        r#"
variable "token" {
  type      = string
  sensitive = true
}
resource "terraform_data" "t" { input = "Bearer ${upper(var.token)}" }
"#,
    );
    let run = w.run(&["apply", "-auto-approve", "-var", "token=abc123secret"]);
    run.success().contains("input  = (sensitive value)").lacks("ABC123SECRET").lacks("abc123secret");
    w.run(&["show"]).success().lacks("ABC123SECRET");
}
