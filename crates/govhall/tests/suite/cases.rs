//! The case engine end to end on the test backend: submission with a serial number and query
//! password, the whole standard workflow with pauses for 补齐补正, whitelisted transitions, data
//! scopes, stale forms, the progress query and its throttling, warnings and escalation.

use crate::common;

use common::CaseHall;
use govhall_audit::Actor;
use govhall_cases::CaseError;
use govhall_cases::deadline::Warning;
use govhall_cases::files::NewFile;
use govhall_cases::transition::{Action, By};
use govhall_core::SerialNumber;
use govhall_core::clock::china_date;
use govhall_messaging::inbox;

fn act(case: govhall_cases::CaseId, action: &str, note: &str) -> Action {
    Action { case, action: action.into(), note: note.into(), ..Action::default() }
}

fn staff_actor(label: &str) -> Actor {
    Actor { id: None, label: format!("工作人员:{label}"), client_ip: "127.0.0.1".into() }
}

#[tokio::test]
async fn a_case_goes_through_the_whole_workflow_with_its_clock_paused_while_the_applicant_supplements() {
    let h = CaseHall::new().await;
    let cases = h.t.app.cases();
    let cal = cases.calendar().clone();
    let (id, serial, password) = h.submit("draft-1").await;

    // The number is DOMAIN.md's, for the item's region, this hall's service and the item's nature.
    let number = SerialNumber::parse(&serial).unwrap();
    let prefix = number.prefix().digits();
    assert_eq!(&prefix[0..2], &h.item.item.region_code[2..4]);
    assert_eq!(&prefix[2..4], "01");
    assert_eq!(&prefix[4..6], h.item.content.nature_code.as_str());
    assert_eq!(password.len(), 8);
    assert!(password.bytes().all(|b| govhall_cases::password::ALPHABET.contains(&b)));
    // A retried submission gives the same case, and no password the second time.
    let again = cases
        .submit(govhall_cases::submit::Submission {
            item_code: h.item.item.code.clone(),
            applicant: h.applicant,
            enterprise: None,
            form: serde_json::json!({}),
            materials: vec![],
            idempotency_key: "draft-1".into(),
        })
        .await
        .unwrap();
    assert_eq!((again.case_id, again.serial_number.as_str(), again.query_password), (id, serial.as_str(), None));

    let worker = h.access(h.worker).await;
    let wa = staff_actor("李四");
    let applicant = Actor { id: Some(h.applicant), label: "个人:张三".into(), client_ip: String::new() };
    let case = cases.get(&worker, id).await.unwrap();
    assert_eq!(
        (case.step.as_str(), case.step_name.as_str(), case.applicant_masked.as_str()),
        ("received", "收件", "张*")
    );
    assert!(case.step_due_on.is_some(), "收件 has a one-day deadline");

    // Only the whitelist: accepting straight from 收件 is refused, and so is a made-up action.
    let err = cases.act(By::Staff(&worker, &wa), act(id, "accept", "")).await.unwrap_err();
    assert!(matches!(err, CaseError::IllegalTransition(_)), "{err}");
    assert!(err.to_string().contains("收件"));
    let err = cases.act(By::Staff(&worker, &wa), act(id, "drop_table", "")).await.unwrap_err();
    assert!(matches!(err, CaseError::IllegalTransition(_)));
    // The applicant cannot take staff steps, staff cannot answer for the applicant.
    let err = cases.act(By::Applicant(h.applicant, &applicant), act(id, "start_prereview", "")).await.unwrap_err();
    assert!(matches!(err, CaseError::Forbidden(_)));

    let case = cases.act(By::Staff(&worker, &wa), act(id, "start_prereview", "")).await.unwrap();
    assert_eq!(case.step, "prereview");
    let err = cases.act(By::Staff(&worker, &wa), act(id, "request_supplement", " ")).await.unwrap_err();
    assert!(matches!(err, CaseError::NoteRequired(_)), "a reason is required");
    let case = cases.act(By::Staff(&worker, &wa), act(id, "request_supplement", "缺少营业执照复印件")).await.unwrap();
    assert_eq!((case.step.as_str(), case.due_on), ("supplement", None), "not accepted yet: no clock");
    let err = cases.act(By::Staff(&worker, &wa), act(id, "resubmit", "")).await.unwrap_err();
    assert!(matches!(err, CaseError::Forbidden(_)), "only the applicant answers");
    let case = cases.act(By::Applicant(h.applicant, &applicant), act(id, "resubmit", "已补充")).await.unwrap();
    assert_eq!(case.step, "prereview", "back where the request came from");

    // 受理 starts the clock: the promised limit in working days from today (China time).
    let before = china_date(chrono::Utc::now());
    let case = cases.act(By::Staff(&worker, &wa), act(id, "accept", "")).await.unwrap();
    let after = china_date(chrono::Utc::now());
    let limit = h.item.content.promised_limit.amount;
    let due = case.due_on.unwrap();
    assert!(due == cal.add_working_days(before, limit) || due == cal.add_working_days(after, limit), "{due}");
    assert!(case.accepted_on == Some(before) || case.accepted_on == Some(after));
    let case = cases.act(By::Staff(&worker, &wa), act(id, "start_review", "")).await.unwrap();
    assert_eq!(case.step, "review");

    // 补正 during review pauses the clock and keeps the days left; answering resumes it.
    let case =
        cases.act(By::Staff(&worker, &wa), act(id, "request_supplement", "请补充近三个月社保证明")).await.unwrap();
    assert_eq!((case.step.as_str(), case.due_on), ("supplement", None));
    let left = case.days_left.unwrap();
    assert_eq!(left as u32, cal.working_days_between(case.paused_on.unwrap(), due));
    let before = china_date(chrono::Utc::now());
    let case = cases.act(By::Applicant(h.applicant, &applicant), act(id, "resubmit", "")).await.unwrap();
    let after = china_date(chrono::Utc::now());
    assert_eq!(case.step, "review");
    assert_eq!(case.paused_on, None);
    let resumed = case.due_on.unwrap();
    assert!(
        resumed == cal.add_working_days(before, left as u32) || resumed == cal.add_working_days(after, left as u32)
    );

    // A form shown before another change is refused rather than applied over it.
    let stale = Action { revision: Some(case.revision - 1), ..act(id, "grant", "") };
    assert!(matches!(cases.act(By::Staff(&worker, &wa), stale).await.unwrap_err(), CaseError::Stale));
    // The decision with its result document (checked by content: a renamed script is refused).
    let script = NewFile {
        file_name: "决定书.pdf".into(),
        bytes: b"#!/bin/sh\nrm -rf /".to_vec(),
        result: true,
        material: String::new(),
    };
    let bad = Action { files: vec![script], ..act(id, "grant", "") };
    let err = cases.act(By::Staff(&worker, &wa), bad).await.unwrap_err();
    assert!(matches!(err, CaseError::InvalidFile(_)) && err.to_string().contains("不是 PDF"), "{err}");
    assert_eq!(cases.get(&worker, id).await.unwrap().step, "review", "nothing half-done");
    let pdf = NewFile {
        file_name: "../../决定书.pdf".into(),
        bytes: b"%PDF-1.4\n%%EOF\n".to_vec(),
        result: true,
        material: String::new(),
    };
    let grant =
        Action { revision: Some(case.revision), files: vec![pdf], ..act(id, "grant", "符合条件，准予许可") };
    let case = cases.act(By::Staff(&worker, &wa), grant).await.unwrap();
    assert_eq!((case.step.as_str(), case.outcome.map(|o| o.label())), ("decided", Some("准予")));
    assert!(case.decided_at.is_some() && case.is_open);
    let files = cases.files(&worker, id).await.unwrap();
    assert_eq!((files.len(), files[0].file_name.as_str(), files[0].kind.as_str()), (1, "决定书.pdf", "result"));
    let err = cases.act(By::Staff(&worker, &wa), act(id, "deliver", "")).await.unwrap_err();
    assert!(matches!(err, CaseError::NoteRequired(_)));
    let case = cases.act(By::Staff(&worker, &wa), act(id, "deliver", "邮寄送达，EMS 1234")).await.unwrap();
    assert!(!case.is_open && case.closed_at.is_some());
    let err = cases.act(By::Staff(&worker, &wa), act(id, "deliver", "again")).await.unwrap_err();
    assert!(matches!(err, CaseError::IllegalTransition(_)));

    // The history: every step with who, when and the note.
    let history = cases.history(id).await.unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "submit",
            "start_prereview",
            "request_supplement",
            "resubmit",
            "accept",
            "start_review",
            "request_supplement",
            "resubmit",
            "grant",
            "deliver"
        ]
    );
    assert_eq!(history[2].note, "缺少营业执照复印件");
    assert_eq!(history[4].actor_name, "李四");

    // The applicant heard of every step, in the inbox and by SMS.
    let db = h.t.app.db().clone();
    let mut got = 0;
    let mut invited = 0;
    for _ in 0..200 {
        let all = inbox::list(&db, h.applicant.as_uuid(), 50, 0).await.unwrap();
        invited = all.iter().filter(|m| m.template_code == "evaluation.invite").count();
        got = all.len() - invited;
        if got >= 10 && invited == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got, 10, "one inbox message per step");
    assert_eq!(invited, 1, "and, the case ended, the invitation to rate it");
    let outbox = h.t.app.messaging().sandbox_outbox().unwrap();
    for _ in 0..200 {
        if outbox.sent_to(common::APPLICANT_PHONE).iter().filter(|m| m.body.contains(&serial)).count() >= 10 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sms = outbox.sent_to(common::APPLICANT_PHONE);
    assert!(sms.iter().any(|m| m.body.contains("缺少营业执照复印件") && m.body.contains(&serial)), "{sms:?}");
    assert!(sms.iter().any(|m| m.body.contains("需要您补齐补正材料")), "asked, not told it is done: {sms:?}");
    assert!(sms.iter().any(|m| m.body.contains("已受理")));
    assert!(sms.iter().all(|m| !m.body.contains(common::APPLICANT_ID)));

    // Every step is in the audit log under the case's number.
    let filter = govhall_audit::Filter { target_id: Some(serial.clone()), ..Default::default() };
    let entries = govhall_audit::search(&db, &filter, 50, 0).await.unwrap();
    assert!(entries.len() >= 10, "{}", entries.len());
    h.t.stop().await;
}

#[tokio::test]
async fn staff_of_another_department_can_neither_see_nor_act_and_personal_data_is_audited() {
    let h = CaseHall::new().await;
    let cases = h.t.app.cases();
    let (id, serial, _) = h.submit("scope-1").await;
    let stranger = h.access(h.stranger).await;
    let sa = staff_actor("王五");
    assert!(matches!(cases.get(&stranger, id).await.unwrap_err(), CaseError::NotFound));
    let err = cases.act(By::Staff(&stranger, &sa), act(id, "start_prereview", "")).await.unwrap_err();
    assert!(matches!(err, CaseError::NotFound), "answers as if there were no such case");
    let page = cases.list(&stranger, &Default::default(), 50, 0).await.unwrap();
    assert_eq!(page.total, 0);
    assert!(matches!(cases.claim(&stranger, &sa, id).await.unwrap_err(), CaseError::NotFound));

    let worker = h.access(h.worker).await;
    let wa = staff_actor("李四");
    let page = cases.list(&worker, &Default::default(), 50, 0).await.unwrap();
    assert_eq!((page.total, page.cases[0].serial_number.as_str()), (1, serial.as_str()));
    // The supervisor sees the case but not the personal data (not granted): refused and audited.
    let supervisor = h.access(h.supervisor).await;
    let pa = staff_actor("赵六");
    assert!(matches!(cases.personal_data(&supervisor, &pa, id).await.unwrap_err(), CaseError::Forbidden(_)));
    let data = cases.personal_data(&worker, &wa, id).await.unwrap();
    assert_eq!((data.applicant_name.as_str(), data.applicant_number.as_str()), ("张三", common::APPLICANT_ID));
    assert_eq!(data.form["联系地址"], "济南市历下区");
    let filter = govhall_audit::Filter { target_id: Some(serial.clone()), ..Default::default() };
    let entries = govhall_audit::search(h.t.app.db(), &filter, 50, 0).await.unwrap();
    let views: Vec<_> = entries.iter().filter(|e| e.action == "case.view_personal_data").collect();
    assert_eq!(views.len(), 2, "the refusal and the opening");

    // Claiming: the worker takes it; the supervisor (case.assign) gives it back to them; the
    // stranger cannot be given it.
    let case = cases.claim(&worker, &wa, id).await.unwrap();
    assert_eq!(case.assignee_id, Some(h.worker));
    let err = cases.assign(&supervisor, &pa, id, h.stranger).await.unwrap_err();
    assert!(matches!(err, CaseError::InvalidInput(_)), "{err}");
    let err = cases.assign(&worker, &wa, id, h.worker).await.unwrap_err();
    assert!(matches!(err, CaseError::Forbidden(_)), "no case.assign");
    let mine = govhall_cases::queries::CaseFilter {
        assignee: Some(govhall_cases::queries::AssigneeFilter::Mine),
        ..Default::default()
    };
    assert_eq!(cases.list(&worker, &mine, 50, 0).await.unwrap().total, 1);
    h.t.stop().await;
}

#[tokio::test]
async fn progress_queries_show_the_timeline_and_lock_a_number_after_repeated_failures() {
    let h = CaseHall::new().await;
    let cases = h.t.app.cases();
    let (id, serial, password) = h.submit("progress-1").await;
    let worker = h.access(h.worker).await;
    let wa = staff_actor("李四");
    cases.act(By::Staff(&worker, &wa), act(id, "start_prereview", "")).await.unwrap();
    cases.act(By::Staff(&worker, &wa), act(id, "accept", "材料齐全")).await.unwrap();

    let timeline = cases.progress(&serial, &password.to_lowercase(), "10.0.0.1").await.unwrap();
    assert_eq!((timeline.step.as_str(), timeline.department.as_str()), ("受理", h.item.item.department.as_str()));
    assert!(timeline.due_on.is_some());
    let reached: Vec<&str> = timeline.milestones.iter().filter(|m| m.at.is_some()).map(|m| m.name.as_str()).collect();
    assert_eq!(reached, ["收件", "预审", "受理"]);
    assert!(timeline.milestones.iter().any(|m| m.current && m.name == "受理"));
    let json = serde_json::to_string(&timeline).unwrap();
    assert!(!json.contains("张三") && !json.contains(common::APPLICANT_ID) && !json.contains("材料齐全"), "{json}");

    // A wrong password and an unknown number answer alike.
    let wrong = cases.progress(&serial, "AAAAAAAA", "10.0.0.2").await.unwrap_err();
    let unknown = cases.progress("010201999999", &password, "10.0.0.2").await.unwrap_err();
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert!(matches!(wrong, CaseError::ProgressNotFound));
    // Five failures lock the number, even for the right password, and say for how long.
    for i in 0..4 {
        let err = cases.progress(&serial, "BBBBBBBB", &format!("10.0.1.{i}")).await.unwrap_err();
        assert!(matches!(err, CaseError::ProgressNotFound));
    }
    let err = cases.progress(&serial, &password, "10.0.0.9").await.unwrap_err();
    assert!(matches!(err, CaseError::ProgressLocked(m) if (1..=30).contains(&m)), "{err}");
    // One client failing on many numbers is throttled too.
    for i in 0..20 {
        let _ = cases.progress(&format!("0102011{i:05}"), "CCCCCCCC", "10.9.9.9").await;
    }
    let err = cases.progress("010201000001", "CCCCCCCC", "10.9.9.9").await.unwrap_err();
    assert!(matches!(err, CaseError::ProgressThrottled), "{err}");

    // The applicant signed in sees their cases with the notes.
    let mine = cases.mine(h.applicant, 20, 0).await.unwrap();
    assert_eq!(mine.len(), 1);
    let own = cases.my_timeline(&mine[0]).await.unwrap();
    assert!(own.entries.iter().any(|e| e.note == "材料齐全"));
    h.t.stop().await;
}

#[tokio::test]
async fn the_sweep_lights_cases_yellow_then_red_and_escalates_once_to_the_supervisor() {
    let h = CaseHall::new().await;
    let cases = h.t.app.cases();
    let cal = cases.calendar().clone();
    let (id, serial, _) = h.submit("sweep-1").await;
    let worker = h.access(h.worker).await;
    let wa = staff_actor("李四");
    cases.claim(&worker, &wa, id).await.unwrap();
    cases.act(By::Staff(&worker, &wa), act(id, "start_prereview", "")).await.unwrap();
    let case = cases.act(By::Staff(&worker, &wa), act(id, "accept", "")).await.unwrap();
    let due = case.due_on.unwrap();
    let at = |date: chrono::NaiveDate| date.and_hms_opt(2, 0, 0).unwrap().and_utc(); // 10:00 China time

    // The day before the limit (a working day): yellow, and the handler is told.
    let mut eve = due.pred_opt().unwrap();
    while !cal.is_working_day(eve) {
        eve = eve.pred_opt().unwrap();
    }
    let swept = cases.sweep(at(eve)).await.unwrap();
    assert_eq!((swept.yellow, swept.red), (1, 0));
    assert_eq!(cases.get(&worker, id).await.unwrap().warning, Warning::Yellow);
    // After it: red, escalated to the supervisor's inbox, once.
    let late = due.succ_opt().unwrap();
    let swept = cases.sweep(at(late)).await.unwrap();
    assert_eq!((swept.red, swept.escalations), (1, 1));
    let swept = cases.sweep(at(late.succ_opt().unwrap())).await.unwrap();
    assert_eq!((swept.red, swept.escalations), (0, 0), "escalated once");
    let supervisor = h.access(h.supervisor).await;
    let load = cases.supervision(&supervisor).await.unwrap();
    assert_eq!((load.len(), load[0].red), (1, 1));
    assert_eq!(cases.warned(&supervisor, 10).await.unwrap()[0].serial_number, serial);
    assert!(cases.supervision(&worker).await.unwrap().is_empty(), "no case.supervise");
    let db = h.t.app.db().clone();
    let mut messages = Vec::new();
    for _ in 0..200 {
        messages = inbox::list(&db, h.supervisor.as_uuid(), 10, 0).await.unwrap();
        if !messages.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(messages.len(), 1);
    assert!(messages[0].subject.contains("超期") && messages[0].subject.contains(&serial));
    assert!(!inbox::list(&db, h.worker.as_uuid(), 10, 0).await.unwrap().is_empty(), "the handler was warned");
    // Deciding ends the light.
    cases.act(By::Staff(&worker, &wa), act(id, "start_review", "")).await.unwrap();
    let case = cases.act(By::Staff(&worker, &wa), act(id, "grant", "")).await.unwrap();
    assert_eq!(case.warning, Warning::None);
    h.t.stop().await;
}

#[tokio::test]
async fn a_reviewer_who_claimed_a_case_does_not_keep_the_decider_out_and_keys_are_each_applicants_own() {
    use govhall_identity::rbac::Grantee;
    use govhall_identity::{DepartmentId, Permission as P, Scope};
    let h = CaseHall::new().await;
    let cases = h.t.app.cases();
    let identity = h.t.app.identity();
    let department = DepartmentId::from_uuid(h.item.item.department_id);
    let reviewer = h.t.staff("13600000211", department).await;
    let decider = h.t.staff("13600000212", department).await;
    let system = Actor::system("test");
    let review = identity.save_role(&system, "reviewer_only", "受理审查", &[P::CaseView, P::CaseReview]).await.unwrap();
    let decide = identity.save_role(&system, "decider_only", "办结审批", &[P::CaseView, P::CaseDecide]).await.unwrap();
    identity.grant(&system, review, Grantee::Account(reviewer), Scope::Department).await.unwrap();
    identity.grant(&system, decide, Grantee::Account(decider), Scope::Department).await.unwrap();
    let (ra, da) = (h.access(reviewer).await, h.access(decider).await);
    let (rn, dn) = (staff_actor("审查员"), staff_actor("审批人"));

    let (id, _, _) = h.submit("split-1").await;
    // The decider cannot claim at 收件 (not their step); the reviewer can, and then holds it.
    assert!(matches!(cases.claim(&da, &dn, id).await.unwrap_err(), CaseError::Forbidden(_)));
    cases.claim(&ra, &rn, id).await.unwrap();
    for step in ["start_prereview", "accept", "start_review"] {
        cases.act(By::Staff(&ra, &rn), act(id, step, "")).await.unwrap();
    }
    let case = cases.get(&da, id).await.unwrap();
    assert_eq!(case.step, "review");
    // At 审查 the reviewer cannot act, so their claim does not keep the decider out.
    let moves: Vec<String> = cases.staff_actions(&da, &case).await.unwrap().into_iter().map(|t| t.action).collect();
    assert!(moves.contains(&"grant".to_owned()), "{moves:?}");
    assert!(cases.staff_actions(&ra, &case).await.unwrap().iter().all(|t| t.action != "grant"));
    let case = cases.act(By::Staff(&da, &dn), act(id, "grant", "")).await.unwrap();
    assert_eq!(case.step, "decided");
    // A worker with both rights who did not claim it is kept out of a case the holder can act on.
    let (other, _, _) = h.submit("split-2").await;
    cases.claim(&ra, &rn, other).await.unwrap();
    let worker = h.access(h.worker).await;
    let err = cases.act(By::Staff(&worker, &staff_actor("李四")), act(other, "start_prereview", "")).await.unwrap_err();
    assert!(matches!(err, CaseError::Forbidden(ref m) if m.contains("经办")), "{err}");

    // Idempotency keys belong to one applicant and one item: another person's "split-1" is
    // their own new case.
    let someone = h.t.person("13800000109", "11010519491231002X").await;
    let theirs = cases
        .submit(govhall_cases::submit::Submission {
            item_code: h.item.item.code.clone(),
            applicant: someone,
            enterprise: None,
            form: serde_json::json!({}),
            materials: vec![],
            idempotency_key: "split-1".into(),
        })
        .await
        .unwrap();
    assert_ne!(theirs.case_id, id);
    assert!(theirs.query_password.is_some());
    h.t.stop().await;
}

#[tokio::test]
async fn the_applicants_tasks_follow_the_case_and_remind_once() {
    use govhall_cases::tasks::{TaskKind, Whose};
    let h = CaseHall::new().await;
    let t = &h.t;
    let cases = t.app.cases();
    let (id, serial, _) = h.submit("tasks-1").await;
    let worker = h.access(h.worker).await;
    let wa = staff_actor("worker");
    let me = Actor { id: Some(h.applicant), label: "申请人".into(), client_ip: "127.0.0.1".into() };
    assert!(cases.tasks(h.applicant, Whose::Person(h.applicant)).await.unwrap().is_empty(), "nothing asked yet");

    // Asked for more: a task without a deadline, theirs alone.
    cases.act(By::Staff(&worker, &wa), act(id, "start_prereview", "")).await.unwrap();
    cases.act(By::Staff(&worker, &wa), act(id, "request_supplement", "缺少营业执照复印件")).await.unwrap();
    let tasks = cases.tasks(h.applicant, Whose::Person(h.applicant)).await.unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (tasks[0].kind, tasks[0].serial_number.as_str(), tasks[0].working_days_left),
        (TaskKind::Supplement, serial.as_str(), None)
    );
    let other = t.person("13800000555", &common::test_id_number(55)).await;
    assert!(matches!(cases.tasks(other, Whose::Person(h.applicant)).await, Err(CaseError::NotFound)));
    assert!(cases.tasks(other, Whose::Person(other)).await.unwrap().is_empty());
    let nowhere = govhall_identity::EnterpriseId::from_uuid(uuid::Uuid::now_v7());
    assert!(matches!(cases.tasks(h.applicant, Whose::Enterprise(nowhere)).await, Err(CaseError::NotFound)));

    // Reminded after waiting `remind_days` working days, once however often the sweep runs.
    let reminders = || async {
        let mut conn = t.app.db().conn().await.unwrap();
        govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM messages WHERE template_code = 'case.task_due'"
        )
        .fetch_one(&mut *c)
        .await)
        .unwrap()
    };
    let now = t.app.db().now();
    assert_eq!(cases.remind(now).await.unwrap(), 0, "not yet");
    let later = now + chrono::Duration::days(10);
    assert_eq!(cases.remind(later).await.unwrap(), 1);
    cases.remind(later).await.unwrap();
    cases.remind(later + chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(reminders().await, 2, "one inbox message and one SMS");

    // Answered: the task moves to history.
    cases.act(By::Applicant(h.applicant, &me), act(id, "resubmit", "已补充")).await.unwrap();
    assert!(cases.tasks(h.applicant, Whose::Person(h.applicant)).await.unwrap().is_empty());
    let history = cases.task_history(h.applicant, Whose::Person(h.applicant), 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].label, "提交补正材料");

    // Granted: the result to collect, on the page and in the API; delivered: nothing left.
    for step in ["accept", "start_review", "grant"] {
        cases.act(By::Staff(&worker, &wa), act(id, step, "")).await.unwrap();
    }
    let tasks = cases.tasks(h.applicant, Whose::Person(h.applicant)).await.unwrap();
    assert_eq!(tasks.iter().map(|t| t.kind).collect::<Vec<_>>(), [TaskKind::Collect]);
    let web = t.sign_in(common::APPLICANT_PHONE, common::PASSWORD).await;
    let page = web.get("/account/tasks").await.text().await.unwrap();
    assert!(page.contains("领取办理结果") && page.contains(&serial) && page.contains("提交补正材料"), "{page}");
    let bearer = t.bearer(common::APPLICANT_PHONE).await;
    let api: serde_json::Value = t
        .client
        .get(t.url("/api/v1/me/tasks"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["tasks"][0]["kind"], "collect", "{api}");
    let res = t
        .client
        .get(t.url(&format!("/api/v1/me/tasks?enterprise={}", uuid::Uuid::now_v7())))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND);
    cases.act(By::Staff(&worker, &wa), act(id, "deliver", "窗口领取")).await.unwrap();
    assert!(cases.tasks(h.applicant, Whose::Person(h.applicant)).await.unwrap().is_empty());

    // The statistics of these cases: counted by state and month, charted, exported.
    h.submit("tasks-2").await;
    let stats = cases.stats(h.applicant, Whose::Person(h.applicant)).await.unwrap();
    assert_eq!(stats.total, 2);
    let states: Vec<(&str, i64)> = stats.by_state.iter().map(|c| (c.label.as_str(), c.count)).collect();
    assert_eq!(states, [("办理中", 1), ("准予", 1)]);
    assert_eq!(stats.by_month.len(), 12);
    assert_eq!(stats.by_month.last().unwrap().count, 2, "{:?}", stats.by_month);
    assert_eq!((stats.decided, stats.average_working_days), (1, Some(0.0)));
    assert!(matches!(cases.stats(other, Whose::Person(h.applicant)).await, Err(CaseError::NotFound)));
    let page = web.get("/account/statistics").await.text().await.unwrap();
    assert!(page.contains("<svg") && page.contains("准予：1") && page.contains(&h.item.item.name), "{page}");
    let xlsx = web.get("/account/statistics.xlsx").await;
    assert_eq!(xlsx.status(), reqwest::StatusCode::OK);
    assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
    let res = web.get(&format!("/account/statistics?enterprise={}", uuid::Uuid::now_v7())).await;
    assert_eq!(res.status(), reqwest::StatusCode::NOT_FOUND);
    let api: serde_json::Value = t
        .client
        .get(t.url("/api/v1/me/statistics"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(api["total"], 2, "{api}");
    h.t.stop().await;
}
