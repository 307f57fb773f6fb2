//! Changing one's mobile number (the login and where SMS go): a code sent to the new number
//! proves it is held, the current password proves the account's owner asks, and the old number
//! is told by SMS. A number that belongs to another account gets a notice instead of a code, so
//! that only its holder learns it is taken.

use crate::codes::CodeRequest;
use crate::ids::AccountId;
use crate::{Identity, IdentityError};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::Phone;
use govhall_db::{exec, sqlx};
use govhall_messaging::{Channel, OutgoingMessage, Recipient, send, verification};

/// The purpose of the codes that prove a new number.
pub const CHANGE_PHONE: &str = "change_phone";
/// SMS sent instead of a code to a number that already has an account.
pub const PHONE_TAKEN: &str = "account.phone_taken";
/// SMS sent to the old number once the change is made.
pub const PHONE_CHANGED: &str = "account.phone_changed";

pub(crate) async fn install_templates(db: &govhall_db::Db) -> Result<(), IdentityError> {
    let defaults = [
        (
            PHONE_TAKEN,
            "有人申请把您的手机号码绑定到另一个账号，但该号码已注册账号，因此没有发送验证码。如非本人操作，请忽略本短信。",
        ),
        (
            PHONE_CHANGED,
            "您的账号手机号码已更换为{{ new_phone }}，今后用新号码登录和接收短信。如非本人操作，请立即用新号码找回密码或联系客服。",
        ),
    ];
    for (code, body) in defaults {
        govhall_messaging::templates::install_default(db, code, Channel::Sms, "", body).await?;
    }
    Ok(())
}

/// `138****5678`.
fn masked(phone: &Phone) -> String {
    let p = phone.as_str();
    match (p.get(..3), p.get(7..)) {
        (Some(head), Some(tail)) => format!("{head}****{tail}"),
        _ => "****".to_owned(),
    }
}

impl Identity {
    async fn current_phone(&self, account: AccountId) -> Result<Phone, IdentityError> {
        Ok(self.account(account).await?.phone)
    }

    /// Sends a code to `new_phone` for `account` to move to it (or, when the number belongs to
    /// another account, a notice saying so: the answer here is the same either way).
    pub async fn send_phone_change_code(
        &self,
        account: AccountId,
        new_phone: &str,
        request: &CodeRequest,
    ) -> Result<(), IdentityError> {
        let phone = Phone::parse(new_phone)?;
        if phone == self.current_phone(account).await? {
            return Err(IdentityError::field("same_phone", "新手机号码与当前号码相同"));
        }
        self.guard_code_request(request).await?;
        let to = Recipient::Phone(phone.clone());
        if self.phone_taken(&phone).await? {
            let notice = (PHONE_TAKEN, serde_json::json!({}));
            verification::issue_notice(&self.db, &self.messaging, CHANGE_PHONE, &to, notice).await?;
        } else {
            verification::issue(&self.db, &self.messaging, CHANGE_PHONE, "更换手机号码", &to).await?;
        }
        Ok(())
    }

    /// Moves `account` to `new_phone`: the current password, then the code sent to the new
    /// number, then whether the number is free (only its holder gets this far). The old number
    /// is told; the audit log keeps the last four digits of both.
    pub async fn change_phone(
        &self,
        actor: &Actor,
        account: AccountId,
        new_phone: &str,
        code: &str,
        current_password: &str,
    ) -> Result<(), IdentityError> {
        let phone = Phone::parse(new_phone)?;
        let old = self.current_phone(account).await?;
        if phone == old {
            return Err(IdentityError::field("same_phone", "新手机号码与当前号码相同"));
        }
        self.confirm_password(actor, account, current_password, "account.change_phone").await?;
        verification::check(&self.db, &self.messaging, CHANGE_PHONE, &Recipient::Phone(phone.clone()), code).await?;
        if self.phone_taken(&phone).await? {
            return Err(IdentityError::AlreadyRegistered("手机号码"));
        }
        let mut tx = self.db.begin().await?;
        let changed = exec!(
            tx,
            sqlx::query("UPDATE accounts SET phone_enc = $1, phone_hash = $2 WHERE id = $3")
                .bind(self.keys.encrypt(phone.as_str()))
                .bind(self.keys.lookup_hash("phone", phone.as_str()))
                .bind(account.as_uuid())
        )
        .map_err(|e| match govhall_db::DbError::from(e) {
            // Taken by a registration between the check and here.
            e if e.is_unique_violation() => IdentityError::AlreadyRegistered("手机号码"),
            e => IdentityError::Db(e),
        })?;
        if changed == 0 {
            return Err(IdentityError::NotFound("账号"));
        }
        let told = OutgoingMessage::new(
            PHONE_CHANGED,
            Recipient::Phone(old.clone()),
            serde_json::json!({ "new_phone": masked(&phone) }),
        );
        send(&mut tx, &self.messaging, told).await?;
        let tail = |p: &Phone| p.as_str().chars().skip(7).collect::<String>();
        let event = Event::success("account.change_phone", "account", account).detail(format!(
            "尾号{} → 尾号{}",
            tail(&old),
            tail(&phone)
        ));
        audit::record(&mut tx, actor, event).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_masked_in_the_middle() {
        let p = Phone::parse("13812345678").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(masked(&p), "138****5678");
    }
}
