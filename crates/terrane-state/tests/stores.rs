//! Both stores through the `StateStore` trait: every behaviour the engine relies
//! on, checked against a SQLite file and a real PostgreSQL server alike.

use std::future::Future;

use terrane_core::InstanceAddr;
use terrane_state::{Actor, Change, Intent, PostgresStore, ResourceRecord, SqliteStore, StateError, StateStore, Status};

fn actor(run: &str) -> Actor {
    Actor { run_id: run.into(), user: "ci".into(), host: "runner-1".into() }
}

fn record(addr: &str, id: &str) -> ResourceRecord {
    ResourceRecord {
        addr: addr.parse().unwrap(),
        provider: "provider[\"hashicorp/null\"]".into(),
        schema_version: 0,
        attributes: serde_json::json!({ "id": id, "triggers": null }),
        sensitive_paths: vec![],
        dependencies: vec!["null_resource.parent".into()],
        status: Status::Ready,
        create_token: Some("tok".into()),
    }
}

/// Runs `scenario` against a fresh SQLite file and a fresh PostgreSQL schema.
/// PostgreSQL comes from TERRANE_TEST_PG_URL (scripts/test starts one); without it
/// the test fails rather than skipping.
async fn on_both<F, Fut>(scenario: F)
where
    F: Fn(Box<dyn StateStore>) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("state.db"), true, None).await.unwrap();
    scenario(Box::new(sqlite)).await;
    let url = std::env::var("TERRANE_TEST_PG_URL")
        .expect("TERRANE_TEST_PG_URL is not set: run scripts/test, which starts PostgreSQL, or point it at a server");
    let schema = format!("t_{}", uuid_like());
    let pg = PostgresStore::open(&url, &schema, None).await.expect("connect to the test PostgreSQL");
    scenario(Box::new(pg)).await;
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}{:x}", nanos, std::process::id())
}

#[tokio::test]
async fn each_commit_bumps_the_serial_and_is_journaled() {
    on_both(|store| async move {
    let empty = store.load("default").await.unwrap();
    assert_eq!(empty.serial, 0);
    assert!(!empty.lineage.is_empty());

    let a: InstanceAddr = "null_resource.a".parse().unwrap();
    let s1 = store
        .commit("default", Change { addr: a.clone(), action: "create".into(), after: Some(record("null_resource.a", "1")), actor: actor("r1") })
        .await
        .unwrap();
    let s2 = store
        .commit("default", Change { addr: a.clone(), action: "update".into(), after: Some(record("null_resource.a", "2")), actor: actor("r2") })
        .await
        .unwrap();
    assert_eq!((s1, s2), (1, 2));

    let state = store.load("default").await.unwrap();
    assert_eq!(state.serial, 2);
    assert_eq!(state.lineage, empty.lineage, "the lineage never changes");
    assert_eq!(state.resources[&a], record("null_resource.a", "2"));

    store.commit("default", Change { addr: a.clone(), action: "delete".into(), after: None, actor: actor("r3") }).await.unwrap();
    assert!(store.load("default").await.unwrap().resources.is_empty());

    let history = store.history("default").await.unwrap();
    let actions: Vec<(u64, &str, &str)> = history.iter().map(|h| (h.serial, h.action.as_str(), h.run_id.as_str())).collect();
    assert_eq!(actions, vec![(1, "create", "r1"), (2, "update", "r2"), (3, "delete", "r3")]);
    assert_eq!(history[0].actor, "ci@runner-1");
    })
    .await;
}

#[tokio::test]
async fn intents_survive_until_their_result_is_committed() {
    on_both(|store| async move {
    let addr: InstanceAddr = "local_file.f".parse().unwrap();
    let intent = Intent {
        addr: addr.clone(),
        run_id: "r1".into(),
        action: "create".into(),
        token: "token-1".into(),
        provider: "provider[\"hashicorp/local\"]".into(),
        planned: serde_json::json!({ "filename": "x" }),
        created_at: "2026-12-03T08:00:00Z".into(),
    };
    store.record_intent("default", &intent).await.unwrap();
    assert_eq!(store.load("default").await.unwrap().intents, vec![intent]);
    store
        .commit("default", Change { addr, action: "create".into(), after: Some(record("local_file.f", "abc")), actor: actor("r1") })
        .await
        .unwrap();
    assert!(store.load("default").await.unwrap().intents.is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_second_writer_is_told_who_holds_the_lock() {
    on_both(|store| async move {
    let held = store.lock("default", "apply", &actor("r1")).await.unwrap();
    match store.lock("default", "destroy", &actor("r2")).await {
        Err(StateError::Locked(info)) => {
            assert_eq!(info.id, held.id);
            assert_eq!(info.operation, "apply");
            assert_eq!(info.who, "ci@runner-1 (run r1)");
        }
        other => panic!("expected the lock to be held, got {other:?}"),
    }
    assert!(matches!(store.unlock("default", "not-the-id").await, Err(StateError::LockNotFound(_))));
    store.renew_lock("default", &held.id).await.unwrap();
    store.unlock("default", &held.id).await.unwrap();
    store.lock("default", "destroy", &actor("r2")).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn workspaces_are_separate() {
    on_both(|store| async move {
    let a: InstanceAddr = "null_resource.a".parse().unwrap();
    store
        .commit("default", Change { addr: a, action: "create".into(), after: Some(record("null_resource.a", "1")), actor: actor("r1") })
        .await
        .unwrap();
    let other = store.load("staging").await.unwrap();
    assert_eq!(other.serial, 0);
    assert!(other.resources.is_empty());
    assert_ne!(other.lineage, store.load("default").await.unwrap().lineage);
    })
    .await;
}

#[tokio::test]
async fn opening_without_create_does_not_make_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    assert!(SqliteStore::open(&path, false, None).await.is_err());
    assert!(!path.exists());
}

#[tokio::test]
async fn workspaces_are_listed_and_deleted_whole() {
    on_both(|store| async move {
        for ws in ["default", "staging"] {
            let addr: InstanceAddr = "null_resource.a".parse().unwrap();
            store
                .commit(ws, Change { addr, action: "create".into(), after: Some(record("null_resource.a", "1")), actor: actor("r1") })
                .await
                .unwrap();
        }
        assert_eq!(store.workspaces().await.unwrap(), vec!["default".to_string(), "staging".to_string()]);
        store.delete_workspace("staging").await.unwrap();
        assert_eq!(store.workspaces().await.unwrap(), vec!["default".to_string()]);
        assert!(store.history("staging").await.unwrap().is_empty());
        assert_eq!(store.load("default").await.unwrap().resources.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn an_instance_moves_atomically_and_never_over_another() {
    on_both(|store| async move {
        for addr in ["null_resource.a", "null_resource.b"] {
            let a: InstanceAddr = addr.parse().unwrap();
            store.commit("default", Change { addr: a, action: "create".into(), after: Some(record(addr, "1")), actor: actor("r1") }).await.unwrap();
        }
        let serial = store.move_instance("default", "null_resource.a", "null_resource.c[\"x\"]", &actor("r2")).await.unwrap();
        assert_eq!(serial, 3);
        let state = store.load("default").await.unwrap();
        let addrs: Vec<String> = state.resources.keys().map(|a| a.to_string()).collect();
        assert_eq!(addrs, vec!["null_resource.b", "null_resource.c[\"x\"]"]);
        assert!(matches!(store.move_instance("default", "null_resource.b", "null_resource.c[\"x\"]", &actor("r3")).await, Err(StateError::AddressTaken(_))));
        assert!(matches!(store.move_instance("default", "null_resource.zz", "null_resource.y", &actor("r3")).await, Err(StateError::NoSuchInstance(_))));
        assert_eq!(store.load("default").await.unwrap().serial, 3, "failed moves write nothing");
        assert_eq!(store.history("default").await.unwrap().last().unwrap().action, "move from null_resource.a");
    })
    .await;
}

/// Many writers at once, as a parallel apply makes them: on SQLite they are
/// grouped into shared transactions. Every change still gets its own serial,
/// in one gapless sequence per workspace, and every intent is cleared by its result.
#[tokio::test]
async fn concurrent_writes_in_two_workspaces_keep_their_serials_and_results() {
    on_both(|store| async move {
    let store: std::sync::Arc<dyn StateStore> = std::sync::Arc::from(store);
    let mut writers = tokio::task::JoinSet::new();
    for workspace in ["default", "staging"] {
        for i in 0..60 {
            let store = store.clone();
            writers.spawn(async move {
                let address = format!("null_resource.r{i}");
                let addr: InstanceAddr = address.parse().unwrap();
                let intent = Intent {
                    addr: addr.clone(),
                    run_id: "r1".into(),
                    action: "create".into(),
                    token: format!("token-{i}"),
                    provider: "provider[\"hashicorp/null\"]".into(),
                    planned: serde_json::json!({ "triggers": null }),
                    created_at: "2026-12-03T08:00:00Z".into(),
                };
                store.record_intent(workspace, &intent).await.unwrap();
                let mut serials = vec![store
                    .commit(workspace, Change { addr: addr.clone(), action: "create".into(), after: Some(record(&address, &i.to_string())), actor: actor("r1") })
                    .await
                    .unwrap()];
                // Every third resource is deleted again by the same writer.
                if i % 3 == 0 {
                    serials.push(store.commit(workspace, Change { addr, action: "delete".into(), after: None, actor: actor("r1") }).await.unwrap());
                }
                (workspace, serials)
            });
        }
    }
    let mut serials: std::collections::BTreeMap<&str, Vec<u64>> = Default::default();
    while let Some(done) = writers.join_next().await {
        let (workspace, taken) = done.unwrap();
        assert!(taken.windows(2).all(|w| w[0] < w[1]), "a delete comes after its create: {taken:?}");
        serials.entry(workspace).or_default().extend(taken);
    }
    for workspace in ["default", "staging"] {
        let taken = serials.get_mut(workspace).unwrap();
        taken.sort();
        assert_eq!(*taken, (1..=80).collect::<Vec<u64>>(), "{workspace}: one serial per change, no gap, none twice");
        let state = store.load(workspace).await.unwrap();
        assert_eq!(state.serial, 80);
        assert!(state.intents.is_empty(), "{workspace}: every intent was cleared by its result");
        let mut left: Vec<String> = state.resources.keys().map(|a| a.to_string()).collect();
        left.sort();
        let mut expected: Vec<String> = (0..60).filter(|i| i % 3 != 0).map(|i| format!("null_resource.r{i}")).collect();
        expected.sort();
        assert_eq!(left, expected);
        let history = store.history(workspace).await.unwrap();
        assert_eq!(history.len(), 80);
        assert_eq!(history.iter().filter(|h| h.action == "delete").count(), 20);
    }
    })
    .await;
}
