//! State a team can trust, on both stores: PostgreSQL through TERRANE_STATE_URL
//! and the pg backend block, locks between concurrent runs, workspaces, history.

use terrane_tests::{fresh_schema, postgres_url, Workdir};

const SLOW: &str = r#"
resource "time_sleep" "wait" {
  create_duration = "3s"
}
resource "null_resource" "after" {
  triggers = { waited = time_sleep.wait.id }
}
"#;

/// The two stores, as the environment a run needs to use each.
fn stores() -> Vec<(&'static str, Vec<(String, String)>)> {
    vec![
        ("sqlite", vec![]),
        (
            "postgres",
            vec![
                ("TERRANE_STATE_URL".to_string(), postgres_url()),
                ("TERRANE_STATE_SCHEMA".to_string(), fresh_schema("lock")),
            ],
        ),
    ]
}

fn env_of(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn a_second_apply_reports_the_lock_holder_and_changes_nothing() {
    for (name, env) in stores() {
        let w = Workdir::new();
        w.write("main.tf", SLOW);
        let env = env_of(&env);
        let first = w.start_until(&["apply", "-auto-approve"], &env, "time_sleep.wait: Creating...");
        let second = w.run_with_env(&["apply", "-auto-approve"], &env);
        second.code(1).contains("the workspace is locked by").contains("(run ").contains("apply since");
        assert!(!second.stdout.contains("Creating..."), "{name}: the second run must not change anything");
        first.finish().success().contains("2 added");
        w.run_with_env(&["plan", "-detailed-exitcode"], &env).code(0);
    }
}

#[test]
fn with_a_lock_timeout_the_second_apply_waits_then_runs() {
    for (name, env) in stores() {
        let w = Workdir::new();
        w.write("main.tf", SLOW);
        let env = env_of(&env);
        let first = w.start_until(&["apply", "-auto-approve"], &env, "time_sleep.wait: Creating...");
        let second = w.run_with_env(&["apply", "-auto-approve", "-lock-timeout=30s"], &env);
        second.success().contains("Acquiring state lock");
        first.finish().success();
        assert!(second.stdout.contains("Resources: 0 added") || second.stdout.contains("No changes"), "{name}: {}", second.stdout);
    }
}

#[test]
fn postgres_state_through_the_environment() {
    let schema = fresh_schema("env");
    let url = postgres_url();
    let env = [("TERRANE_STATE_URL", url.as_str()), ("TERRANE_STATE_SCHEMA", schema.as_str())];
    let w = Workdir::copy_of("examples/quickstart");
    w.run_with_env(&["init"], &env).success().contains(&format!("PostgreSQL schema {schema}")).lacks(&url);
    w.run_with_env(&["apply", "-auto-approve"], &env).success().contains("5 added");
    assert!(!w.path().join(".terrane/state.db").exists(), "nothing was written to SQLite");
    w.run_with_env(&["plan", "-detailed-exitcode"], &env).code(0);
    let list = w.run_with_env(&["state", "list"], &env);
    assert_eq!(list.success().stdout.lines().count(), 5);
    w.run_with_env(&["state", "history"], &env).success().contains("create").contains("local_file.config");
    w.run_with_env(&["destroy", "-auto-approve"], &env).success().contains("5 destroyed");
    assert_eq!(w.run_with_env(&["state", "list"], &env).stdout, "");
}

#[test]
fn postgres_state_through_the_backend_block() {
    let schema = fresh_schema("block");
    let w = Workdir::new();
    w.write(
        "main.tf",
        &format!(
            "terraform {{\n  backend \"pg\" {{\n    conn_str    = \"{}\"\n    schema_name = \"{schema}\"\n  }}\n}}\nresource \"null_resource\" \"a\" {{}}\n",
            postgres_url()
        ),
    );
    w.run(&["apply", "-auto-approve"]).success().contains("1 added");
    assert!(!w.path().join(".terrane/state.db").exists());
    assert_eq!(w.run(&["state", "list"]).stdout, "null_resource.a\n");
    // The same state is visible through the environment.
    let env = [("TERRANE_STATE_URL", postgres_url()), ("TERRANE_STATE_SCHEMA", schema)];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let other = Workdir::new();
    other.write("main.tf", "resource \"null_resource\" \"a\" {}\n");
    assert_eq!(other.run_with_env(&["state", "list"], &env).stdout, "null_resource.a\n");
}

#[test]
fn workspaces_keep_separate_state() {
    for (name, env) in stores() {
        let w = Workdir::new();
        w.write("main.tf", "resource \"terraform_data\" \"ws\" { input = terraform.workspace }\noutput \"ws\" { value = terraform_data.ws.output }\n");
        let env = env_of(&env);
        w.run_with_env(&["apply", "-auto-approve"], &env).success().contains("ws = \"default\"");
        w.run_with_env(&["workspace", "new", "staging"], &env).success().contains("Created and switched to workspace \"staging\"");
        w.run_with_env(&["workspace", "show"], &env).success().contains("staging");
        w.run_with_env(&["apply", "-auto-approve"], &env).success().contains("1 added").contains("ws = \"staging\"");
        let list = w.run_with_env(&["workspace", "list"], &env);
        assert_eq!(list.success().stdout, "  default\n* staging\n", "{name}");
        w.run_with_env(&["workspace", "delete", "staging"], &env).code(1).contains("is selected");
        w.run_with_env(&["workspace", "select", "default"], &env).success();
        w.run_with_env(&["workspace", "delete", "staging"], &env).code(1).contains("still manages 1 resource");
        w.run_with_env(&["workspace", "delete", "-force", "staging"], &env).success();
        w.run_with_env(&["workspace", "select", "staging"], &env).code(1).contains("does not exist");
        w.run_with_env(&["output", "-raw", "ws"], &env).success();
        assert_eq!(w.run_with_env(&["output", "-raw", "ws"], &env).stdout, "default", "{name}");
    }
}

#[test]
fn force_unlock_needs_the_exact_id() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"a\" {}\n");
    w.run(&["init"]).success();
    // A holder that died without unlocking, with a lease far in the future.
    w.sql("INSERT INTO locks (workspace, id, operation, who, created_at, expires_at) VALUES ('default', 'dead-lock-id', 'apply', 'ci@gone (run x)', 'earlier', 99999999999)");
    w.run(&["apply", "-auto-approve"]).code(1).contains("locked by ci@gone (run x)").contains("lock id dead-lock-id");
    w.run(&["force-unlock", "-force", "dead-lock"]).code(1).contains("no lock with id dead-lock");
    w.run(&["force-unlock", "dead-lock-id"]).code(1).contains("-force");
    w.run(&["force-unlock", "-force", "dead-lock-id"]).success().contains("unlocked");
    w.run(&["apply", "-auto-approve"]).success().contains("1 added");
}

#[test]
fn an_expired_lease_is_taken_over() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"a\" {}\n");
    w.run(&["init"]).success();
    w.sql("INSERT INTO locks (workspace, id, operation, who, created_at, expires_at) VALUES ('default', 'expired', 'apply', 'ci@gone (run x)', 'long ago', 1)");
    w.run(&["apply", "-auto-approve"]).success().contains("1 added");
}

#[test]
fn history_lists_every_change_in_order() {
    let w = Workdir::new();
    w.write("main.tf", "variable \"v\" { default = \"1\" }\nresource \"terraform_data\" \"d\" { input = var.v }\n");
    w.run(&["apply", "-auto-approve"]).success();
    w.run(&["apply", "-auto-approve", "-var", "v=2"]).success();
    w.run(&["destroy", "-auto-approve"]).success();
    let history = w.run(&["state", "history"]);
    let actions: Vec<&str> = history
        .success()
        .stdout
        .lines()
        .skip(1)
        .filter(|l| l.ends_with("terraform_data.d"))
        .map(|l| l.split_whitespace().nth(3).unwrap_or(""))
        .collect();
    assert_eq!(actions, vec!["create", "update", "delete"], "{}", history.stdout);
}

#[test]
fn state_rm_forgets_and_state_mv_renames() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"r\" { count = 2 }\nresource \"terraform_data\" \"old\" { input = \"x\" }\n");
    w.run(&["apply", "-auto-approve"]).success().contains("3 added");
    w.run(&["state", "rm", "null_resource.r"]).success().contains("Removed null_resource.r[0]").contains("Removed null_resource.r[1]");
    assert_eq!(w.run(&["state", "list"]).stdout, "terraform_data.old\n");
    w.run(&["state", "rm", "null_resource.nope"]).code(1).contains("null_resource.nope is not in state");

    w.write("main.tf", "resource \"terraform_data\" \"renamed\" { input = \"x\" }\n");
    w.run(&["plan", "-detailed-exitcode"]).code(2).contains("terraform_data.old will be destroyed");
    w.run(&["state", "mv", "terraform_data.old", "terraform_data.renamed"]).success().contains("Moved terraform_data.old to terraform_data.renamed");
    w.run(&["plan", "-detailed-exitcode"]).code(0);
    w.run(&["state", "mv", "terraform_data.renamed", "null_resource.x"]).code(1).contains("cannot move a terraform_data to a null_resource");
    w.run(&["state", "history"]).success().contains("forget").contains("move from terraform_data.old");
}

#[test]
fn state_pull_writes_terraform_json_without_secrets() {
    let w = Workdir::copy_of("examples/quickstart");
    w.run(&["apply", "-auto-approve"]).success();
    let secret = w.run(&["output", "-raw", "db_password"]).stdout.clone();
    let pulled = w.run(&["state", "pull"]);
    let json: serde_json::Value = serde_json::from_str(&pulled.success().stdout).expect("state pull prints JSON");
    assert_eq!(json["version"], 4);
    assert!(json["lineage"].as_str().is_some_and(|l| !l.is_empty()));
    assert!(json["serial"].as_u64().is_some_and(|s| s > 0));
    let resources = json["resources"].as_array().expect("resources");
    let replicas = resources.iter().find(|r| r["name"] == "replica").expect("null_resource.replica");
    assert_eq!(replicas["provider"], "provider[\"registry.terraform.io/hashicorp/null\"]");
    assert_eq!(replicas["instances"].as_array().map(Vec::len), Some(2));
    assert_eq!(replicas["instances"][1]["index_key"], 1);
    let password = resources.iter().find(|r| r["type"] == "random_password").expect("random_password.db");
    assert_eq!(password["instances"][0]["attributes"]["result"], serde_json::Value::Null);
    assert!(!pulled.stdout.contains(&secret));
    assert_eq!(json["outputs"]["db_password"]["sensitive"], true);
    let revealed = w.run(&["state", "pull", "-include-sensitive"]);
    assert!(revealed.success().stdout.contains(&secret), "asked for explicitly, the secret is included");
}

#[test]
fn state_from_a_newer_terrane_is_refused_untouched() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"a\" {}\n");
    w.run(&["apply", "-auto-approve"]).success();
    w.sql("UPDATE terrane_meta SET value = '99' WHERE key = 'format_version'");
    let serial = w.state_serial();
    for args in [&["plan"][..], &["apply", "-auto-approve"], &["state", "list"]] {
        w.run(args).code(1).contains("was written by a newer terrane (format 99; this build reads up to 1)");
    }
    assert_eq!(w.state_serial(), serial);
}

#[test]
fn earlier_versions_can_be_shown_and_restored() {
    for (name, env) in stores() {
        let w = Workdir::new();
        let env = env_of(&env);
        w.write("main.tf", "variable \"v\" { default = \"one\" }\nresource \"terraform_data\" \"d\" { input = var.v }\noutput \"v\" { value = terraform_data.d.output }\n");
        w.run_with_env(&["apply", "-auto-approve"], &env).success();
        let first_version = w.run_with_env(&["state", "history"], &env).stdout.lines().last().and_then(|l| l.split_whitespace().next()).unwrap_or("0").to_string();
        w.run_with_env(&["apply", "-auto-approve", "-var", "v=two"], &env).success();
        w.run_with_env(&["state", "show", "terraform_data.d", "-version", &first_version], &env).success().contains("input  = \"one\"");
        w.run_with_env(&["state", "show", "terraform_data.d"], &env).success().contains("input  = \"two\"");
        w.run_with_env(&["state", "show", "terraform_data.d", "-version", "999"], &env).code(1).contains("there is no version 999");

        w.run_with_env(&["state", "rollback", &first_version], &env).success().contains(&format!("Restored version {first_version}"));
        w.run_with_env(&["state", "show", "terraform_data.d"], &env).success().contains("input  = \"one\"");
        assert_eq!(w.run_with_env(&["output", "-raw", "v"], &env).stdout, "one", "{name}: outputs are restored too");
        // The journal keeps everything, the rollback included.
        w.run_with_env(&["state", "history"], &env).success().contains(&format!("rollback to {first_version}")).contains("update");
        w.run_with_env(&["plan", "-detailed-exitcode", "-var", "v=two"], &env).code(2).contains("\"one\" -> \"two\"");
    }
}

#[test]
fn a_terraform_state_file_is_imported_and_plans_no_changes() {
    let w = Workdir::copy_of("tests/fixtures/tfstate");
    w.run(&["state", "import-tfstate", "terraform.tfstate"]).success().contains("Imported 5 resource instance(s)");
    assert_eq!(
        w.run(&["state", "list"]).stdout,
        "null_resource.counted[0]\nnull_resource.counted[1]\nnull_resource.keyed[\"x\"]\nnull_resource.keyed[\"y\"]\nnull_resource.single\n"
    );
    w.run(&["plan", "-detailed-exitcode"]).code(0).contains("No changes.");
    w.run(&["state", "show", "null_resource.keyed[\"y\"]"]).success().contains("\"4444\"");
    let pulled: serde_json::Value = serde_json::from_str(&w.run(&["state", "pull"]).stdout).unwrap();
    assert_eq!(pulled["lineage"], "5d3b2c2e-8f8e-4a43-9f0a-3c1f2a9e7b10", "the imported state keeps its lineage");
    // A workspace that already manages something is not overwritten.
    w.run(&["state", "import-tfstate", "terraform.tfstate"]).code(1).contains("already manages 5 instance(s)");
}

#[test]
fn state_push_checks_lineage_and_serial() {
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"a\" {}\n");
    w.run(&["apply", "-auto-approve"]).success();
    let pulled = w.run(&["state", "pull"]).stdout.clone();
    w.write("mine.tfstate", &pulled);
    w.run(&["state", "push", "mine.tfstate"]).success().contains("Pushed mine.tfstate");

    let foreign = terrane_tests::repo_root().join("tests/fixtures/tfstate/terraform.tfstate");
    let serial = w.state_serial();
    w.run(&["state", "push", foreign.to_str().unwrap()]).code(1).contains("has lineage 5d3b2c2e").contains("pass -force only");
    assert_eq!(w.state_serial(), serial, "a refused push writes nothing");
    w.run(&["apply", "-auto-approve", "-refresh=false"]).success();
    // The file pulled earlier is now older than the state.
    w.write("old.tfstate", &pulled);
    w.sql("UPDATE workspaces SET serial = serial + 100");
    w.run(&["state", "push", "old.tfstate"]).code(1).contains("older than this workspace's serial");
    w.run(&["state", "push", "-force", "old.tfstate"]).success();
}

#[test]
fn init_migrate_state_copies_sqlite_state_to_postgres() {
    let schema = fresh_schema("migrate");
    let w = Workdir::new();
    w.write("main.tf", "resource \"null_resource\" \"a\" { count = 3 }\n");
    w.run(&["apply", "-auto-approve"]).success();
    w.run(&["workspace", "new", "staging"]).success();
    w.run(&["apply", "-auto-approve"]).success();
    let lineage = |w: &Workdir, env: &[(&str, &str)]| -> String {
        let pulled: serde_json::Value = serde_json::from_str(&w.run_with_env(&["state", "pull"], env).stdout).unwrap();
        pulled["lineage"].as_str().unwrap_or_default().to_string()
    };
    let before = lineage(&w, &[]);
    let url = postgres_url();
    let env = [("TERRANE_STATE_URL", url.as_str()), ("TERRANE_STATE_SCHEMA", schema.as_str())];
    w.run_with_env(&["init", "-migrate-state"], &env)
        .success()
        .contains("Copied workspace \"default\" (3 instance(s))")
        .contains("Copied workspace \"staging\" (3 instance(s))");
    assert_eq!(w.run_with_env(&["state", "list"], &env).stdout.lines().count(), 3);
    assert_eq!(lineage(&w, &env), before, "the migrated state keeps its lineage");
    w.run_with_env(&["plan", "-detailed-exitcode"], &env).code(0);
    w.run_with_env(&["init", "-migrate-state"], &env).code(1).contains("already has state");
}

fn raw_state_bytes(w: &Workdir) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["state.db", "state.db-wal"] {
        if let Ok(b) = std::fs::read(w.path().join(".terrane").join(name)) {
            bytes.extend(b);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn encrypted_state_keeps_secrets_out_of_the_file_and_refuses_a_wrong_key() {
    let w = Workdir::copy_of("examples/quickstart");
    let k1 = [("TERRANE_STATE_KEY", "first passphrase")];
    w.run_with_env(&["apply", "-auto-approve"], &k1).success();
    let secret = w.run_with_env(&["output", "-raw", "db_password"], &k1).success().stdout.clone();
    let raw = raw_state_bytes(&w);
    assert!(!contains(&raw, &secret), "the password is in the database file");
    assert!(!contains(&raw, "quickstart-dev-0"), "attribute values are in the database file");
    w.run_with_env(&["plan", "-detailed-exitcode"], &k1).code(0);

    let serial = w.state_serial();
    w.run(&["plan"]).code(1).contains("the state is encrypted: set TERRANE_STATE_KEY");
    w.run_with_env(&["apply", "-auto-approve"], &[("TERRANE_STATE_KEY", "wrong")]).code(1).contains("does not open this state");
    assert_eq!(w.state_serial(), serial, "refused runs write nothing");

    // Rotation: the new key opens it, the old one no longer does.
    w.run_with_env(&["state", "rekey"], &[("TERRANE_STATE_KEY", "first passphrase"), ("TERRANE_STATE_NEW_KEY", "second passphrase")])
        .success()
        .contains("encrypted with the new key");
    w.run_with_env(&["plan"], &k1).code(1).contains("does not open this state");
    let k2 = [("TERRANE_STATE_KEY", "second passphrase")];
    w.run_with_env(&["plan", "-detailed-exitcode"], &k2).code(0);
    assert_eq!(w.run_with_env(&["output", "-raw", "db_password"], &k2).stdout, secret);
    assert!(!contains(&raw_state_bytes(&w), &secret));
}

#[test]
fn a_plain_state_is_sealed_whole_when_a_key_is_first_given() {
    let w = Workdir::copy_of("examples/quickstart");
    w.run(&["apply", "-auto-approve"]).success();
    let secret = w.run(&["output", "-raw", "db_password"]).stdout.clone();
    assert!(contains(&raw_state_bytes(&w), "quickstart-dev-0"), "without a key, state is plain");
    let key = [("TERRANE_STATE_KEY", "now sealed")];
    w.run_with_env(&["plan", "-detailed-exitcode"], &key).code(0);
    let raw = raw_state_bytes(&w);
    assert!(!contains(&raw, &secret) && !contains(&raw, "quickstart-dev-0"), "old plain pages remain");
    w.run(&["state", "list"]).code(1).contains("the state is encrypted");
    w.run_with_env(&["state", "history"], &key).success().contains("local_file.config");
}

#[test]
fn an_encryption_block_names_the_passphrase_variable_and_nothing_runs_without_it() {
    let w = Workdir::copy_of("examples/quickstart");
    w.write("encryption.tf", "terraform {\n  encryption {\n    passphrase_env = \"TEAM_STATE_KEY\"\n  }\n}\n");
    w.run(&["apply", "-auto-approve"])
        .code(1)
        .contains("this configuration keeps its state encrypted, and TEAM_STATE_KEY is not set")
        .contains("encryption.tf:2:3");
    assert!(!w.path().join(".terrane").join("state.db").exists(), "a refused run made a state");

    let key = [("TEAM_STATE_KEY", "team passphrase")];
    w.run_with_env(&["apply", "-auto-approve"], &key).success();
    let secret = w.run_with_env(&["output", "-raw", "db_password"], &key).success().stdout.clone();
    assert!(!contains(&raw_state_bytes(&w), &secret), "the state is not sealed");
    // The block names the variable: TERRANE_STATE_KEY is not read.
    w.run_with_env(&["plan"], &[("TERRANE_STATE_KEY", "team passphrase")]).code(1).contains("TEAM_STATE_KEY is not set");
    w.run_with_env(&["plan", "-detailed-exitcode"], &key).code(0);

    // A passphrase in the file is refused, and not echoed back.
    w.write("encryption.tf", "terraform {\n  encryption {\n    passphrase = \"hunter2-in-git\"\n  }\n}\n");
    w.run_with_env(&["plan"], &key)
        .code(1)
        .contains("the encryption block holds a passphrase")
        .contains("encryption.tf:3:5")
        .lacks("hunter2-in-git");
    w.write("encryption.tf", "terraform {\n  encryption {\n    key_provider \"pbkdf2\" \"main\" {}\n  }\n}\n");
    w.run_with_env(&["plan"], &key).code(1).contains("the encryption block takes no \"key_provider\" block").contains("encryption.tf:3:5");
}

#[test]
fn postgres_state_is_sealed_with_a_key_too() {
    let schema = fresh_schema("key");
    let url = postgres_url();
    let w = Workdir::copy_of("examples/quickstart");
    let env = [("TERRANE_STATE_URL", url.as_str()), ("TERRANE_STATE_SCHEMA", schema.as_str()), ("TERRANE_STATE_KEY", "pg passphrase")];
    w.run_with_env(&["apply", "-auto-approve"], &env).success();
    let secret = w.run_with_env(&["output", "-raw", "db_password"], &env).success().stdout.clone();
    let stored: Vec<String> = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let mut values: Vec<String> = sqlx::query_scalar(&format!("SELECT attributes FROM {schema}.resources")).fetch_all(&pool).await.unwrap();
        values.extend(sqlx::query_scalar::<_, String>(&format!("SELECT value FROM {schema}.outputs")).fetch_all(&pool).await.unwrap());
        values.extend(
            sqlx::query_scalar::<_, Option<String>>(&format!("SELECT after FROM {schema}.journal")).fetch_all(&pool).await.unwrap().into_iter().flatten(),
        );
        pool.close().await;
        values
    });
    assert!(stored.len() > 5);
    for value in &stored {
        assert!(value.starts_with("enc:v1:"), "a value is stored in plain text: {value}");
        assert!(!value.contains(&secret));
    }
    let plain_env = [("TERRANE_STATE_URL", url.as_str()), ("TERRANE_STATE_SCHEMA", schema.as_str())];
    w.run_with_env(&["plan"], &plain_env).code(1).contains("the state is encrypted");
    let wrong = [("TERRANE_STATE_URL", url.as_str()), ("TERRANE_STATE_SCHEMA", schema.as_str()), ("TERRANE_STATE_KEY", "nope")];
    w.run_with_env(&["plan"], &wrong).code(1).contains("does not open this state");
    w.run_with_env(&["plan", "-detailed-exitcode"], &env).code(0);
}
