//! Cases made in bulk for benchmarks: copies of a real case, made by the database.

#![allow(dead_code, reason = "each benchmark uses a part")]

use govhall_db::{Backend, exec, run, sqlx, sqlx::AssertSqlSafe};

/// Copies case `template` `n` times (with serial numbers of their own, the enterprise and the
/// applicant given, or `applicant` instead), one in `open_every` left open (none without), the rest granted and closed
/// when they were submitted: the bulk of a benchmark's data, made in the database.
pub async fn clone_cases(
    db: &govhall_db::Db,
    template: uuid::Uuid,
    tag: &str,
    n: i64,
    open_every: Option<i64>,
    applicant: Option<uuid::Uuid>,
) {
    let pg = db.backend() == Backend::Postgres;
    let series = if pg {
        format!("generate_series(1, {n}) AS g(i)")
    } else {
        format!("(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s) AS g")
    };
    let new_id = if pg { "gen_random_uuid()" } else { "randomblob(16)" };
    let mut conn = db.conn().await.unwrap();
    let serials = format!(
        "INSERT INTO serial_numbers (number, region, service, nature, sequence, issuer, idempotency_key, issued_at)
         SELECT s.number || '-{tag}' || g.i, s.region, s.service, s.nature, s.sequence, 'bench', NULL, s.issued_at
         FROM serial_numbers s, {series} WHERE s.number = (SELECT serial_number FROM cases WHERE id = $1)"
    );
    exec!(conn, sqlx::query(AssertSqlSafe(serials.clone())).bind(template)).unwrap();
    let columns: Vec<String> = if pg {
        run!(conn, |c| sqlx::query_scalar(
            "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'cases' AND table_schema = current_schema() ORDER BY ordinal_position"
        )
        .fetch_all(&mut *c)
        .await)
        .unwrap()
    } else {
        run!(conn, |c| sqlx::query_scalar("SELECT name FROM pragma_table_info('cases') ORDER BY cid")
            .fetch_all(&mut *c)
            .await)
        .unwrap()
    };
    let open = match open_every {
        Some(every) => format!("(g.i % {every} = 0)"),
        None => "(1 = 0)".to_owned(),
    };
    let values: Vec<String> = columns
        .iter()
        .map(|col| match col.as_str() {
            "id" => new_id.to_owned(),
            "applicant_id" if applicant.is_some() => "$2".to_owned(),
            "serial_number" => format!("c.serial_number || '-{tag}' || g.i"),
            "is_open" => open.clone(),
            "outcome" => format!("CASE WHEN {open} THEN NULL ELSE 'granted' END"),
            "step" => format!("CASE WHEN {open} THEN c.step ELSE 'done' END"),
            "decided_at" | "closed_at" => format!("CASE WHEN {open} THEN NULL ELSE c.submitted_at END"),
            other => format!("c.{other}"),
        })
        .collect();
    let sql = format!(
        "INSERT INTO cases ({}) SELECT {} FROM cases c, {series} WHERE c.id = $1",
        columns.join(", "),
        values.join(", ")
    );
    match applicant {
        Some(a) => exec!(conn, sqlx::query(AssertSqlSafe(sql.clone())).bind(template).bind(a)).unwrap(),
        None => exec!(conn, sqlx::query(AssertSqlSafe(sql.clone())).bind(template)).unwrap(),
    };
}
