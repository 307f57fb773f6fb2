//! API clients: systems that call the hall with a key of their own (the on-site hall system,
//! department systems). Each has a name, the service number it issues serial numbers under, and
//! scopes. The key is shown once when the client is created; only its hash is kept.

use crate::IdentityError;
use crate::crypto::{new_token, token_hash};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::ValueError;
use govhall_db::{Db, exec, run, sqlx};
use serde::Serialize;
use uuid::Uuid;

/// What a client may do.
pub const SCOPES: [(&str, &str); 1] = [("serial_numbers", "申请统一申办编号")];

/// A calling system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ApiClient {
    /// Id.
    pub id: Uuid,
    /// Its name (现场大厅系统, 公安厅审批系统 …).
    pub name: String,
    /// The service number (01–99) its serial numbers carry.
    pub service_number: i32,
    /// Comma-separated scopes.
    pub scopes: String,
    /// `active` or `disabled`.
    pub status: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl ApiClient {
    /// Whether it holds `scope`.
    pub fn may(&self, scope: &str) -> bool {
        self.status == "active" && self.scopes.split(',').any(|s| s == scope)
    }

    /// How the audit log names it.
    pub fn actor(&self, client_ip: &str) -> Actor {
        Actor { id: None, label: format!("接入系统：{}", self.name), client_ip: client_ip.to_owned() }
    }
}

fn invalid(code: &'static str, subject: &'static str, reason: &str) -> IdentityError {
    IdentityError::Invalid(ValueError::new(code, subject, reason))
}

/// Creates a client and returns it with its key (shown this once).
pub async fn create(
    db: &Db,
    actor: &Actor,
    name: &str,
    service_number: i32,
    scopes: &[&str],
) -> Result<(ApiClient, String), IdentityError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(invalid("invalid_client_name", "接入系统名称", "不能为空，且不超过 50 个字"));
    }
    // The hall issues its own cases' numbers under this name.
    if name.eq_ignore_ascii_case("govhall") {
        return Err(invalid("invalid_client_name", "接入系统名称", "“govhall”是本大厅自用的名称，请另取一个"));
    }
    if !(1..=99).contains(&service_number) {
        return Err(invalid("invalid_service_number", "发号服务编号", "应为 1 到 99"));
    }
    if scopes.is_empty() || scopes.iter().any(|s| !SCOPES.iter().any(|(k, _)| k == s)) {
        return Err(invalid("invalid_scope", "权限范围", "无法识别"));
    }
    let key = format!("ghk_{}", new_token());
    let client = ApiClient {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        service_number,
        scopes: scopes.join(","),
        status: "active".to_owned(),
        created_by: actor.label.clone(),
        created_at: db.now(),
    };
    let mut tx = db.begin().await?;
    let taken: i64 =
        run!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM api_clients WHERE name = $1 OR service_number = $2")
            .bind(&client.name)
            .bind(service_number)
            .fetch_one(&mut *c)
            .await)?;
    if taken > 0 {
        return Err(invalid("client_taken", "接入系统", "的名称或发号服务编号已被使用"));
    }
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO api_clients (id, name, service_number, scopes, key_hash, status, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7)"
        )
        .bind(client.id)
        .bind(&client.name)
        .bind(service_number)
        .bind(&client.scopes)
        .bind(token_hash(&key))
        .bind(&client.created_by)
        .bind(client.created_at)
    )?;
    audit::record(
        &mut tx,
        actor,
        Event::success("api_client.create", "api_client", client.id)
            .detail(format!("{}，发号服务编号 {service_number:02}", client.name)),
    )
    .await?;
    tx.commit().await?;
    Ok((client, key))
}

/// The active client holding `key`, if any.
pub async fn authenticate(db: &Db, key: &str) -> Result<Option<ApiClient>, IdentityError> {
    if !key.starts_with("ghk_") || key.len() > 100 {
        return Ok(None);
    }
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_as(
        "SELECT id, name, service_number, scopes, status, created_by, created_at FROM api_clients
         WHERE key_hash = $1 AND status = 'active'"
    )
    .bind(token_hash(key))
    .fetch_optional(&mut *c)
    .await)?)
}

/// Every client, by name.
pub async fn list(db: &Db) -> Result<Vec<ApiClient>, IdentityError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_as(
        "SELECT id, name, service_number, scopes, status, created_by, created_at FROM api_clients ORDER BY name"
    )
    .fetch_all(&mut *c)
    .await)?)
}

/// Turns a client off (`active = false`) or on again.
pub async fn set_active(db: &Db, actor: &Actor, name: &str, active: bool) -> Result<(), IdentityError> {
    let status = if active { "active" } else { "disabled" };
    let mut tx = db.begin().await?;
    let id: Option<Uuid> = run!(tx, |c| sqlx::query_scalar("SELECT id FROM api_clients WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *c)
        .await)?;
    let Some(id) = id else { return Err(invalid("no_such_client", "接入系统", "不存在")) };
    exec!(tx, sqlx::query("UPDATE api_clients SET status = $1 WHERE id = $2").bind(status).bind(id))?;
    audit::record(&mut tx, actor, Event::success("api_client.status", "api_client", id).detail(status.to_owned()))
        .await?;
    tx.commit().await?;
    Ok(())
}
