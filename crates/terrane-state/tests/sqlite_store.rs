//! The SQLite store through the `StateStore` trait: what the engine relies on.

use terrane_core::InstanceAddr;
use terrane_state::{Actor, Change, Intent, ResourceRecord, SqliteStore, StateError, StateStore, Status};

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

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("state.db"), true).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn each_commit_bumps_the_serial_and_is_journaled() {
    let (_dir, store) = store().await;
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
}

#[tokio::test]
async fn intents_survive_until_their_result_is_committed() {
    let (_dir, store) = store().await;
    let addr: InstanceAddr = "local_file.f".parse().unwrap();
    let intent = Intent {
        addr: addr.clone(),
        run_id: "r1".into(),
        action: "create".into(),
        token: "token-1".into(),
        provider: "provider[\"hashicorp/local\"]".into(),
        planned: serde_json::json!({ "filename": "x" }),
    };
    store.record_intent("default", &intent).await.unwrap();
    assert_eq!(store.load("default").await.unwrap().intents, vec![intent]);
    store
        .commit("default", Change { addr, action: "create".into(), after: Some(record("local_file.f", "abc")), actor: actor("r1") })
        .await
        .unwrap();
    assert!(store.load("default").await.unwrap().intents.is_empty());
}

#[tokio::test]
async fn a_second_writer_is_told_who_holds_the_lock() {
    let (_dir, store) = store().await;
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
}

#[tokio::test]
async fn workspaces_are_separate() {
    let (_dir, store) = store().await;
    let a: InstanceAddr = "null_resource.a".parse().unwrap();
    store
        .commit("default", Change { addr: a, action: "create".into(), after: Some(record("null_resource.a", "1")), actor: actor("r1") })
        .await
        .unwrap();
    let other = store.load("staging").await.unwrap();
    assert_eq!(other.serial, 0);
    assert!(other.resources.is_empty());
    assert_ne!(other.lineage, store.load("default").await.unwrap().lineage);
}

#[tokio::test]
async fn opening_without_create_does_not_make_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    assert!(SqliteStore::open(&path, false).await.is_err());
    assert!(!path.exists());
}
