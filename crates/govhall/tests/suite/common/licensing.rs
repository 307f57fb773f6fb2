//! A hall whose item issues a licence type (测试许可证, for persons, five years), with
//! `licence.manage` for the case hall's worker and stranger; granting a case, waiting for its
//! licence.

use super::CaseHall;
use govhall_audit::Actor;
use govhall_cases::CaseId;
use govhall_cases::transition::{Action, By};
use govhall_identity::rbac::Grantee;
use govhall_identity::{Permission as P, Scope};
use govhall_licences::Licence;
use serde_json::Value;
use std::time::Duration;

pub const ISSUER: &str = "11370000MB285591XU";

pub fn types_file(department: &str, item: &str) -> String {
    format!(
        r#"
[[type]]
code = "L001"
name = "测试许可证"
department = "{department}"
issuer_code = "{ISSUER}"
holder = "person"
valid_years = 5
items = ["{item}"]

[[type.field]]
key = "address"
label = "联系地址"
from = "联系地址"
required = true

[[type.field]]
key = "serial"
label = "办件编号"
from = "@serial_number"

[[type.field]]
key = "remark"
label = "备注"
from = "备注"
"#
    )
}

/// The case hall with a licence type issued by its item, and `licence.manage` for its worker
/// (in the item's department) and for the stranger (in another).
pub async fn licence_hall() -> CaseHall {
    let h = CaseHall::new().await;
    let db = h.t.app.db();
    let department =
        govhall_identity::departments::get(db, govhall_identity::DepartmentId::from_uuid(h.item.item.department_id))
            .await
            .unwrap()
            .unwrap();
    let actor = Actor::system("test");
    let text = types_file(&department.name, &h.item.item.code);
    assert_eq!(govhall_licences::types::import(db, &text, &actor).await.unwrap(), 1);
    let identity = h.t.app.identity();
    let role = identity.save_role(&actor, "licence_admin", "证照管理", &[P::LicenceManage]).await.unwrap();
    for who in [h.worker, h.stranger] {
        identity.grant(&actor, role, Grantee::Account(who), Scope::Department).await.unwrap();
    }
    h
}

fn act(case: CaseId, action: &str) -> Action {
    Action { case, action: action.into(), note: String::new(), ..Action::default() }
}

/// Submits a case with `form` and grants it.
pub async fn granted(h: &CaseHall, key: &str, form: Value) -> (CaseId, String) {
    let s = govhall_cases::submit::Submission {
        item_code: h.item.item.code.clone(),
        applicant: h.applicant,
        enterprise: None,
        form,
        materials: Vec::new(),
        idempotency_key: key.into(),
    };
    let done = h.t.app.cases().submit(s).await.unwrap();
    let access = h.access(h.worker).await;
    let actor = Actor::system("审批人");
    for step in ["start_prereview", "accept", "start_review", "grant"] {
        h.t.app.cases().act(By::Staff(&access, &actor), act(done.case_id, step)).await.unwrap();
    }
    (done.case_id, done.serial_number)
}

pub async fn licence_of(h: &CaseHall, case: CaseId) -> Licence {
    for _ in 0..400 {
        let mine = h.t.app.licences().mine(h.applicant).await.unwrap();
        if let Some(l) = mine.into_iter().find(|l| l.case_id == Some(case.as_uuid())) {
            return l;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no licence was issued for the case");
}
