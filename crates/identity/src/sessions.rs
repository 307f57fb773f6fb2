//! Signing in and out: sessions stored in the database (so they work across nodes), with idle
//! and absolute timeouts; bearer tokens for the app and partners; throttling per account and
//! per client address, and a temporary lock after repeated failures.

use crate::crypto::{dummy_password_hash, new_token, token_hash, verify_password};
use crate::ids::{AccountId, EnterpriseId, SessionId};
use crate::{Identity, IdentityError, throttle};
use chrono::{DateTime, Duration, Utc};
use govhall_audit::{self as audit, Actor, Event, Outcome};
use govhall_db::sqlx;
use govhall_db::{Tx, exec, run};
use rand::Rng;
use uuid::Uuid;

/// A web sign-in (cookie) or an API bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Browser cookie.
    Web,
    /// `Authorization: Bearer`.
    Api,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Web => "web",
            SessionKind::Api => "api",
        }
    }
}

/// Who is signing in, from where.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Mobile number or resident ID number.
    pub login: String,
    /// Password.
    pub password: String,
    /// The client's address.
    pub client_ip: String,
    /// The client's user agent, for the owner's list of sessions.
    pub user_agent: String,
    /// Whether the browser signing in carries an administrator's live session.
    pub signed_in_admin: bool,
}

/// A new session: the token goes to the client once and is stored only as a hash.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session's id.
    pub id: SessionId,
    /// The secret token.
    pub token: String,
    /// The account.
    pub account: AccountId,
    /// When it ends at the latest.
    pub expires_at: DateTime<Utc>,
}

/// A session and its account as one row reads them (the session's columns named `s_…`).
#[derive(sqlx::FromRow)]
struct Joined {
    s_id: Uuid,
    s_account_id: Uuid,
    s_kind: String,
    s_acting_enterprise_id: Option<Uuid>,
    s_client_ip: String,
    s_user_agent: String,
    s_created_at: DateTime<Utc>,
    s_last_seen_at: DateTime<Utc>,
    s_expires_at: DateTime<Utc>,
    #[sqlx(flatten)]
    account: crate::accounts::Row,
}

/// A live session, as a request finds it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    /// Id.
    pub id: Uuid,
    /// The account.
    pub account_id: Uuid,
    /// `web` or `api`.
    pub kind: String,
    /// The enterprise the person acts for, if any.
    pub acting_enterprise_id: Option<Uuid>,
    /// Address at sign-in.
    pub client_ip: String,
    /// User agent at sign-in.
    pub user_agent: String,
    /// Signed in at.
    pub created_at: DateTime<Utc>,
    /// Last request.
    pub last_seen_at: DateTime<Utc>,
    /// Ends at the latest.
    pub expires_at: DateTime<Utc>,
}

impl Session {
    /// The session's typed id.
    pub fn session_id(&self) -> SessionId {
        SessionId::from_uuid(self.id)
    }

    /// The account's typed id.
    pub fn account(&self) -> AccountId {
        AccountId::from_uuid(self.account_id)
    }
}

const WINDOW_MINUTES: i64 = 15;

impl Identity {
    fn idle(&self, kind: &str) -> Duration {
        if kind == "api" {
            Duration::days(self.settings.api_token_days)
        } else {
            Duration::minutes(self.settings.session_idle_minutes)
        }
    }

    /// Checks a login and password and opens a session.
    ///
    /// Every attempt is counted before the password is checked, atomically in the database, so
    /// that attempts sent at once, to one node or to many, cannot slip past the limits together:
    /// per client address (whatever the login names, known or not), and per account (or unknown
    /// login) and address, with a lock that grows each time. A login that names no account
    /// goes through the same steps and answers the same, locks included.
    pub async fn login(&self, creds: &Credentials, kind: SessionKind) -> Result<NewSession, IdentityError> {
        let now = self.db.now();
        let anonymous = Actor { id: None, label: "未登录".to_owned(), client_ip: creds.client_ip.clone() };
        let login_hash = self.keys.lookup_hash("login", creds.login.trim());
        let attempt = Uuid::now_v7();
        let mut conn = self.db.conn().await?;
        exec!(
            conn,
            sqlx::query("INSERT INTO login_failures (id, client_ip, login, at) VALUES ($1, $2, $3, $4)")
                .bind(attempt)
                .bind(&creds.client_ip)
                .bind(&login_hash)
                .bind(now)
        )?;
        let since = now - Duration::minutes(WINDOW_MINUTES);
        if rand::rng().random_ratio(1, 64) {
            // Now and then, forget attempts no limit looks at any more, and locks long over.
            exec!(conn, sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(now - Duration::days(1)))?;
            exec!(
                conn,
                sqlx::query(
                    "DELETE FROM login_locks WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $2)"
                )
                .bind(now - Duration::days(2))
                .bind(now)
            )?;
        }
        let from_address: i64 = run!(conn, |c| {
            sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE client_ip = $1 AND at > $2")
                .bind(&creds.client_ip)
                .bind(since)
                .fetch_one(&mut *c)
                .await
        })?;
        drop(conn);
        if from_address > self.settings.address_failures {
            audit::record_alone(
                &self.db,
                &anonymous,
                Event::success("login", "", "").outcome(Outcome::Denied).detail("客户端地址被限流"),
            )
            .await?;
            return Err(IdentityError::Throttled);
        }
        let found = self.find_login(&creds.login).await?;
        let subject = match &found {
            Some((account, _)) => throttle::Subject::Account(account.id),
            None => throttle::Subject::Login(login_hash),
        };
        let actor = found.as_ref().map_or_else(
            || anonymous.clone(),
            |(account, _)| Actor {
                id: Some(account.id),
                label: account.audit_label(),
                client_ip: creds.client_ip.clone(),
            },
        );
        if let throttle::Gate::Locked(minutes) = self.count_attempt(&subject, &creds.client_ip).await? {
            self.login_failed(&actor, &subject, None, "账号在该地址已锁定").await?;
            return Err(IdentityError::Locked(minutes));
        }
        // An account waiting for its owner to set a password has none that can match.
        let stored_hash = match &found {
            Some((_, row)) if !row.activation_pending => row.password_hash.clone(),
            _ => dummy_password_hash().to_owned(),
        };
        let password = creds.password.clone();
        let matched = self.argon(move || verify_password(&password, &stored_hash)).await?;
        let right = matched && found.as_ref().is_some_and(|(_, row)| !row.activation_pending);
        let Some((account, _)) = found.filter(|_| right) else {
            let lock = self.count_failure(&subject, &creds.client_ip).await?;
            self.login_failed(&actor, &subject, lock, "账号或密码错误").await?;
            return Err(match lock {
                Some(minutes) => IdentityError::Locked(minutes),
                None => IdentityError::BadCredentials,
            });
        };
        // Only someone who knows the password learns that the account is disabled.
        if !account.active {
            self.login_failed(&actor, &subject, None, "账号已停用").await?;
            return Err(IdentityError::Disabled);
        }
        let first_sign_in = account.last_login_at.is_none();
        let mut tx = self.db.begin().await?;
        exec!(tx, sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(attempt))?;
        self.clear_attempts(&mut tx, &subject, &creds.client_ip).await?;
        exec!(
            tx,
            sqlx::query("UPDATE accounts SET failed_logins = 0, locked_until = NULL, last_login_at = $1 WHERE id = $2")
                .bind(now)
                .bind(account.id.as_uuid())
        )?;
        let session = self.open_session(&mut tx, account.id, kind, &creds.client_ip, &creds.user_agent).await?;
        let action = if kind == SessionKind::Api { "login.api" } else { "login" };
        audit::record(&mut tx, &actor, Event::success(action, "session", session.id)).await?;
        if first_sign_in && account.kind == crate::AccountKind::Staff {
            self.flag_first_staff_sign_in(&mut tx, &actor, &account, creds).await?;
        }
        tx.commit().await?;
        Ok(session)
    }

    async fn open_session(
        &self,
        tx: &mut Tx,
        account: AccountId,
        kind: SessionKind,
        client_ip: &str,
        user_agent: &str,
    ) -> Result<NewSession, IdentityError> {
        let now = self.db.now();
        let expires_at = match kind {
            SessionKind::Web => now + Duration::hours(self.settings.session_absolute_hours),
            SessionKind::Api => now + Duration::days(self.settings.api_token_days),
        };
        let id = SessionId::new();
        let token = new_token();
        let user_agent: String = user_agent.chars().take(200).collect();
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO sessions (id, token_hash, account_id, kind, client_ip, user_agent, created_at, last_seen_at,
                                       expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)"
            )
            .bind(id.as_uuid())
            .bind(token_hash(&token))
            .bind(account.as_uuid())
            .bind(kind.as_str())
            .bind(client_ip)
            .bind(&user_agent)
            .bind(now)
            .bind(expires_at)
        )?;
        Ok(NewSession { id, token, account, expires_at })
    }

    /// Records a failed login in the audit log (the attempt itself was counted before the
    /// check); `lock` names the minutes of a lock this failure set.
    async fn login_failed(
        &self,
        actor: &Actor,
        subject: &throttle::Subject,
        lock: Option<i64>,
        why: &str,
    ) -> Result<(), IdentityError> {
        let mut detail = why.to_owned();
        if let Some(minutes) = lock {
            detail.push_str(&format!("，该地址对此账号锁定 {minutes} 分钟"));
        }
        let (kind, target) = match subject {
            throttle::Subject::Account(id) => ("account", id.to_string()),
            throttle::Subject::Login(_) => ("", String::new()),
        };
        audit::record_alone(
            &self.db,
            actor,
            Event::success("login", kind, target).outcome(Outcome::Failure).detail(detail),
        )
        .await?;
        Ok(())
    }

    /// The live session a token belongs to with its (active) account, read together: what every
    /// signed-in request needs first. Touches the session at most once a minute.
    pub async fn session_and_account(
        &self,
        token: &str,
        kind: SessionKind,
    ) -> Result<Option<(Session, crate::Account)>, IdentityError> {
        if token.is_empty() || token.len() > 100 {
            return Ok(None);
        }
        let now = self.db.now();
        let sql = format!(
            "SELECT s.id AS s_id, s.account_id AS s_account_id, s.kind AS s_kind,
                    s.acting_enterprise_id AS s_acting_enterprise_id, s.client_ip AS s_client_ip,
                    s.user_agent AS s_user_agent, s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at,
                    s.expires_at AS s_expires_at, {}
             FROM sessions s JOIN accounts a ON a.id = s.account_id
             WHERE s.token_hash = $1 AND s.kind = $2 AND s.revoked_at IS NULL AND s.expires_at > $3
               AND a.status = 'active'",
            crate::accounts::COLUMNS.split(", ").map(|c| format!("a.{}", c.trim())).collect::<Vec<_>>().join(", ")
        );
        let mut conn = self.db.conn().await?;
        let found: Option<Joined> = run!(conn, |c| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(token_hash(token))
                .bind(kind.as_str())
                .bind(now)
                .fetch_optional(&mut *c)
                .await
        })?;
        drop(conn);
        let Some(joined) = found else { return Ok(None) };
        let session = Session {
            id: joined.s_id,
            account_id: joined.s_account_id,
            kind: joined.s_kind,
            acting_enterprise_id: joined.s_acting_enterprise_id,
            client_ip: joined.s_client_ip,
            user_agent: joined.s_user_agent,
            created_at: joined.s_created_at,
            last_seen_at: joined.s_last_seen_at,
            expires_at: joined.s_expires_at,
        };
        if session.last_seen_at + self.idle(&session.kind) <= now {
            return Ok(None);
        }
        if now - session.last_seen_at > Duration::seconds(60) {
            let mut tx = self.db.begin().await?;
            exec!(tx, sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2").bind(now).bind(session.id))?;
            tx.commit().await?;
        }
        let account = self.account_from(joined.account)?;
        Ok(Some((session, account)))
    }

    /// An account's live sessions, newest first.
    pub async fn sessions_of(&self, account: AccountId) -> Result<Vec<Session>, IdentityError> {
        let now = self.db.now();
        let mut conn = self.db.conn().await?;
        let all: Vec<Session> = run!(conn, |c| {
            sqlx::query_as(
                "SELECT id, account_id, kind, acting_enterprise_id, client_ip, user_agent, created_at, last_seen_at,
                        expires_at
                 FROM sessions WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2
                 ORDER BY created_at DESC",
            )
            .bind(account.as_uuid())
            .bind(now)
            .fetch_all(&mut *c)
            .await
        })?;
        Ok(all.into_iter().filter(|s| s.last_seen_at + self.idle(&s.kind) > now).collect())
    }

    /// Ends one of the account's own sessions (another account's session is "not found").
    pub async fn revoke_session(&self, actor: &Actor, account: AccountId, id: SessionId) -> Result<(), IdentityError> {
        let mut tx = self.db.begin().await?;
        let n = exec!(
            tx,
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL")
                .bind(self.db.now())
                .bind(id.as_uuid())
                .bind(account.as_uuid())
        )?;
        if n == 0 {
            return Err(IdentityError::NotFound("会话"));
        }
        audit::record(&mut tx, actor, Event::success("session.revoke", "session", id)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the account but `keep` ("log out everywhere").
    pub async fn revoke_all_sessions(
        &self,
        actor: &Actor,
        account: AccountId,
        keep: Option<SessionId>,
    ) -> Result<u64, IdentityError> {
        let mut tx = self.db.begin().await?;
        let n = self.revoke_sessions_in(&mut tx, account, keep).await?;
        audit::record(
            &mut tx,
            actor,
            Event::success("session.revoke_all", "account", account).detail(format!("{n} 个会话")),
        )
        .await?;
        tx.commit().await?;
        Ok(n)
    }

    pub(crate) async fn revoke_sessions_in(
        &self,
        tx: &mut Tx,
        account: AccountId,
        keep: Option<SessionId>,
    ) -> Result<u64, IdentityError> {
        Ok(exec!(
            tx,
            sqlx::query(
                "UPDATE sessions SET revoked_at = $1
                 WHERE account_id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR id <> $3)"
            )
            .bind(self.db.now())
            .bind(account.as_uuid())
            .bind(keep.map(|k| k.as_uuid()))
        )?)
    }

    /// Signs out: ends the session the token belongs to.
    pub async fn logout(&self, actor: &Actor, session: SessionId) -> Result<(), IdentityError> {
        let mut tx = self.db.begin().await?;
        exec!(
            tx,
            sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(self.db.now())
                .bind(session.as_uuid())
        )?;
        audit::record(&mut tx, actor, Event::success("logout", "session", session)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes the session act for an enterprise the account is an active member of (or for the
    /// person alone with `None`).
    pub async fn act_for(
        &self,
        actor: &Actor,
        session: SessionId,
        account: AccountId,
        enterprise: Option<EnterpriseId>,
    ) -> Result<(), IdentityError> {
        if let Some(e) = enterprise
            && self.membership(e, account).await?.is_none_or(|m| m.status != "active")
        {
            return Err(IdentityError::Forbidden);
        }
        let mut tx = self.db.begin().await?;
        exec!(
            tx,
            sqlx::query("UPDATE sessions SET acting_enterprise_id = $1 WHERE id = $2 AND account_id = $3")
                .bind(enterprise.map(|e| e.as_uuid()))
                .bind(session.as_uuid())
                .bind(account.as_uuid())
        )?;
        let target = enterprise.map(|e| e.to_string()).unwrap_or_default();
        audit::record(&mut tx, actor, Event::success("session.act_for", "enterprise", target)).await?;
        tx.commit().await?;
        Ok(())
    }
}
