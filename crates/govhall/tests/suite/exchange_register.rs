//! Cases a department's system started at its own counter, registered with the hall over real
//! HTTP (SQLite and PostgreSQL): the hall issues the number (or takes the one the serial number
//! service gave that system), answers the query password once, tells the applicant, lets them
//! follow the case, and puts it in their 我的办件 once they have an account with the same ID
//! number; the case is moved by the system's steps and never handed back to it. Another
//! department's item, numbers not issued to the system and bad applicants are refused with
//! their codes, and logged.

use crate::common;
use crate::exchange::{System, connect, count, serials};

use common::{APPLICANT_ID, CaseHall, test_id_number};
use govhall_audit::Actor;
use govhall_cases::Channel;
use govhall_core::SerialPrefix;
use govhall_identity::DepartmentId;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn started(key: &str, item: &str, number: &str) -> Value {
    json!({
        "idempotency_key": key,
        "item_code": item,
        "applicant": {"kind": "person", "name": "赵六", "number": number, "phone": "13800000616"},
        "form": {"申请事由": "新办"},
        "materials": [{"name": "身份证", "files": ["纸质原件"]}],
        "handler": "窗口刘",
    })
}

async fn register(system: &System<'_>, body: Value) -> (StatusCode, Value) {
    system.send(Method::POST, "/api/v1/exchange/cases", Some(body)).await
}

#[tokio::test]
async fn a_department_registers_the_cases_its_counter_took_in() {
    let h = CaseHall::new().await;
    let t = &h.t;
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let system = connect(&h, department, "省厅审批系统", 37, "").await;
    let code = h.item.item.code.clone();
    let walk_in = test_id_number(616);

    // The hall issues the number under the system's service number; the password once.
    let (status, first) = register(&system, started("k-1", &code, &walk_in)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let serial = first["serial_number"].as_str().unwrap().to_owned();
    let password = first["query_password"].as_str().unwrap().to_owned();
    assert_eq!(govhall_core::SerialNumber::parse(&serial).unwrap().prefix().service, 37);
    assert_eq!(first["step"], "received");
    let (status, again) = register(&system, started("k-1", &code, &walk_in)).await;
    assert_eq!((status, again["serial_number"].as_str()), (StatusCode::OK, Some(serial.as_str())));
    assert_eq!(again["query_password"], Value::Null, "the password only once");

    // The applicant follows it; it is a department case, not handed back to its system.
    let id = t.app.cases().id_by_serial(&serial).await.unwrap();
    let timeline = t.app.cases().progress(&serial, &password, "127.0.0.1").await.unwrap();
    assert_eq!(timeline.entries.len(), 1);
    let access = govhall_exchange::caller::department_access(department);
    let case = t.app.cases().get(&access, id).await.unwrap();
    assert_eq!((case.channel, case.applicant_id), (Channel::Department, None));
    assert!(!serials(&system.pull("").await).contains(&serial));
    let (status, body) = system.event("k-e1", &serial, "start_prereview", "").await;
    assert_eq!((status, body["step"].as_str()), (StatusCode::OK, Some("prereview")), "{body}");
    let sql = format!("SELECT COUNT(*) FROM messages WHERE channel = 'sms' AND body LIKE '%{serial}%'");
    let told = count(t, Box::leak(sql.into_boxed_str())).await;
    assert_eq!(told, 2, "registered and moved, told by SMS");

    // They sign up with the same ID number: the case is in their 我的办件.
    let account = t.person("13800000617", &walk_in).await;
    let mine = t.app.cases().mine(account, 20, 0).await.unwrap();
    assert_eq!(mine.iter().map(|c| c.serial_number.as_str()).collect::<Vec<_>>(), [serial.as_str()]);
    let joined = count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'case.join_account'").await;
    assert_eq!(joined, 1);

    // A person with an account has it there at once; a number the service gave the system.
    let prefix = SerialPrefix::new(&h.item.item.region_code, 37, 11).unwrap();
    let issued = govhall_cases::serials::issue(t.app.db(), &Actor::system("test"), prefix, "省厅审批系统", Some("n-1"))
        .await
        .unwrap();
    let mut body = started("k-2", &code, APPLICANT_ID);
    body["serial_number"] = json!(issued.to_string());
    let (status, own) = register(&system, body).await;
    assert_eq!((status, own["serial_number"].as_str()), (StatusCode::OK, Some(issued.to_string().as_str())), "{own}");
    let mine = t.app.cases().mine(h.applicant, 50, 0).await.unwrap();
    assert!(mine.iter().any(|c| c.serial_number == issued.to_string()));

    // Refused, with their codes: a number issued to someone else, another department's item,
    // an unknown item, a wrong ID number, phone or kind, an empty handler.
    let (_, online, _) = h.submit("k-online").await;
    let mut body = started("k-3", &code, &walk_in);
    body["serial_number"] = json!(online);
    let (status, refused) = register(&system, body).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::BAD_REQUEST, Some("serial_not_issued")));
    let stranger_department = t.app.identity().account(h.stranger).await.unwrap().department_id.unwrap();
    let other = connect(&h, stranger_department, "另一部门系统", 38, "").await;
    let (status, refused) = register(&other, started("o-1", &code, &walk_in)).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("item_unavailable")));
    let (_, refused) = register(&system, started("k-4", "NO-SUCH-ITEM", &walk_in)).await;
    assert_eq!(refused["code"], "item_unavailable");
    let (_, refused) = register(&system, started("k-5", &code, "110101199001011230")).await;
    assert_eq!(refused["code"], "invalid_resident_id", "{refused}");
    let mut body = started("k-6", &code, &walk_in);
    body["applicant"]["phone"] = json!("12345");
    assert_eq!(register(&system, body).await.1["code"], "invalid_phone");
    let mut body = started("k-7", &code, &walk_in);
    body["applicant"]["kind"] = json!("robot");
    assert_eq!(register(&system, body).await.1["code"], "invalid_input");
    let mut body = started("k-8", &code, &walk_in);
    body["handler"] = json!("\u{202E}");
    assert_eq!(register(&system, body).await.1["code"], "invalid_input");
    let mut body = started("k-9", &code, &walk_in);
    body["applicant"]["name"] = json!("<script>alert(1)</script>\u{202E}");
    let (status, odd) = register(&system, body).await;
    assert_eq!(status, StatusCode::OK, "a name is text: {odd}");

    let ok = count(t, "SELECT COUNT(*) FROM exchange_log WHERE kind = 'register' AND outcome = 'ok'").await;
    let refused = count(t, "SELECT COUNT(*) FROM exchange_log WHERE kind = 'register' AND outcome = 'refused'").await;
    assert_eq!((ok, refused), (4, 6));
    let key = t.app.identity().keys().checkpoint_key();
    assert!(govhall_audit::verify(t.app.db(), &key).await.unwrap().is_intact());
}
