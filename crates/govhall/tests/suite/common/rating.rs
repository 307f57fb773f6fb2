//! A case hall for 好差评: handlers and a supervisor of evaluations, cases taken to their end,
//! the invitation to rate awaited.

use super::{APPLICANT_PHONE, CaseHall};
use govhall_audit::Actor;
use govhall_cases::CaseId;
use govhall_cases::transition::{Action, By};
use govhall_identity::rbac::Grantee;
use govhall_identity::{Permission as P, Scope};
use std::time::Duration;

/// The case hall with `evaluation.handle` for the worker and the stranger (each in their own
/// department) and `evaluation.supervise` for the supervisor.
pub async fn hall(change: impl FnOnce(&mut govhall::Settings)) -> CaseHall {
    let h = CaseHall::with_settings(change).await;
    let identity = h.t.app.identity();
    let actor = Actor::system("test");
    let handle = identity.save_role(&actor, "evaluation_handler", "差评整改", &[P::EvaluationHandle]).await.unwrap();
    let supervise =
        identity.save_role(&actor, "evaluation_supervisor", "好差评监督", &[P::EvaluationSupervise]).await.unwrap();
    for who in [h.worker, h.stranger] {
        identity.grant(&actor, handle, Grantee::Account(who), Scope::Department).await.unwrap();
    }
    identity.grant(&actor, supervise, Grantee::Account(h.supervisor), Scope::Department).await.unwrap();
    h
}

/// Submits a case and takes it to its end (准予, delivered at the window).
pub async fn finished(h: &CaseHall, key: &str) -> (CaseId, String) {
    let (case, serial, _) = h.submit(key).await;
    let access = h.access(h.worker).await;
    let actor = Actor::system("审批人");
    for (step, note) in [("start_prereview", ""), ("accept", ""), ("grant_now", ""), ("deliver", "窗口领取")] {
        let action = Action { case, action: step.into(), note: note.into(), ..Action::default() };
        h.t.app.cases().act(By::Staff(&access, &actor), action).await.unwrap();
    }
    (case, serial)
}

/// Waits for the invitation's SMS to the applicant naming `serial`.
pub async fn invited(h: &CaseHall, serial: &str) -> String {
    let outbox = h.t.app.messaging().sandbox_outbox().unwrap();
    for _ in 0..500 {
        if let Some(sms) =
            outbox.sent_to(APPLICANT_PHONE).into_iter().find(|s| s.body.contains(serial) && s.body.contains("评价"))
        {
            return sms.body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no invitation for {serial}");
}
