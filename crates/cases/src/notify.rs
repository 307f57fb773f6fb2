//! What cases tell people, through the message center: the applicant at every step (inbox and
//! SMS), the handler when a case turns yellow, the supervisors when it turns red.

use crate::CaseError;
use crate::ids::{AccountId, CaseEventId};
use crate::model::CaseRow;
use govhall_core::Phone;
use govhall_db::{Db, Tx};
use govhall_identity::Keys;
use govhall_messaging::{Channel, OutgoingMessage, Recipient, send, send_all};
use govhall_messaging::{Messaging, templates};
use serde_json::json;

/// The applicant hears of a step.
pub(crate) const PROGRESS: &str = "case.progress";
/// The handler hears a case is near its limit.
pub(crate) const WARNING: &str = "case.warning";
/// The supervisors hear a case is overdue.
pub(crate) const ESCALATED: &str = "case.escalated";
/// The applicant is reminded of what a case waits for from them (待办).
pub(crate) const TASK_DUE: &str = "case.task_due";

pub(crate) async fn install_templates(db: &Db) -> Result<(), CaseError> {
    let defaults = [
        (
            PROGRESS,
            Channel::Sms,
            "",
            "您申请的“{{ item }}”（申办编号{{ serial }}）{{ event }}。{% if note %}说明：{{ note }}。{% endif %}可凭申办编号和查询密码查询办理进度。",
        ),
        (
            PROGRESS,
            Channel::Inbox,
            "办件进度：{{ item }} {{ event }}",
            "您申请的“{{ item }}”（申办编号 {{ serial }}）{{ event }}。\n当前环节：{{ step }}\n{% if note %}说明：{{ note }}\n{% endif %}{% if due %}办结期限：{{ due }}\n{% endif %}",
        ),
        (
            WARNING,
            Channel::Inbox,
            "办件预警：{{ serial }} 即将到期",
            "您经办的“{{ item }}”（申办编号 {{ serial }}）当前环节“{{ step }}”，办结期限 {{ due }}，请尽快办理。",
        ),
        (
            ESCALATED,
            Channel::Inbox,
            "电子监察：{{ department }} 办件超期 {{ serial }}",
            "{{ department }}办理的“{{ item }}”（申办编号 {{ serial }}）已超过办结期限 {{ due }}，当前环节“{{ step }}”{% if handler %}，经办人 {{ handler }}{% endif %}。请督办。",
        ),
        (
            TASK_DUE,
            Channel::Sms,
            "",
            "您申请的“{{ item }}”（申办编号{{ serial }}）待您{{ task }}{% if due %}，请于{{ due }}前办理{% endif %}。可在网上办事大厅“我的待办”中办理。",
        ),
        (
            TASK_DUE,
            Channel::Inbox,
            "待办提醒：{{ item }} 待您{{ task }}",
            "您申请的“{{ item }}”（申办编号 {{ serial }}）待您{{ task }}。\n{% if due %}请于 {{ due }} 前办理。\n{% endif %}请在“我的待办”中查看并办理。",
        ),
    ];
    for (code, channel, subject, body) in defaults {
        templates::install_default(db, code, channel, subject, body).await?;
    }
    Ok(())
}

/// What the applicant is told of one step.
pub(crate) struct Told<'a> {
    /// The history entry (keys the messages, so a retried step sends nothing twice).
    pub event_id: CaseEventId,
    /// What happened (已受理).
    pub event: &'a str,
    /// The step the case is in now.
    pub step: &'a str,
    /// Staff's note.
    pub note: &'a str,
}

/// Tells the applicant of a case's step, in `tx` (so it goes out only if the step commits).
pub(crate) async fn applicant(
    tx: &mut Tx,
    messaging: &Messaging,
    keys: &Keys,
    row: &CaseRow,
    told: Told<'_>,
) -> Result<(), CaseError> {
    let Told { event_id, event, step, note } = told;
    let due = row.due_on.map(|d| d.format("%Y年%m月%d日").to_string()).unwrap_or_default();
    let params = json!({
        "item": row.item_name, "serial": row.serial_number, "event": event, "step": step,
        "note": note.chars().take(60).collect::<String>(), "due": due,
    });
    // A person without an account (yet) is told by SMS alone; both messages in one go.
    let mut all = Vec::with_capacity(2);
    if let Some(account) = row.applicant_id {
        all.push(
            OutgoingMessage::new(PROGRESS, Recipient::Account(account), params.clone())
                .idempotency_key(format!("case:{event_id}:inbox")),
        );
    }
    // A number that no longer reads (edited by hand) only loses the SMS, not the step.
    if let Ok(phone) = keys.decrypt(&row.contact_phone_enc).map(|p| Phone::parse(&p))
        && let Ok(phone) = phone
    {
        all.push(
            OutgoingMessage::new(PROGRESS, Recipient::Phone(phone), params)
                .idempotency_key(format!("case:{event_id}:sms")),
        );
    }
    send_all(tx, messaging, all).await?;
    Ok(())
}

/// Tells one staff member (the handler or a supervisor) through their inbox.
pub(crate) async fn staff(
    tx: &mut Tx,
    messaging: &Messaging,
    template: &str,
    to: AccountId,
    key: String,
    params: serde_json::Value,
) -> Result<(), CaseError> {
    send(tx, messaging, OutgoingMessage::new(template, Recipient::Account(to.as_uuid()), params).idempotency_key(key))
        .await?;
    Ok(())
}

/// Reminds the applicant of a task, by inbox and SMS to the case's contact number, once per
/// `key`.
pub(crate) async fn reminder(
    tx: &mut Tx,
    messaging: &Messaging,
    keys: &Keys,
    row: &CaseRow,
    key: &str,
    params: serde_json::Value,
) -> Result<(), CaseError> {
    if let Some(account) = row.applicant_id {
        let inbox = OutgoingMessage::new(TASK_DUE, Recipient::Account(account), params.clone())
            .idempotency_key(format!("{key}:inbox"));
        send(tx, messaging, inbox).await?;
    }
    if let Ok(phone) = keys.decrypt(&row.contact_phone_enc).map(|p| Phone::parse(&p))
        && let Ok(phone) = phone
    {
        let sms = OutgoingMessage::new(TASK_DUE, Recipient::Phone(phone), params).idempotency_key(format!("{key}:sms"));
        send(tx, messaging, sms).await?;
    }
    Ok(())
}
