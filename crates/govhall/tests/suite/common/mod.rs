//! Starting the real application for a test, on the backend the test run targets.

#![allow(dead_code, reason = "each test file uses a part of these helpers")]

pub mod applying;
pub mod browser;
pub mod licensing;
pub mod paying;
pub mod process;
pub mod rating;
pub mod space;

use govhall::{App, Settings};
use govhall_db::testing::TestDatabase;

/// A running app on a fresh database, and a client for it.
pub struct TestApp {
    pub app: App,
    pub db: TestDatabase,
    pub client: reqwest::Client,
}

impl TestApp {
    /// Starts the app on port 0 with a fresh database.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with settings changed by `change`.
    pub async fn spawn_with(change: impl FnOnce(&mut Settings)) -> TestApp {
        let db = TestDatabase::new().await;
        let mut settings = settings(&db);
        change(&mut settings);
        let app = App::build(settings).await.expect("app starts");
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        TestApp { app, db, client }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.url())
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    /// Waits until this node's search index holds `items` published items (the index follows
    /// the change feed, a moment behind the database).
    pub async fn until_indexed(&self, items: u64) {
        for _ in 0..400 {
            let body: serde_json::Value =
                self.get("/api/v1/search?q=").await.json().await.expect("search answers JSON");
            if body["total"].as_u64() == Some(items) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the search index did not reach {items} items within 20 s");
    }

    /// An `Authorization` value for the API, signed in as `login` with the test password.
    pub async fn bearer(&self, login: &str) -> String {
        let body = serde_json::json!({"login": login, "password": PASSWORD});
        let res = self.client.post(self.url("/api/v1/sessions")).json(&body).send().await.expect("request sent");
        let answer: serde_json::Value = res.json().await.expect("a session");
        format!("Bearer {}", answer["token"].as_str().expect("a token"))
    }

    pub async fn stop(self) {
        self.app.stop().await.expect("stops cleanly");
        self.db.cleanup().await;
    }
}

/// Settings for a test node: port 0, the test database, quick polling.
pub fn settings(db: &TestDatabase) -> Settings {
    let mut settings = Settings {
        bind: "127.0.0.1:0".to_owned(),
        data_dir: db.data_dir(),
        database_url: db.database_url.clone().map(govhall::config::DatabaseUrl::new),
        ..Settings::default()
    };
    settings.jobs.poll_interval_ms = 50;
    settings.identity.master_key = govhall_core::Secret::new(MASTER_KEY);
    // Tests that need the catalogue import it (or a part) themselves.
    settings.catalog.import_on_start = false;
    // Messages go out whatever the hour the tests run at (quiet hours, 22–8 China time, are the
    // message center's own tests' business).
    settings.messaging.quiet_hours_start = 0;
    settings.messaging.quiet_hours_end = 0;
    // Each node its own index, in memory; counts written at once.
    settings.search.index_dir = ":memory:".to_owned();
    settings.search.flush_seconds = 1;
    // Two weeks ahead: never a window that is all holidays, whenever the tests run.
    settings.booking.latest_days = 14;
    settings
}

/// A request for a code as a test's many people make them: each from an address of its own,
/// with the answer to a challenge in case the hall's rates ask for one.
pub fn code_request(phone: &str, identity: &govhall_identity::Identity) -> govhall_identity::codes::CodeRequest {
    let n: u32 = phone.chars().rev().take(6).collect::<String>().parse().unwrap_or(0);
    govhall_identity::codes::CodeRequest {
        client_ip: format!("198.18.{}.{}", (n / 256) % 256, n % 256),
        proof: Some(govhall_identity::codes::solve(&identity.challenge())),
    }
}

/// The test master key (tests on PostgreSQL need one configured).
pub const MASTER_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// A password every test account uses.
pub const PASSWORD: &str = "Test-pass-123";

/// A signed-in browser: its session cookie and the CSRF token of its pages.
#[derive(Clone)]
pub struct Agent {
    pub cookie: String,
    pub csrf: String,
    pub base: String,
    pub client: reqwest::Client,
}

impl Agent {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.unwrap()
    }

    /// Posts a form as a page of the site would: same origin, with the CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", &self.csrf));
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("origin", &self.base)
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

/// The CSRF token in a page's forms.
pub fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

/// The value of a cookie set by a response.
pub fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

impl TestApp {
    /// Signs in through the login form and returns the signed-in agent.
    pub async fn sign_in(&self, login: &str, password: &str) -> Agent {
        let page = self.get("/login").await;
        let visitor = set_cookie(&page, "govhall_visitor").unwrap();
        let csrf = csrf_of(&page.text().await.unwrap());
        let res = self
            .client
            .post(self.url("/login"))
            .header("cookie", &visitor)
            .header("origin", self.app.url())
            .form(&[("login", login), ("password", password), ("csrf", &csrf), ("next", "/account")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER, "signed in as {login}");
        let cookie = set_cookie(&res, "govhall_session").expect("a session cookie");
        let mut agent = Agent { cookie, csrf: String::new(), base: self.app.url(), client: self.client.clone() };
        agent.csrf = csrf_of(&agent.get("/account").await.text().await.unwrap());
        agent
    }

    /// Creates an administrator with `role` and signs in as them.
    pub async fn admin(&self, role: govhall_identity::AdminRole, phone: &str) -> Agent {
        let actor = govhall_audit::Actor::system("test");
        self.app.identity().create_admin(&actor, role, phone, "测试管理员", PASSWORD).await.unwrap();
        self.sign_in(phone, PASSWORD).await
    }
}

impl TestApp {
    /// The six-digit code in the `nth` SMS (from 1) the sandbox sent to `phone`, waiting for the
    /// worker to send it.
    pub async fn sms_code(&self, phone: &str, nth: usize) -> String {
        let outbox = self.app.messaging().sandbox_outbox().expect("the SMS sandbox in tests");
        for _ in 0..1000 {
            if let Some(sms) = outbox.sent_to(phone).get(nth - 1) {
                let digits: Vec<char> = sms.body.chars().collect();
                if let Some(code) = digits.windows(6).find(|w| w.iter().all(char::is_ascii_digit)) {
                    return code.iter().collect();
                }
                panic!("no code in {:?}", sms.body);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no SMS number {nth} to {phone}");
    }
}

impl TestApp {
    /// Registers a person (code issued and read back from the SMS sandbox); returns their id.
    pub async fn person(&self, phone: &str, id_number: &str) -> govhall_identity::AccountId {
        let identity = self.app.identity();
        identity.send_registration_code(phone, &code_request(phone, identity)).await.unwrap();
        let code = self.sms_code(phone, 1).await;
        let form = govhall_identity::accounts::Registration {
            phone: phone.into(),
            code,
            password: PASSWORD.into(),
            real_name: "张三".into(),
            id_number: id_number.into(),
        };
        identity.register_person(&form, "127.0.0.1").await.unwrap()
    }

    /// Creates a department in a region.
    pub async fn department(
        &self,
        name: &str,
        region: &str,
        parent: Option<govhall_identity::DepartmentId>,
    ) -> govhall_identity::DepartmentId {
        let actor = govhall_audit::Actor::system("test");
        govhall_identity::departments::create(self.app.db(), &actor, name, region, parent).await.unwrap()
    }

    /// Creates a staff member in a department.
    pub async fn staff(&self, phone: &str, department: govhall_identity::DepartmentId) -> govhall_identity::AccountId {
        let new = govhall_identity::accounts::NewStaff {
            phone: phone.into(),
            real_name: "李四".into(),
            id_number: String::new(),
            department,
        };
        let system = govhall_audit::Actor::system("test");
        let id = self.app.identity().create_staff(&system, &new).await.unwrap();
        // The owner's activation, as an operator would set it from the command line.
        self.app.identity().set_password(&system, phone, PASSWORD).await.unwrap();
        id
    }
}

/// A hall ready for cases: a few items, an applicant, case workers in the item's department and
/// in another one, and a supervisor over the item's department.
pub struct CaseHall {
    pub t: TestApp,
    /// An item that takes online applications with a limit in working days.
    pub item: govhall_catalog::store::Guide,
    pub applicant: govhall_identity::AccountId,
    /// Handles cases of the item's department (view, review, decide, personal data).
    pub worker: govhall_identity::AccountId,
    /// The same rights in another department.
    pub stranger: govhall_identity::AccountId,
    /// `case.supervise` and `case.assign` over the item's department.
    pub supervisor: govhall_identity::AccountId,
}

pub const APPLICANT_PHONE: &str = "13800000101";
pub const APPLICANT_ID: &str = "370102199003071238";
pub const WORKER_PHONE: &str = "13600000201";
pub const STRANGER_PHONE: &str = "13600000202";
pub const SUPERVISOR_PHONE: &str = "13600000203";

impl CaseHall {
    pub async fn new() -> CaseHall {
        Self::with_settings(|_| {}).await
    }

    /// The hall on a node whose settings `change` changes.
    pub async fn with_settings(change: impl FnOnce(&mut Settings)) -> CaseHall {
        use govhall_catalog::model::LimitUnit;
        use govhall_identity::rbac::Grantee;
        use govhall_identity::{DepartmentId, Permission as P, Scope};
        let t = TestApp::spawn_with(change).await;
        let text: String = govhall_catalog::import::GD_BUNDLED.lines().take(80).collect::<Vec<_>>().join("\n");
        govhall_catalog::import::import_gd(t.app.db(), &text, |_, _| {}).await.unwrap();
        let filter = govhall_catalog::store::ItemFilter::default();
        let (_, all) = govhall_catalog::store::list(t.app.db(), &filter, 100, 0).await.unwrap();
        let mut item = None;
        for summary in &all {
            let guide = govhall_catalog::store::guide(t.app.db(), &summary.code).await.unwrap().unwrap();
            if guide.content.online_apply && guide.content.promised_limit.unit == LimitUnit::WorkingDays {
                item = Some(guide);
                break;
            }
        }
        let mut item = item.expect("an online item with a limit in working days among the first 80");
        // Versions the tests publish from this copy courier nothing unless a test says so: an
        // item that does adds 结果送达方式 to its form (logistics.rs, browser_logistics.rs).
        item.content.courier = false;
        let other = all.iter().find(|i| i.department_id != item.item.department_id).unwrap();
        let applicant = t.person(APPLICANT_PHONE, APPLICANT_ID).await;
        let department = DepartmentId::from_uuid(item.item.department_id);
        let worker = t.staff(WORKER_PHONE, department).await;
        let stranger = t.staff(STRANGER_PHONE, DepartmentId::from_uuid(other.department_id)).await;
        let supervisor = t.staff(SUPERVISOR_PHONE, department).await;
        let identity = t.app.identity();
        let actor = govhall_audit::Actor::system("test");
        let rights = [P::CaseView, P::CaseReview, P::CaseDecide, P::CaseViewPersonalData];
        let handler = identity.save_role(&actor, "case_handler", "办件审查", &rights).await.unwrap();
        let watch = [P::CaseView, P::CaseSupervise, P::CaseAssign, P::WorkflowManage];
        let watcher = identity.save_role(&actor, "case_supervisor", "电子监察", &watch).await.unwrap();
        for who in [worker, stranger] {
            identity.grant(&actor, handler, Grantee::Account(who), Scope::Department).await.unwrap();
        }
        identity.grant(&actor, watcher, Grantee::Account(supervisor), Scope::Department).await.unwrap();
        CaseHall { t, item, applicant, worker, stranger, supervisor }
    }

    /// Submits a case for the applicant; returns (case id, serial, query password).
    pub async fn submit(&self, key: &str) -> (govhall_cases::CaseId, String, String) {
        let s = govhall_cases::submit::Submission {
            item_code: self.item.item.code.clone(),
            applicant: self.applicant,
            enterprise: None,
            form: serde_json::json!({"申请事由": "新办", "联系地址": "济南市历下区"}),
            materials: vec![govhall_cases::model::SubmittedMaterial {
                name: "申请书".into(),
                files: vec!["申请书.pdf".into()],
            }],
            idempotency_key: key.into(),
        };
        let done = self.t.app.cases().submit(s).await.unwrap();
        (done.case_id, done.serial_number, done.query_password.unwrap())
    }

    pub async fn access(&self, who: govhall_identity::AccountId) -> govhall_identity::Access {
        self.t.app.identity().access(who).await.unwrap()
    }
}

/// A valid resident ID number (GB 11643 check digit) for test person `n`.
pub fn test_id_number(n: u32) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Duration::days(i64::from(n / 1000));
    let body = format!("440106{}{:03}", birth.format("%Y%m%d"), n % 1000);
    let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.bytes().zip(weights).map(|(b, w)| u32::from(b - b'0') * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

impl TestApp {
    /// A person account written straight into the database (an SMS round trip and a password
    /// hash each would only slow a test that needs hundreds): encrypted and hashed as identity
    /// keeps them; it cannot sign in.
    pub async fn insert_person(&self, n: u32) -> govhall_identity::AccountId {
        let keys = self.app.identity().keys();
        let phone = format!("139{n:08}");
        let id_number = test_id_number(n);
        let id = uuid::Uuid::now_v7();
        let mut conn = self.app.db().conn().await.unwrap();
        govhall_db::exec!(
            conn,
            govhall_db::sqlx::query(
                "INSERT INTO accounts (id, kind, real_name, phone_enc, phone_hash, id_number_enc, id_number_hash,
                                       password_hash, created_at) VALUES ($1, 'person', '王五', $2, $3, $4, $5, 'x', $6)"
            )
            .bind(id)
            .bind(keys.encrypt(&phone))
            .bind(keys.lookup_hash("phone", &phone))
            .bind(keys.encrypt(&id_number))
            .bind(keys.lookup_hash("id_number", &id_number))
            .bind(chrono::Utc::now())
        )
        .unwrap();
        govhall_identity::AccountId::from_uuid(id)
    }
}

/// A service hall in Guangzhou with one service for `items` of the first catalogue items,
/// set up by a manager holding `booking.manage` and `booking.checkin` over Guangdong.
pub struct BookingHall {
    pub access: govhall_identity::Access,
    pub actor: govhall_audit::Actor,
    pub hall: govhall_booking::HallId,
    pub service: govhall_booking::ServiceId,
    pub items: Vec<String>,
}

/// A slot rule on weekdays from 2020, `start`–`end` o'clock in slots of `minutes` with
/// `capacity` places.
pub fn weekday_rule(start: u32, end: u32, minutes: u32, capacity: u32) -> govhall_booking::setup::Rule {
    use chrono::Weekday::{Fri, Mon, Thu, Tue, Wed};
    govhall_booking::setup::Rule {
        weekdays: vec![Mon, Tue, Wed, Thu, Fri],
        start: chrono::NaiveTime::from_hms_opt(start, 0, 0).unwrap(),
        end: chrono::NaiveTime::from_hms_opt(end, 0, 0).unwrap(),
        slot_minutes: minutes,
        capacity,
        valid_from: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
        valid_until: None,
        exclusions: vec![],
    }
}

impl TestApp {
    /// Imports the first `items` catalogue items and sets up a hall whose one service serves
    /// them, with `rule`.
    pub async fn booking_hall(&self, items: usize, rule: &govhall_booking::setup::Rule) -> BookingHall {
        use govhall_identity::{Permission as P, Scope, rbac::Grantee};
        let text: String = govhall_catalog::import::GD_BUNDLED.lines().take(items).collect::<Vec<_>>().join("\n");
        govhall_catalog::import::import_gd(self.app.db(), &text, |_, _| {}).await.unwrap();
        let filter = govhall_catalog::store::ItemFilter::default();
        let (_, found) = govhall_catalog::store::list(self.app.db(), &filter, 100, 0).await.unwrap();
        let items: Vec<String> = found.into_iter().map(|i| i.code).collect();
        let department = self.department("广东省政务服务数据管理局", "440000", None).await;
        let manager = self.staff("13600000301", department).await;
        let identity = self.app.identity();
        let system = govhall_audit::Actor::system("test");
        let rights = [P::BookingManage, P::BookingCheckin];
        let role = identity.save_role(&system, "hall_manager", "大厅管理", &rights).await.unwrap();
        identity.grant(&system, role, Grantee::Account(manager), Scope::Region).await.unwrap();
        let access = identity.access(manager).await.unwrap();
        let actor =
            govhall_audit::Actor { id: Some(manager), label: "工作人员:李四".into(), client_ip: String::new() };
        let booking = self.app.booking();
        let new = govhall_booking::setup::NewHall {
            region_code: "440100".into(),
            name: "广州市政务服务中心".into(),
            address: "广州市天河区天府路1号".into(),
            opening_hours: "工作日 9:00-12:00，13:30-17:00".into(),
            phone: "020-12345".into(),
        };
        let hall = booking.create_hall(&access, &actor, &new).await.unwrap();
        let service =
            booking.create_service(&access, &actor, hall.id, "综合窗口", &items, &["1号窗口".into()]).await.unwrap();
        booking.add_rule(&access, &actor, service.id, rule).await.unwrap();
        BookingHall { access, actor, hall: hall.id, service: service.id, items }
    }
}

/// The text of a PDF (poppler's pdftotext), or `None` where it is not installed.
pub fn pdftotext(bytes: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext").arg(&path).arg("-").output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}
