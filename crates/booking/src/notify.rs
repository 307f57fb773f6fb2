//! What bookings tell people through the message center: the confirmation at once (inbox and
//! SMS), reminders the day before and shortly before (SMS, cancelled with the booking), a slot
//! closed by the hall, and a block after no-shows.

use crate::BookingError;
use govhall_core::Phone;
use govhall_db::{Db, Tx};
use govhall_messaging::{Channel, Messaging, OutgoingMessage, Recipient, send_all, templates};
use serde_json::Value;
use uuid::Uuid;

pub(crate) const CONFIRMED: &str = "booking.confirmed";
pub(crate) const REMINDER: &str = "booking.reminder";
pub(crate) const CANCELLED: &str = "booking.cancelled";
pub(crate) const BLOCKED: &str = "booking.blocked";

pub(crate) async fn install_templates(db: &Db) -> Result<(), BookingError> {
    let defaults = [
        (
            CONFIRMED,
            Channel::Sms,
            "",
            "您已预约{{ hall }}“{{ service }}”，时间{{ when }}，预约码{{ code }}。请按时到场，凭预约码签到取号；如不能前往请提前取消。",
        ),
        (
            CONFIRMED,
            Channel::Inbox,
            "预约成功：{{ service }} {{ when }}",
            "您已预约{{ hall }}（{{ address }}）“{{ service }}”。\n时间：{{ when }}\n预约码：{{ code }}\n请提前到场，凭预约码签到取预约优先号。",
        ),
        (
            REMINDER,
            Channel::Sms,
            "",
            "提醒：您预约的{{ hall }}“{{ service }}”在{{ when }}，预约码{{ code }}，地址{{ address }}。",
        ),
        (
            CANCELLED,
            Channel::Sms,
            "",
            "您在{{ hall }}{{ when }}的预约（预约码{{ code }}）已取消{% if reason %}：{{ reason }}{% endif %}。",
        ),
        (
            CANCELLED,
            Channel::Inbox,
            "预约已取消：{{ service }} {{ when }}",
            "您在{{ hall }}{{ when }}的“{{ service }}”预约（预约码 {{ code }}）已取消。{% if reason %}\n原因：{{ reason }}{% endif %}",
        ),
        (
            BLOCKED,
            Channel::Sms,
            "",
            "您近{{ days }}天内已有{{ count }}次预约未到场，{{ until }}前暂停网上预约。如有疑问请联系服务大厅。",
        ),
        (
            BLOCKED,
            Channel::Inbox,
            "网上预约已暂停至 {{ until }}",
            "您近{{ days }}天内已有{{ count }}次预约未到场且未取消，按规定{{ until }}前暂停网上预约。",
        ),
    ];
    for (code, channel, subject, body) in defaults {
        templates::install_default(db, code, channel, subject, body).await?;
    }
    Ok(())
}

/// One message to a person: to their inbox (when `inbox`) and by SMS (when they have a phone),
/// the SMS held until `at` when given.
pub(crate) struct Note<'a> {
    pub template: &'a str,
    pub account: Uuid,
    pub phone: Option<&'a Phone>,
    pub params: Value,
    pub key: String,
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    pub inbox: bool,
}

/// The messages of a note.
pub(crate) fn messages(note: Note<'_>) -> Vec<OutgoingMessage> {
    let mut out = Vec::new();
    if note.inbox {
        out.push(
            OutgoingMessage::new(note.template, Recipient::Account(note.account), note.params.clone())
                .idempotency_key(format!("{}:inbox", note.key)),
        );
    }
    if let Some(phone) = note.phone {
        let mut m = OutgoingMessage::new(note.template, Recipient::Phone(phone.clone()), note.params)
            .idempotency_key(format!("{}:sms", note.key));
        if let Some(at) = note.at {
            m = m.send_at(at);
        }
        out.push(m);
    }
    out
}

/// Sends notes in `tx`, all their messages at once.
pub(crate) async fn tell(tx: &mut Tx, messaging: &Messaging, notes: Vec<Note<'_>>) -> Result<(), BookingError> {
    let all = notes.into_iter().flat_map(messages).collect();
    send_all(tx, messaging, all).await?;
    Ok(())
}
