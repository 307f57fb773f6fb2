//! What payments tell the payer through the message center: the order issued (inbox and SMS
//! with the notice number, amount and expiry), a reminder before expiry (SMS, called off when
//! the order is paid or closed), paid (with the electronic receipt number), expired,
//! cancelled and refunded.

use crate::PaymentError;
use crate::order::Order;
use govhall_core::Phone;
use govhall_core::clock::china_time;
use govhall_db::{Db, Tx};
use govhall_messaging::{Channel, Messaging, OutgoingMessage, Recipient, send_all, templates};
use serde_json::{Value, json};

pub(crate) const ISSUED: &str = "payment.issued";
pub(crate) const REMINDER: &str = "payment.reminder";
pub(crate) const PAID: &str = "payment.paid";
pub(crate) const CLOSED: &str = "payment.closed";
pub(crate) const REFUNDED: &str = "payment.refunded";

pub(crate) async fn install_templates(db: &Db) -> Result<(), PaymentError> {
    let defaults = [
        (
            ISSUED,
            Channel::Sms,
            "",
            "您申请的“{{ subject }}”需缴费{{ amount }}元，缴款码{{ notice }}，请于{{ expires }}前在网上办事大厅“我的办件”中缴费。",
        ),
        (
            ISSUED,
            Channel::Inbox,
            "待缴费：{{ subject }} {{ amount }} 元",
            "您申请的“{{ subject }}”（办件编号 {{ serial }}）需缴纳费用 {{ amount }} 元。\n缴款码：{{ notice }}\n缴费期限：{{ expires }}\n请在“我的办件”中打开该办件，点击“去缴费”。缴费完成后办件自动进入下一环节。",
        ),
        (
            REMINDER,
            Channel::Sms,
            "",
            "提醒：您“{{ subject }}”的缴款单（缴款码{{ notice }}，{{ amount }}元）将于{{ expires }}过期，请及时缴费。",
        ),
        (
            PAID,
            Channel::Sms,
            "",
            "您已缴纳“{{ subject }}”费用{{ amount }}元，电子票据号{{ receipt }}。{% if step %}办件已进入“{{ step }}”环节。{% endif %}可在办件页面下载电子票据。",
        ),
        (
            PAID,
            Channel::Inbox,
            "缴费成功：{{ subject }} {{ amount }} 元",
            "您已缴纳“{{ subject }}”（办件编号 {{ serial }}）的费用 {{ amount }} 元。\n缴款码：{{ notice }}\n电子票据号：{{ receipt }}\n{% if step %}办件已进入“{{ step }}”环节。\n{% endif %}可凭电子票据号到执收单位领取财政收据，也可在办件页面下载电子票据。",
        ),
        (
            CLOSED,
            Channel::Inbox,
            "缴款单{{ state }}：{{ subject }}",
            "您“{{ subject }}”（办件编号 {{ serial }}）的缴款单（缴款码 {{ notice }}）{{ state }}。{% if note %}\n说明：{{ note }}{% endif %}\n如仍需办理，请联系办理部门重新开具缴款单。",
        ),
        (REFUNDED, Channel::Sms, "", "您“{{ subject }}”的缴费已退款{{ amount }}元，将原路退回。原因：{{ reason }}"),
        (
            REFUNDED,
            Channel::Inbox,
            "退款：{{ subject }} {{ amount }} 元",
            "您“{{ subject }}”（缴款码 {{ notice }}）的缴费已退款 {{ amount }} 元，款项将原路退回。\n原因：{{ reason }}",
        ),
    ];
    for (code, channel, subject, body) in defaults {
        templates::install_default(db, code, channel, subject, body).await?;
    }
    Ok(())
}

/// The parameters every payment message has.
pub(crate) fn params(order: &Order, serial: &str) -> Value {
    json!({
        "subject": order.subject,
        "serial": serial,
        "notice": order.notice_number,
        "amount": order.total.yuan(),
        "expires": china_time(order.expires_at).format("%Y-%m-%d %H:%M").to_string(),
        "state": order.state.label(),
        "note": order.closed_note,
        "receipt": order.receipt.as_ref().map(|r| r.display()).unwrap_or_default(),
    })
}

/// The key of an order's reminder (called off by it).
pub(crate) fn reminder_key(order: &Order) -> String {
    format!("payment:{}:reminder:sms", order.id.as_uuid())
}

/// Sends `template` about `order` to the payer's inbox (when `inbox`) and phone, keyed by
/// `key`; with `at`, the SMS waits until then.
pub(crate) fn messages(
    template: &str,
    order: &Order,
    phone: Option<&Phone>,
    params: Value,
    key: &str,
    inbox: bool,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> Vec<OutgoingMessage> {
    let mut out = Vec::new();
    if inbox {
        out.push(
            OutgoingMessage::new(template, Recipient::Account(order.payer_id.as_uuid()), params.clone())
                .idempotency_key(format!("{key}:inbox")),
        );
    }
    if let Some(phone) = phone {
        let mut m = OutgoingMessage::new(template, Recipient::Phone(phone.clone()), params)
            .idempotency_key(format!("{key}:sms"));
        if let Some(at) = at {
            m = m.send_at(at);
        }
        out.push(m);
    }
    out
}

/// Sends `messages` in `tx`.
pub(crate) async fn send(
    tx: &mut Tx,
    messaging: &Messaging,
    messages: Vec<OutgoingMessage>,
) -> Result<(), PaymentError> {
    send_all(tx, messaging, messages).await?;
    Ok(())
}
