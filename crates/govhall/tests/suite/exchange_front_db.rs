//! The front database (前置库) on SQLite and PostgreSQL. The department's system is simulated by
//! SQL written here, on its own connection to the front database (a SQLite file beside the
//! hall's, or a schema of its own on PostgreSQL): the hall writes the department's cases into
//! the documented tables once each, however often it visits, at once or after a visit cut off;
//! the rows the department puts in move the cases (once per idempotency key), malformed ones are
//! marked failed with the reason in Chinese and a stable code, on the log and on the managers'
//! page, where a corrected row is taken again.

use crate::common;

use common::{APPLICANT_ID, CaseHall, PASSWORD, TestApp};
use govhall_audit::Actor;
use govhall_db::sqlx::{self, Row as _};
use govhall_db::testing::TestDatabase;
use govhall_exchange::connect::FrontDbConnection;
use govhall_exchange::front_db::Synced;
use govhall_identity::rbac::Grantee;
use govhall_identity::{DepartmentId, Permission as P, Scope};
use reqwest::StatusCode;
use std::time::Duration;

const MANAGER_PHONE: &str = "13600000292";

/// The department's side of the front database: its own connection, its own SQL.
enum Department {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Department {
    async fn open(url: &str) -> Department {
        if url.starts_with("sqlite:") {
            Department::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        } else {
            Department::Postgres(sqlx::PgPool::connect(url).await.unwrap())
        }
    }

    async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Department::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
            Department::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Every row of `sql`, each column read as text (cast non-text columns in the SQL).
    async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Department::Sqlite(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| r.try_get::<Option<String>, _>(i).unwrap()).collect())
                .collect(),
            Department::Postgres(p) => sqlx::query(sql)
                .fetch_all(p)
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| r.try_get::<Option<String>, _>(i).unwrap()).collect())
                .collect(),
        }
    }

    async fn text(&self, sql: &str) -> String {
        self.rows(sql).await.first().and_then(|r| r[0].clone()).unwrap_or_default()
    }

    /// A result document for the event `key`.
    async fn put_file(&self, key: &str, name: &str, bytes: &[u8]) {
        let sql =
            "INSERT INTO govhall_incoming_files (event_key, file_name, is_result, content) VALUES ($1, $2, 1, $3)";
        match self {
            Department::Sqlite(p) => sqlx::query(sql).bind(key).bind(name).bind(bytes).execute(p).await.map(drop),
            Department::Postgres(p) => sqlx::query(sql).bind(key).bind(name).bind(bytes).execute(p).await.map(drop),
        }
        .unwrap();
    }
}

/// A place for the front database, on the backend the run targets.
async fn front_location() -> (TestDatabase, String) {
    let location = TestDatabase::new().await;
    let url = match &location.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(location.data_dir()).unwrap();
            format!("sqlite:{}", location.data_dir().join("front.db").display())
        }
    };
    (location, url)
}

async fn count(t: &TestApp, sql: &'static str) -> i64 {
    let mut conn = t.app.db().conn().await.unwrap();
    govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar(sql).fetch_one(&mut *c).await).unwrap()
}

/// Waits until `n` cases are queued (the `case.submitted` job queues them a moment after
/// submission).
async fn queued(t: &TestApp, n: i64) {
    for _ in 0..500 {
        if count(t, "SELECT COUNT(*) FROM exchange_outbox").await >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{n} cases never queued");
}

/// One visit (waiting its turn when the worker's own visit holds the department).
async fn visit(t: &TestApp, department: DepartmentId) -> Synced {
    for _ in 0..200 {
        let done = t.app.exchange().sync(department).await.unwrap();
        if !done.skipped {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the department stayed taken");
}

async fn connect(h: &CaseHall, department: DepartmentId, url: &str) {
    let c = FrontDbConnection {
        department,
        name: "不动产登记系统".into(),
        service_number: 41,
        url: url.into(),
        alert_minutes: 0,
    };
    let queued = h.t.app.exchange().connect_front_db(&Actor::system("test"), c).await.unwrap();
    assert_eq!(queued, 1, "the open case submitted before");
}

const EVENT: &str = "INSERT INTO govhall_incoming_events (idempotency_key, serial_number, action, note, handler,
    occurred_at, requested) VALUES";

#[tokio::test]
async fn a_front_database_receives_each_case_once_and_its_rows_move_them() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let (front_place, url) = front_location().await;
    let (_, first, first_password) = h.submit("d-before").await;
    connect(&h, department, &url).await;
    let dept = Department::open(&url).await;
    assert_eq!(dept.text("SELECT CAST(COUNT(*) AS TEXT) FROM govhall_outgoing_cases").await, "0", "tables made");

    // A visit cut off after writing a case before marking it: written again, not twice.
    let (_, second, _) = h.submit("d-second").await;
    let (_, third, _) = h.submit("d-third").await;
    queued(t, 3).await;
    dept.execute(&format!(
        "INSERT INTO govhall_outgoing_cases (serial_number, queue_seq, item_code, item_version, item_name, region_code,
            submitted_at, applicant_kind, applicant_name, applicant_number, applicant_phone, form, materials, step,
            step_name, moves, written_at)
         VALUES ('{second}', 2, 'x', 1, 'x', 'x', 'x', 'person', 'x', 'x', 'x', '{{}}', '[]', 'received', 'x', '[]', 'x')"
    ))
    .await;
    visit(t, department).await;
    let rows = dept
        .rows("SELECT serial_number, applicant_number, form, moves, submitted_at FROM govhall_outgoing_cases ORDER BY queue_seq")
        .await;
    let serials: Vec<String> = rows.iter().map(|r| r[0].clone().unwrap()).collect();
    assert_eq!(serials, [first.clone(), second.clone(), third.clone()], "oldest first, each once");
    assert_eq!(rows[0][1].as_deref(), Some(APPLICANT_ID));
    assert!(rows[0][2].as_deref().unwrap().contains("新办"), "{rows:?}");
    assert!(rows[0][3].as_deref().unwrap().contains("start_prereview"), "{rows:?}");
    assert!(rows[0][4].as_deref().unwrap().ends_with("+08:00"), "China time: {rows:?}");
    assert_eq!(count(t, "SELECT COUNT(*) FROM exchange_outbox WHERE acked_at IS NULL").await, 0);
    // Again, and at once from several tasks: nothing more is written or logged.
    let again = futures::future::join_all((0..3).map(|_| t.app.exchange().sync(department))).await;
    assert!(again.iter().all(|r| r.as_ref().unwrap().delivered == 0), "{again:?}");
    let (_, fourth, _) = h.submit("d-fourth").await;
    queued(t, 4).await;
    let together = futures::future::join_all((0..3).map(|_| t.app.exchange().sync(department))).await;
    let written: u64 = together.iter().map(|r| r.as_ref().unwrap().delivered).sum();
    assert!(written <= 1, "{together:?}");
    visit(t, department).await;
    assert_eq!(dept.text("SELECT CAST(COUNT(*) AS TEXT) FROM govhall_outgoing_cases").await, "4");
    let logged = count(t, "SELECT COUNT(*) FROM exchange_log WHERE kind = 'case' AND direction = 'out'").await;
    assert_eq!(logged, 4, "each case logged once");

    // The department's rows: good ones, a copy, and malformed ones.
    dept.execute(&format!(
        "{EVENT} ('r-1', '{first}', 'start_prereview', '', '王审批', '2026-12-07T09:30:00+08:00', NULL);
         {EVENT} ('r-1', '{first}', 'start_prereview', '', '王审批', '2026-12-07T09:30:00+08:00', NULL);
         {EVENT} ('r-2', '{second}', 'start_prereview', '', NULL, NULL, NULL);
         {EVENT} ('r-3', '{third}', 'grant', '', '王审批', NULL, NULL);
         {EVENT} ('r-4', '00000000000000000000', 'start_prereview', '', '王审批', NULL, NULL);
         {EVENT} ('r-5', '{fourth}', 'start_prereview', '', '王审批', '昨天下午', NULL);
         {EVENT} ('r-6', '{fourth}', 'start_prereview', '', '王审批', NULL, '身份证复印件');
         {EVENT} (NULL, '{fourth}', 'start_prereview', '', '王审批', NULL, NULL);
         {EVENT} ('r-11', '{fourth}', 'start_prereview', '{long}', '王审批', NULL, NULL);",
        long = "长".repeat(30_000)
    ))
    .await;
    let done = visit(t, department).await;
    assert_eq!((done.applied, done.failed), (2, 7), "{done:?}");
    let marks = dept
        .rows("SELECT CAST(id AS TEXT), status, error_code, error, step FROM govhall_incoming_events ORDER BY id")
        .await;
    let status = |i: usize| (marks[i][1].clone().unwrap(), marks[i][2].clone().unwrap_or_default());
    assert_eq!(status(0), ("done".into(), String::new()));
    assert_eq!(marks[0][4].as_deref(), Some("prereview"));
    assert_eq!(status(1), ("done".into(), String::new()), "the copy gets the first answer");
    assert_eq!(status(2), ("failed".into(), "invalid_input".into()));
    assert!(marks[2][3].as_deref().unwrap().contains("经办人"), "{marks:?}");
    assert_eq!(status(3), ("failed".into(), "illegal_transition".into()));
    assert_eq!(status(4), ("failed".into(), "case_not_found".into()));
    assert_eq!(status(5), ("failed".into(), "invalid_input".into()));
    assert!(marks[5][3].as_deref().unwrap().contains("RFC 3339"), "{marks:?}");
    assert!(marks[6][3].as_deref().unwrap().contains("JSON"), "{marks:?}");
    assert!(marks[7][3].as_deref().unwrap().contains("幂等键"), "{marks:?}");
    assert_eq!(status(8), ("failed".into(), "invalid_input".into()), "a column of 30,000 characters");
    assert!(marks[8][3].as_deref().unwrap().contains("超过 20000 个字符"));
    let id = t.app.cases().id_by_serial(&first).await.unwrap();
    let history = t.app.cases().history(id).await.unwrap();
    assert_eq!(history.len(), 2, "applied once: {history:?}");
    assert!(history[1].actor_name.contains("不动产登记系统") && history[1].actor_name.contains("王审批"));
    let refused = count(t, "SELECT COUNT(*) FROM exchange_log WHERE kind = 'event' AND outcome = 'refused'").await;
    assert_eq!(refused, 7, "every failed row is on the log");

    // The whole way to a grant with its result document, and delivery.
    for (key, action, note) in [("r-7", "accept", ""), ("r-8", "start_review", ""), ("r-9", "grant", "准予许可")] {
        dept.execute(&format!("{EVENT} ('{key}', '{first}', '{action}', '{note}', '王审批', NULL, NULL)")).await;
    }
    dept.put_file("r-9", "准予许可决定书.pdf", b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n").await;
    dept.execute(&format!("{EVENT} ('r-10', '{first}', 'deliver', '窗口领取', '王审批', NULL, NULL)")).await;
    let done = visit(t, department).await;
    assert_eq!((done.applied, done.failed), (4, 0), "{done:?}");
    let history = t.app.cases().history(id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["submit", "start_prereview", "accept", "start_review", "grant", "deliver"]);
    t.app.cases().progress(&first, &first_password, "127.0.0.1").await.unwrap();
    let results = count(t, "SELECT COUNT(*) FROM case_files WHERE kind = 'result'").await;
    assert_eq!(results, 1, "the decision's document");

    // The managers' page lists the failed rows; a corrected row is taken again.
    let manager = t.staff(MANAGER_PHONE, department).await;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let role = identity.save_role(&actor, "exchange_manager", "对接管理", &[P::ExchangeManage]).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(manager), Scope::Department).await.unwrap();
    let agent = t.sign_in(MANAGER_PHONE, PASSWORD).await;
    let html = agent.get("/admin/exchange").await.text().await.unwrap();
    assert!(html.contains("前置库") && html.contains("重新处理") && html.contains("r-5"), "{html}");
    let row = marks[2][0].clone().unwrap();
    dept.execute(&format!("UPDATE govhall_incoming_events SET handler = '李经办' WHERE id = {row}")).await;
    let retry = format!("/admin/exchange/front-db/{department}/rows/{row}/retry");
    let page = agent.get("/admin/exchange").await.text().await.unwrap();
    let res = agent.post(&retry, &[("csrf", &common::csrf_of(&page))]).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    visit(t, department).await;
    let again = dept.text(&format!("SELECT status FROM govhall_incoming_events WHERE id = {row}")).await;
    assert_eq!(again, "done");
    // A row that has not failed is not taken again; the applicant may not touch the page.
    let res = agent.post(&retry, &[("csrf", &common::csrf_of(&page))]).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let applicant = t.sign_in(common::APPLICANT_PHONE, PASSWORD).await;
    let page = applicant.get("/").await.text().await.unwrap();
    let res = applicant.post(&retry, &[("csrf", &common::csrf_of(&page))]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let key = t.app.identity().keys().checkpoint_key();
    assert!(govhall_audit::verify(t.app.db(), &key).await.unwrap().is_intact());
    front_place.cleanup().await;
}

#[tokio::test]
async fn a_front_database_that_cannot_be_reached_is_refused_or_reported() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let connection = |url: &str| FrontDbConnection {
        department,
        name: "不动产登记系统".into(),
        service_number: 42,
        url: url.into(),
        alert_minutes: 0,
    };
    let actor = Actor::system("test");
    let refused = t.app.exchange().connect_front_db(&actor, connection("mysql://x")).await.unwrap_err();
    assert_eq!(govhall_core::Coded::code(&refused), "invalid_input");
    let refused =
        t.app.exchange().connect_front_db(&actor, connection("postgres://nobody@127.0.0.1:1/none")).await.unwrap_err();
    assert!(govhall_core::Coded::message(&refused).contains("前置库无法连接"), "{refused}");
    assert!(t.app.exchange().all_states().await.unwrap().is_empty(), "nothing connected");

    // Connected, then its tables taken away: the visit fails, says why, and loses no case; the
    // next visit opens the database afresh, makes the tables again and writes the case.
    let (front_place, url) = front_location().await;
    h.submit("u-1").await;
    t.app.exchange().connect_front_db(&actor, connection(&url)).await.unwrap();
    assert_eq!(visit(t, department).await.delivered, 1);
    let dept = Department::open(&url).await;
    dept.execute("DROP TABLE govhall_outgoing_cases").await;
    h.submit("u-2").await;
    queued(t, 2).await;
    let failed = t.app.exchange().sync(department).await;
    assert!(failed.is_err(), "{failed:?}");
    let state = t.app.exchange().all_states().await.unwrap().remove(0);
    assert!(state.last_sync_error.is_some_and(|e| e.contains("前置库")));
    assert_eq!(state.backlog, 1, "the case still waits");
    assert_eq!(visit(t, department).await.delivered, 1);
    let state = t.app.exchange().all_states().await.unwrap().remove(0);
    assert_eq!((state.backlog, state.last_sync_error), (0, None));
    front_place.cleanup().await;
}

/// The managers' page with a front database's failed row, in Chromium at 1366 and 390 px with
/// axe-core; 重新处理 pressed there.
#[tokio::test]
async fn the_front_database_section_in_chromium() {
    if std::env::var("SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        return;
    }
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let (front_place, url) = front_location().await;
    let (_, serial, _) = h.submit("c-1").await;
    connect(&h, department, &url).await;
    let dept = Department::open(&url).await;
    dept.execute(&format!("{EVENT} ('c-e1', '{serial}', 'start_prereview', '', NULL, NULL, NULL)")).await;
    visit(t, department).await;
    let manager = t.staff(MANAGER_PHONE, department).await;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let role = identity.save_role(&actor, "exchange_manager", "对接管理", &[P::ExchangeManage]).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(manager), Scope::Department).await.unwrap();

    let browser = common::browser::Browser::start().await;
    browser.resize(1366, 768).await;
    browser.goto(&t.url("/login")).await;
    browser.type_into("#login", MANAGER_PHONE).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("form[action='/login'] button[type='submit']").await;
    browser.wait_title("我的账号 - 网上政务服务大厅").await;
    browser.goto(&t.url("/admin/exchange")).await;
    browser.wait_source("c-e1").await;
    let violations = common::browser::look(&browser, "exchange-front-db").await;
    assert!(violations.is_empty(), "axe-core: {violations:#?}");
    dept.execute("UPDATE govhall_incoming_events SET handler = '王审批'").await;
    browser.click("form[action$='/retry'] button[type='submit']").await;
    browser.wait_source("没有处理失败的记录").await;
    browser.quit().await;
    visit(t, department).await;
    assert_eq!(dept.text("SELECT status FROM govhall_incoming_events").await, "done");
    front_place.cleanup().await;
}

/// A case applied for online with files: its materials' files are written beside it, whole.
#[tokio::test]
async fn the_materials_files_are_written_with_their_case() {
    use common::applying::{ApplyHall, pdf};
    use common::space::Api;
    let a = ApplyHall::new().await;
    let t = a.t();
    let material = govhall_catalog::model::Material {
        name: "申请书".into(),
        required: true,
        formats: "pdf".into(),
        ..govhall_catalog::model::Material::default()
    };
    let code = a.other_item(vec![material]).await;
    let guide = govhall_catalog::store::guide(t.app.db(), &code).await.unwrap().unwrap();
    let department = DepartmentId::from_uuid(guide.item.department_id);
    let (front_place, url) = front_location().await;
    let c = FrontDbConnection {
        department,
        name: "材料系统".into(),
        service_number: 43,
        url: url.clone(),
        alert_minutes: 0,
    };
    t.app.exchange().connect_front_db(&Actor::system("test"), c).await.unwrap();
    let me = Api { t, bearer: t.bearer(common::APPLICANT_PHONE).await };
    let draft = me.draft(&code, None).await;
    let bytes = pdf(3000);
    me.upload(&draft, 0, "申请书.pdf", bytes.clone()).await;
    let done = me.submit(&draft).await;
    let serial = done["serial_number"].as_str().unwrap().to_owned();
    queued(t, 1).await;
    visit(t, department).await;
    let dept = Department::open(&url).await;
    let rows = dept
        .rows("SELECT serial_number, material, file_name, sha256, CAST(size AS TEXT) FROM govhall_outgoing_files")
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    assert_eq!(rows[0][0].as_deref(), Some(serial.as_str()));
    assert_eq!((rows[0][1].as_deref(), rows[0][3].as_deref()), (Some("申请书"), Some(sha.as_str())));
    assert_eq!(rows[0][4].as_deref(), Some(bytes.len().to_string().as_str()));
    let length = dept.text("SELECT CAST(LENGTH(content) AS TEXT) FROM govhall_outgoing_files").await;
    assert_eq!(length, bytes.len().to_string(), "the whole file");
    front_place.cleanup().await;
}

/// Three `govhall serve` nodes on one PostgreSQL beside this one, each visiting the front
/// databases every five seconds while this node visits too: each case is written, and logged,
/// once.
#[tokio::test]
async fn nodes_visiting_at_once_write_each_case_once() {
    if std::env::var(govhall_db::testing::TEST_DATABASE_URL).is_err() {
        return; // One node only on SQLite.
    }
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let (front_place, url) = front_location().await;
    let database_url = t.db.database_url.clone().unwrap();
    let (_dirs, mut nodes) = common::process::postgres_nodes_with(
        3,
        &database_url,
        &[("GOVHALL_EXCHANGE__FRONT_DB_INTERVAL_SECS", "5"), ("GOVHALL_EXCHANGE__MAX_PAGE", "7")],
    );
    h.submit("m-0").await;
    connect(&h, department, &url).await;
    let dept = Department::open(&url).await;
    let written = || dept.text("SELECT CAST(COUNT(*) AS TEXT) FROM govhall_outgoing_cases");
    let waiting = || count(t, "SELECT COUNT(*) FROM exchange_outbox WHERE acked_at IS NULL");

    // The other nodes alone (this one's own visits come every 30 s).
    for n in 1..60 {
        h.submit(&format!("m-{n}")).await;
    }
    queued(t, 60).await;
    for _ in 0..400 {
        if written().await == "60" && waiting().await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(written().await, "60", "written by the other nodes' visits");

    // Then this node too, two visits at a time, while they go on.
    for n in 60..120 {
        h.submit(&format!("m-{n}")).await;
    }
    queued(t, 120).await;
    for _ in 0..400 {
        futures::future::join_all((0..2).map(|_| t.app.exchange().sync(department))).await;
        if written().await == "120" && waiting().await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(written().await, "120");
    let logged = count(t, "SELECT COUNT(*) FROM exchange_log WHERE kind = 'case' AND direction = 'out'").await;
    assert_eq!(logged, 120, "each case written once");
    assert_eq!(count(t, "SELECT COUNT(*) FROM exchange_outbox WHERE deliveries > 1").await, 0);
    for (child, _) in &mut nodes {
        assert!(common::process::terminate(child).success());
    }
    front_place.cleanup().await;
}
