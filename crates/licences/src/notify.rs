//! What the licence registry tells a holder through the message center: a licence issued
//! (inbox and SMS), and a licence revoked (inbox).

use crate::LicenceError;
use crate::model::Licence;
use govhall_core::Phone;
use govhall_db::{Db, Tx};
use govhall_messaging::{Channel, Messaging, OutgoingMessage, Recipient, send_all, templates};
use serde_json::json;
use uuid::Uuid;

pub(crate) const ISSUED: &str = "licence.issued";
pub(crate) const REVOKED: &str = "licence.revoked";

pub(crate) async fn install_templates(db: &Db) -> Result<(), LicenceError> {
    let defaults = [
        (
            ISSUED,
            Channel::Sms,
            "",
            "您的{{ type }}（编号{{ number }}）已签发，可在网上办事大厅“我的证照”中查看和下载，办理其他事项时可免交。",
        ),
        (
            ISSUED,
            Channel::Inbox,
            "电子证照已签发：{{ type }}",
            "您的{{ type }}已由{{ issuer }}签发。\n证照编号：{{ number }}\n有效期：{{ validity }}\n{% if serial %}办件编号：{{ serial }}\n{% endif %}请在“我的证照”中查看和下载。证照带有数字签名，任何人可扫描证照上的二维码核验真伪。",
        ),
        (
            REVOKED,
            Channel::Inbox,
            "电子证照已注销：{{ type }}",
            "您的{{ type }}（编号 {{ number }}）已由{{ issuer }}注销，不能再使用。\n原因：{{ reason }}",
        ),
    ];
    for (code, channel, subject, body) in defaults {
        templates::install_default(db, code, channel, subject, body).await?;
    }
    Ok(())
}

/// Tells `account` (and `phone`, for the SMS templates) about `licence`.
pub(crate) async fn tell(
    tx: &mut Tx,
    messaging: &Messaging,
    template: &str,
    licence: &Licence,
    account: Uuid,
    phone: Option<&Phone>,
    extra: serde_json::Value,
) -> Result<(), LicenceError> {
    let mut params = json!({
        "type": licence.type_name,
        "number": licence.number,
        "issuer": licence.issuer_name,
        "validity": licence.validity(),
    });
    if let (Some(p), serde_json::Value::Object(more)) = (params.as_object_mut(), extra) {
        p.extend(more);
    }
    let key = format!("licence:{}:{template}", licence.id.as_uuid());
    let mut all = vec![
        OutgoingMessage::new(template, Recipient::Account(account), params.clone())
            .idempotency_key(format!("{key}:inbox")),
    ];
    if let Some(phone) = phone.filter(|_| template == ISSUED) {
        all.push(
            OutgoingMessage::new(template, Recipient::Phone(phone.clone()), params)
                .idempotency_key(format!("{key}:sms")),
        );
    }
    send_all(tx, messaging, all).await?;
    Ok(())
}
