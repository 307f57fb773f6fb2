//! Opening the database: migrations on both backends, bad URLs, the SQLite single-node guard.

use govhall_db::testing::TestDatabase;
use govhall_db::{Db, DbError, DbOptions};
use std::collections::BTreeSet;
use std::path::Path;

#[expect(clippy::unwrap_used, reason = "a test helper")]
fn versions(folder: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations").join(folder);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().split('_').next().unwrap().to_owned())
        .collect()
}

#[test]
fn both_backends_have_the_same_migration_versions() {
    let sqlite = versions("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, versions("postgres"), "migrations/sqlite and migrations/postgres must keep the same versions");
}

#[tokio::test]
async fn migrates_forward_once_and_reports_current() {
    let t = TestDatabase::new().await;
    let db = Db::connect(&t.options()).await.unwrap();
    let before = db.migration_status().await.unwrap();
    assert!(!before.is_current());
    assert_eq!(before.current, None);
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    let after = db.migration_status().await.unwrap();
    assert!(after.is_current(), "{after:?}");
    assert!(after.unknown.is_empty());
    db.ping().await.unwrap();
    db.close().await;
    t.cleanup().await;
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&DbOptions::new(None, dir.path().join("data"))).await.unwrap();
    let mut conn = db.conn().await.unwrap();
    let mode: String =
        govhall_db::run!(conn, |c| { govhall_db::sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *c).await })
            .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn a_malformed_url_is_an_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in
        ["postgre://localhost/x", "mysql://root@localhost/x", "localhost:5432", "postgres://user@host:notaport/db"]
    {
        let opts = DbOptions::new(Some(url.to_owned()), dir.path().join("data"));
        let err = Db::connect(&opts).await.unwrap_err();
        assert!(matches!(err, DbError::InvalidUrl(_)), "{url}: {err:?}");
        assert!(err.to_string().contains("DATABASE_URL"), "{err}");
    }
    assert!(!dir.path().join("data").exists(), "no database may be created for a bad URL");
}

#[tokio::test]
async fn sqlite_refuses_a_second_node_on_the_same_folder() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DbOptions::new(None, dir.path().join("data"));
    let first = Db::connect(&opts).await.unwrap();
    let err = Db::connect(&opts).await.unwrap_err();
    assert!(matches!(err, DbError::DataDirLocked(_)), "{err:?}");
    assert!(err.to_string().contains("只能运行一个节点"));
    first.close().await;
    drop(first);
    // Released with the handle.
    Db::connect(&opts).await.unwrap();
}
