//! What logistics tells the applicant through the message center: the result sent (with the
//! waybill number), delivered, or returned or lost. The inbox message goes to the applicant's
//! account, the SMS to the number they gave for the delivery.

use crate::LogisticsError;
use govhall_db::Db;
use govhall_messaging::{Channel, templates};

pub(crate) const SENT: &str = "logistics.sent";
pub(crate) const DELIVERED: &str = "logistics.delivered";
pub(crate) const FAILED: &str = "logistics.failed";

pub(crate) async fn install_templates(db: &Db) -> Result<(), LogisticsError> {
    let defaults = [
        (
            SENT,
            Channel::Sms,
            "",
            "您的办件{{ serial }}（{{ item }}）的{{ what }}已交{{ carrier }}寄送，运单号{{ waybill }}，可在办件详情中查看物流。",
        ),
        (
            SENT,
            Channel::Inbox,
            "{{ what }}已交快递寄送：{{ item }}",
            "您的办件{{ serial }}（{{ item }}）的{{ what }}已交{{ carrier }}寄送（{{ department }}）。\n运单号：{{ waybill }}\n请在“我的办件”中查看物流进度。",
        ),
        (
            DELIVERED,
            Channel::Sms,
            "",
            "您的办件{{ serial }}的{{ what }}已签收（运单号{{ waybill }}）。如有疑问，请联系{{ department }}。",
        ),
        (
            DELIVERED,
            Channel::Inbox,
            "{{ what }}已签收：{{ item }}",
            "您的办件{{ serial }}（{{ item }}）的{{ what }}已于{{ at }}签收，运单号 {{ waybill }}。\n如有疑问，请联系{{ department }}。",
        ),
        (
            FAILED,
            Channel::Sms,
            "",
            "您的办件{{ serial }}的{{ what }}快件{{ state }}（运单号{{ waybill }}），请联系{{ department }}重新寄送。",
        ),
        (
            FAILED,
            Channel::Inbox,
            "{{ what }}快件{{ state }}：{{ item }}",
            "您的办件{{ serial }}（{{ item }}）的{{ what }}快件{{ state }}，运单号 {{ waybill }}。\n请联系{{ department }}重新寄送，或到窗口办理。",
        ),
    ];
    for (code, channel, subject, body) in defaults {
        templates::install_default(db, code, channel, subject, body).await?;
    }
    Ok(())
}
