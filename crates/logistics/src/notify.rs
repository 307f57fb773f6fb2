//! What logistics tells the applicant through the message center: the result sent (with the
//! waybill number), delivered, or returned or lost. The inbox message goes to the applicant's
//! account, the SMS to the number they gave for the delivery.

use crate::LogisticsError;
use govhall_core::Phone;
use govhall_db::{Db, Tx};
use govhall_messaging::{Channel, Messaging, OutgoingMessage, Recipient, send_all, templates};
use uuid::Uuid;

pub(crate) const SENT: &str = "logistics.sent";
pub(crate) const DELIVERED: &str = "logistics.delivered";
pub(crate) const FAILED: &str = "logistics.failed";

pub(crate) async fn install_templates(db: &Db) -> Result<(), LogisticsError> {
    let defaults = [
        (
            SENT,
            Channel::Sms,
            "",
            "您的办件{{ serial }}（{{ item }}）的办理结果已通过{{ carrier }}寄出，运单号{{ waybill }}，可在办件详情中查看物流。",
        ),
        (
            SENT,
            Channel::Inbox,
            "办理结果已寄出：{{ item }}",
            "您的办件{{ serial }}（{{ item }}）的办理结果已由{{ department }}通过{{ carrier }}寄出。\n运单号：{{ waybill }}\n请在“我的办件”中查看物流进度。",
        ),
        (
            DELIVERED,
            Channel::Sms,
            "",
            "您的办件{{ serial }}的办理结果已签收（运单号{{ waybill }}）。如非本人或委托人签收，请联系{{ department }}。",
        ),
        (
            DELIVERED,
            Channel::Inbox,
            "办理结果已签收：{{ item }}",
            "您的办件{{ serial }}（{{ item }}）的办理结果已于{{ at }}签收，运单号 {{ waybill }}，办件已办结送达。\n如非本人或委托人签收，请联系{{ department }}。",
        ),
        (
            FAILED,
            Channel::Sms,
            "",
            "您的办件{{ serial }}的结果快件{{ state }}（运单号{{ waybill }}），{{ department }}将与您联系重新寄送。",
        ),
        (
            FAILED,
            Channel::Inbox,
            "结果快件{{ state }}：{{ item }}",
            "您的办件{{ serial }}（{{ item }}）的结果快件{{ state }}，运单号 {{ waybill }}。\n{{ department }}将与您联系重新寄送，您也可以联系该部门到窗口领取。",
        ),
    ];
    for (code, channel, subject, body) in defaults {
        templates::install_default(db, code, channel, subject, body).await?;
    }
    Ok(())
}

/// Tells the applicant (`account`, and `phone` by SMS) with `template`; `key` makes it once.
pub(crate) async fn tell(
    tx: &mut Tx,
    messaging: &Messaging,
    template: &str,
    account: Uuid,
    phone: Option<&Phone>,
    params: serde_json::Value,
    key: &str,
) -> Result<(), LogisticsError> {
    let mut all = vec![
        OutgoingMessage::new(template, Recipient::Account(account), params.clone())
            .idempotency_key(format!("{key}:inbox")),
    ];
    if let Some(phone) = phone {
        all.push(
            OutgoingMessage::new(template, Recipient::Phone(phone.clone()), params)
                .idempotency_key(format!("{key}:sms")),
        );
    }
    send_all(tx, messaging, all).await?;
    Ok(())
}
