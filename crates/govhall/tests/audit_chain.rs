//! The audit log refuses edits in the database, and `verify` names the first entry that was
//! edited, removed or moved once someone removes that protection.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers unwrap: a failure there is the test failing"
)]

mod common;

use common::TestApp;
use govhall_db::{exec, sqlx};
use govhall_identity::audit::{self, Actor};

async fn drop_guards(t: &TestApp) {
    let mut tx = t.app.db().begin().await.unwrap();
    if tx.backend() == govhall_db::Backend::Postgres {
        exec!(tx, sqlx::query("DROP TRIGGER audit_log_append_only ON audit_log")).unwrap();
    } else {
        exec!(tx, sqlx::query("DROP TRIGGER audit_log_no_update")).unwrap();
        exec!(tx, sqlx::query("DROP TRIGGER audit_log_no_delete")).unwrap();
    }
    tx.commit().await.unwrap();
}

async fn sql(t: &TestApp, statement: &'static str) -> Result<u64, govhall_db::DbError> {
    let mut tx = t.app.db().begin().await?;
    let n = exec!(tx, sqlx::query(statement))?;
    tx.commit().await?;
    Ok(n)
}

#[tokio::test]
async fn the_audit_log_refuses_edits_and_verify_names_the_first_tampered_entry() {
    for tamper in ["edit", "delete", "reorder"] {
        let t = TestApp::spawn().await;
        for i in 0..6 {
            audit::record_alone(t.app.db(), &Actor::system("test"), audit::Event::success("test.action", "thing", i))
                .await
                .unwrap();
        }
        let clean = audit::verify(t.app.db()).await.unwrap();
        assert_eq!((clean.checked, clean.first_problem), (6, None));
        assert!(
            sql(&t, "UPDATE audit_log SET detail = 'x' WHERE seq = 3").await.is_err(),
            "the database refuses edits"
        );
        assert!(sql(&t, "DELETE FROM audit_log WHERE seq = 3").await.is_err(), "and deletions");
        drop_guards(&t).await;
        let expected = match tamper {
            "edit" => {
                sql(&t, "UPDATE audit_log SET actor_label = 'someone else' WHERE seq = 3").await.unwrap();
                (3, "内容被修改")
            }
            "delete" => {
                sql(&t, "DELETE FROM audit_log WHERE seq = 3").await.unwrap();
                (3, "缺失")
            }
            _ => {
                // Swap the contents of entries 3 and 4, hashes and all: each is intact alone.
                sql(&t, "UPDATE audit_log SET seq = -3 WHERE seq = 3").await.unwrap();
                sql(&t, "UPDATE audit_log SET seq = 3 WHERE seq = 4").await.unwrap();
                sql(&t, "UPDATE audit_log SET seq = 4 WHERE seq = -3").await.unwrap();
                (3, "内容被修改")
            }
        };
        let report = audit::verify(t.app.db()).await.unwrap();
        let (seq, what) = report.first_problem.expect("tampering found");
        assert_eq!(seq, expected.0, "{tamper}: {what}");
        assert!(what.contains(expected.1), "{tamper}: {what}");
        assert_eq!(report.checked, 2);
        t.stop().await;
    }
}
