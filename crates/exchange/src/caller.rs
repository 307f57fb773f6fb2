//! Who is calling: a department's system, known by its key, calling from an address it may use,
//! its request signed when its connection asks for signatures, and each nonce used once. The
//! nonce is recorded (and committed) before the request does anything, so two copies sent at
//! once cannot both pass.

use crate::{Exchange, ExchangeError, signing};
use chrono::{DateTime, DurationRound, Utc};
use govhall_audit::Actor;
use govhall_db::{exec, run, sqlx};
use govhall_identity::clients::{self, ApiClient};
use govhall_identity::{Access, DepartmentId, Permission, Scope};
use std::collections::{BTreeMap, BTreeSet};
use uuid::Uuid;

const CONTACTED: &str = "UPDATE exchange_links SET last_contact_at = $1
     WHERE department_id = $2 AND (last_contact_at IS NULL OR last_contact_at < $3)";

/// The scope a department's system holds.
pub const SCOPE: &str = "exchange";

/// A request as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The key (`X-Api-Key`).
    pub key: &'a str,
    /// The caller's address.
    pub client_ip: &'a str,
    /// `GET`, `POST` …
    pub method: &'a str,
    /// The path with its query string, as sent.
    pub path_and_query: &'a str,
    /// `X-GovHall-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `X-GovHall-Nonce`.
    pub nonce: Option<&'a str>,
    /// `X-GovHall-Signature`.
    pub signature: Option<&'a str>,
    /// The body's bytes.
    pub body: &'a [u8],
}

/// A department's system, checked.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The client.
    pub client: ApiClient,
    /// Its department.
    pub department: DepartmentId,
    /// The department's name.
    pub department_name: String,
    /// What it may do: handle the department's cases, as the department's staff do.
    pub access: Access,
    /// How the audit log names it.
    pub actor: Actor,
}

/// What a department's system may do over its department's cases.
pub fn department_access(department: DepartmentId) -> Access {
    let department_only = BTreeSet::from([Scope::Department]);
    let grants: BTreeMap<Permission, BTreeSet<Scope>> = [
        Permission::CaseView,
        Permission::CaseViewPersonalData,
        Permission::CaseReview,
        Permission::CaseDecide,
        // The department's system is where its cases are handled: a case a member of staff
        // claimed in the hall does not stop it.
        Permission::CaseAssign,
    ]
    .into_iter()
    .map(|p| (p, department_only.clone()))
    .collect();
    Access { account: None, department: Some(department), region: None, subtree: BTreeSet::from([department]), grants }
}

fn unauthenticated(code: &'static str, message: &str) -> ExchangeError {
    ExchangeError::Unauthenticated(code, message.to_owned())
}

fn bad_signature(code: &'static str, message: &str) -> ExchangeError {
    ExchangeError::BadSignature(code, message.to_owned())
}

impl Exchange {
    /// Checks a request of a department's system: its key, address, signature and nonce, and
    /// its connection. A refusal of a known client is written to the exchange log.
    pub async fn caller(&self, r: Request<'_>) -> Result<Caller, ExchangeError> {
        let key = r.key.trim();
        if key.is_empty() {
            return Err(unauthenticated("api_key_required", "请在 X-Api-Key 请求头中提供接入系统密钥"));
        }
        let client = clients::authenticate(self.db(), key)
            .await?
            .ok_or_else(|| unauthenticated("invalid_api_key", "接入系统密钥无效或已停用"))?;
        match self.check(&client, r).await {
            Ok(caller) => Ok(caller),
            // A flood past the limit is logged once a minute, not once a call.
            Err(e @ ExchangeError::RateLimited(_, false)) => Err(e),
            Err(e) => {
                let department = self.link_of_client(client.id).await.ok().flatten().map(|l| l.0);
                self.log_refusal(&client, department, r, &e).await;
                Err(e)
            }
        }
    }

    async fn check(&self, client: &ApiClient, r: Request<'_>) -> Result<Caller, ExchangeError> {
        if !client.may(SCOPE) {
            return Err(ExchangeError::Forbidden("scope_missing", "该接入系统无权使用部门系统对接接口".into()));
        }
        if !client.allows(r.client_ip) {
            return Err(ExchangeError::Forbidden(
                "address_not_allowed",
                format!("该接入系统不允许从地址 {} 调用", r.client_ip),
            ));
        }
        if let Some(sealed) = &client.signing_secret_enc {
            let secret = self.identity().keys().decrypt(sealed).map_err(|e| ExchangeError::Internal(e.to_string()))?;
            self.check_signature(client, secret.as_bytes(), r).await?;
        }
        self.count_call(client).await?;
        let Some((department, department_name)) = self.link_of_client(client.id).await? else {
            return Err(ExchangeError::Forbidden("not_connected", "该接入系统未与任何部门对接，或对接已停用".into()));
        };
        self.contacted(department).await?;
        Ok(Caller {
            client: client.clone(),
            department,
            department_name,
            access: department_access(department),
            actor: client.actor(r.client_ip),
        })
    }

    async fn check_signature(&self, client: &ApiClient, secret: &[u8], r: Request<'_>) -> Result<(), ExchangeError> {
        let (Some(timestamp), Some(nonce), Some(signature)) = (r.timestamp, r.nonce, r.signature) else {
            return Err(bad_signature(
                "signature_required",
                "该接入系统的请求须签名：请提供 X-GovHall-Timestamp、X-GovHall-Nonce 和 X-GovHall-Signature 请求头",
            ));
        };
        let now = self.db().now();
        let at = timestamp.trim().parse::<i64>().ok().and_then(|s| DateTime::<Utc>::from_timestamp(s, 0));
        let window = self.settings().signature_window_secs;
        if at.is_none_or(|at| (now - at).num_seconds().abs() > window) {
            return Err(bad_signature(
                "stale_timestamp",
                &format!("X-GovHall-Timestamp 应为当前时间（Unix 秒），与大厅时间相差不能超过 {window} 秒"),
            ));
        }
        if !signing::nonce_ok(nonce) {
            return Err(bad_signature(
                "invalid_nonce",
                "X-GovHall-Nonce 应为 16 到 64 个字母、数字、“-”或“_”，每个请求不同",
            ));
        }
        let text = signing::canonical(r.method, r.path_and_query, timestamp.trim(), nonce, r.body);
        if !signing::verify(secret, &text, signature) {
            return Err(bad_signature("bad_signature", "签名不正确：请按对接文档对请求签名（HMAC-SM3）"));
        }
        // Counted before anything is done: of two copies sent at once, one records the nonce.
        let mut tx = self.db().begin().await?;
        let fresh = exec!(
            tx,
            sqlx::query(
                "INSERT INTO exchange_nonces (client_id, nonce, seen_at) VALUES ($1, $2, $3)
                 ON CONFLICT (client_id, nonce) DO NOTHING"
            )
            .bind(client.id)
            .bind(nonce)
            .bind(now)
        )?;
        tx.commit().await?;
        if fresh == 0 {
            return Err(ExchangeError::Replayed);
        }
        Ok(())
    }

    /// Counts the call before it is served (one upsert: calls sent at once see consecutive
    /// counts) and refuses it past the minute's limit.
    async fn count_call(&self, client: &ApiClient) -> Result<(), ExchangeError> {
        let now = self.db().now();
        let minute = now.duration_trunc(chrono::Duration::minutes(1)).unwrap_or(now);
        let mut tx = self.db().begin().await?;
        let calls: i32 = run!(tx, |c| sqlx::query_scalar(
            "INSERT INTO exchange_rates (client_id, minute, calls) VALUES ($1, $2, 1)
             ON CONFLICT (client_id, minute) DO UPDATE SET calls = exchange_rates.calls + 1
             RETURNING calls"
        )
        .bind(client.id)
        .bind(minute)
        .fetch_one(&mut *c)
        .await)?;
        tx.commit().await?;
        let limit = self.settings().requests_per_minute;
        let calls = u32::try_from(calls).unwrap_or(u32::MAX);
        if calls > limit {
            return Err(ExchangeError::RateLimited(limit, calls == limit + 1));
        }
        Ok(())
    }

    /// The department a client is connected for, with its name, if the connection is on.
    pub(crate) async fn link_of_client(&self, client: Uuid) -> Result<Option<(DepartmentId, String)>, ExchangeError> {
        let mut conn = self.db().conn().await?;
        let found: Option<(Uuid, String)> = run!(conn, |c| sqlx::query_as(
            "SELECT l.department_id, d.name FROM exchange_links l JOIN departments d ON d.id = l.department_id
             WHERE l.client_id = $1 AND l.active = TRUE AND l.mode = 'api'"
        )
        .bind(client)
        .fetch_optional(&mut *c)
        .await)?;
        Ok(found.map(|(id, name)| (DepartmentId::from_uuid(id), name)))
    }

    /// Notes that the department's system called (to the nearest ten seconds: a busy system
    /// does not write the connection on every request).
    async fn contacted(&self, department: DepartmentId) -> Result<(), ExchangeError> {
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(CONTACTED).bind(now).bind(department.as_uuid()).bind(now - chrono::Duration::seconds(10))
        )?;
        tx.commit().await?;
        Ok(())
    }
}
