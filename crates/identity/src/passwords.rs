//! Passwords: the rule a new one must meet, changing one's own, and resetting a forgotten one
//! by an SMS code (which also unlocks the account and ends its sessions).

use crate::codes::CodeRequest;
use crate::crypto::{hash_password, verify_password};
use crate::ids::{AccountId, SessionId};
use crate::{Identity, IdentityError};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::Phone;
use govhall_db::sqlx;
use govhall_db::{exec, run};
use govhall_messaging::Recipient;
use govhall_messaging::verification;

/// Checks a new password: 8 to 64 characters, with at least two of letters, digits and others.
pub fn check_password(password: &str) -> Result<(), IdentityError> {
    let len = password.chars().count();
    let kinds = [
        password.chars().any(|c| c.is_ascii_alphabetic()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if !(8..=64).contains(&len) {
        return Err(IdentityError::field("weak_password", "密码长度应为 8 到 64 位"));
    }
    if kinds < 2 {
        return Err(IdentityError::field("weak_password", "密码应至少包含字母、数字、符号中的两类"));
    }
    Ok(())
}

/// The purpose of password-reset codes.
pub const RESET_PASSWORD: &str = "reset_password";

impl Identity {
    /// Checks the password of `id`, signed in, before a change that needs it (a new password,
    /// a new mobile number). Counted like a sign-in for the account and the actor's address
    /// (counted first, so that guesses sent at once cannot pass together): past the limit the
    /// account is locked there, as it is for signing in. A wrong one is audited as a failed
    /// `action`.
    pub(crate) async fn confirm_password(
        &self,
        actor: &Actor,
        id: AccountId,
        current: &str,
        action: &str,
    ) -> Result<(), IdentityError> {
        let subject = crate::throttle::Subject::Account(id);
        let failed = async |detail: &str| {
            let event = Event::success(action, "account", id).outcome(audit::Outcome::Failure).detail(detail);
            audit::record_alone(&self.db, actor, event).await
        };
        if let crate::throttle::Gate::Locked(minutes) = self.count_attempt(&subject, &actor.client_ip).await? {
            failed("账号在该地址已锁定").await?;
            return Err(IdentityError::Locked(minutes));
        }
        let mut conn = self.db.conn().await?;
        let stored: Option<String> = run!(conn, |c| {
            sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&mut *c)
                .await
        })?;
        drop(conn);
        let stored = stored.ok_or(IdentityError::NotFound("账号"))?;
        let current_ok = {
            let current = current.to_owned();
            self.argon(move || verify_password(&current, &stored)).await?
        };
        if !current_ok {
            let lock = self.count_failure(&subject, &actor.client_ip).await?;
            failed("当前密码不正确").await?;
            return Err(match lock {
                Some(minutes) => IdentityError::Locked(minutes),
                None => IdentityError::field("wrong_password", "当前密码不正确"),
            });
        }
        let mut tx = self.db.begin().await?;
        self.clear_attempts(&mut tx, &subject, &actor.client_ip).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes one's own password after checking the current one; other sessions end.
    pub async fn change_password(
        &self,
        actor: &Actor,
        id: AccountId,
        current: &str,
        new: &str,
        keep_session: Option<SessionId>,
    ) -> Result<(), IdentityError> {
        check_password(new)?;
        self.confirm_password(actor, id, current, "account.change_password").await?;
        let hash = self.hash_new_password(new.to_owned()).await?;
        let mut tx = self.db.begin().await?;
        exec!(tx, sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2").bind(&hash).bind(id.as_uuid()))?;
        self.revoke_sessions_in(&mut tx, id, keep_session).await?;
        audit::record(&mut tx, actor, Event::success("account.change_password", "account", id)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends a password-reset code to a registered mobile number (a staff account waiting for
    /// activation gets its first password the same way). Every number gets the same answer and
    /// one SMS, so that the form does not tell who is registered: an unknown number hears that
    /// it has no account, an administrator's that administrators are reset by an operator
    /// (`govhall user reset-password`), never by whoever holds their phone for a moment.
    pub async fn send_reset_code(&self, phone: &str, request: &CodeRequest) -> Result<(), IdentityError> {
        let phone = Phone::parse(phone)?;
        self.guard_code_request(request).await?;
        let to = Recipient::Phone(phone.clone());
        let notice = |template| {
            verification::issue_notice(
                &self.db,
                &self.messaging,
                RESET_PASSWORD,
                &to,
                (template, serde_json::json!({})),
            )
        };
        match self.find_login(phone.as_str()).await? {
            Some((account, _)) if matches!(account.kind, crate::AccountKind::Admin(_)) => {
                notice(crate::codes::ADMIN_RESET_REFUSED).await?;
            }
            Some((_, row)) => {
                let label = if row.activation_pending { "激活账号并设置密码" } else { "找回密码" };
                verification::issue(&self.db, &self.messaging, RESET_PASSWORD, label, &to).await?;
            }
            None => {
                notice(crate::codes::NOT_REGISTERED).await?;
            }
        }
        Ok(())
    }

    /// Sets a new password with an SMS code; unlocks the account and ends all its sessions.
    pub async fn reset_password(
        &self,
        phone: &str,
        code: &str,
        new: &str,
        client_ip: &str,
    ) -> Result<AccountId, IdentityError> {
        let phone = Phone::parse(phone)?;
        check_password(new)?;
        verification::check(&self.db, &self.messaging, RESET_PASSWORD, &Recipient::Phone(phone.clone()), code).await?;
        let Some((account, _)) =
            self.find_login(phone.as_str()).await?.filter(|(a, _)| !matches!(a.kind, crate::AccountKind::Admin(_)))
        else {
            return Err(IdentityError::Messaging(govhall_messaging::MessagingError::CodeExpired));
        };
        let actor = Actor { id: Some(account.id), label: account.audit_label(), client_ip: client_ip.to_owned() };
        self.replace_password(&actor, account.id, new, "account.reset_password").await?;
        Ok(account.id)
    }

    /// Sets a password that replaces a forgotten one: unlocks the account, ends all its
    /// sessions, and records `action`.
    async fn replace_password(
        &self,
        actor: &Actor,
        account: AccountId,
        new: &str,
        action: &str,
    ) -> Result<(), IdentityError> {
        let hash = self.hash_new_password(new.to_owned()).await?;
        let mut tx = self.db.begin().await?;
        exec!(
            tx,
            sqlx::query(
                "UPDATE accounts SET password_hash = $1, failed_logins = 0, locked_until = NULL,
                                     activation_pending = $3 WHERE id = $2"
            )
            .bind(&hash)
            .bind(account.as_uuid())
            .bind(false)
        )?;
        exec!(tx, sqlx::query("DELETE FROM login_locks WHERE subject = $1").bind(format!("account:{account}")))?;
        self.revoke_sessions_in(&mut tx, account, None).await?;
        audit::record(&mut tx, actor, Event::success(action, "account", account)).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Identity {
    /// An Argon2id hash of a new password, computed in a turn of the password gate.
    pub(crate) async fn hash_new_password(&self, password: String) -> Result<String, IdentityError> {
        self.argon(move || hash_password(&password)).await?
    }
}

impl Identity {
    /// Sets an account's password from the command line (`govhall user reset-password`), for
    /// administrators, who cannot reset theirs by SMS: unlocks it and ends its sessions.
    pub async fn set_password(&self, actor: &Actor, login: &str, new: &str) -> Result<AccountId, IdentityError> {
        check_password(new)?;
        let Some((account, _)) = self.find_login(login).await? else {
            return Err(IdentityError::NotFound("账号"));
        };
        self.replace_password(actor, account.id, new, "account.set_password").await?;
        Ok(account.id)
    }
}
