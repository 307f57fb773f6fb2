//! API clients: systems that call the hall with a key of their own (the on-site hall system,
//! department systems). Each has a name, the service number it issues serial numbers under, and
//! scopes; it may be held to addresses (addresses and CIDR blocks) and to signing its requests
//! with a key of its own. The key is shown once when the client is created; only its hash is
//! kept. The signing key is shown once too and kept sealed (SM4), as the hall must check
//! signatures with it.

use crate::IdentityError;
use crate::crypto::{Keys, new_token, token_hash};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::ValueError;
use govhall_db::{Db, exec, run, sqlx};
use serde::Serialize;
use uuid::Uuid;

/// What a client may do.
pub const SCOPES: [(&str, &str); 2] =
    [("serial_numbers", "申请统一申办编号"), ("exchange", "部门业务系统对接（拉取办件、回传办理过程）")];

/// The most addresses and blocks a client may be held to.
pub const MAX_ALLOWED: usize = 20;

const AUTHENTICATE: &str = "SELECT id, name, service_number, scopes, status, created_by, created_at, allowed_ips,
        signing_secret_enc
     FROM api_clients WHERE key_hash = $1 AND status = 'active'";

const BY_ID: &str = "SELECT id, name, service_number, scopes, status, created_by, created_at, allowed_ips,
        signing_secret_enc
     FROM api_clients WHERE id = $1";

const LIST: &str = "SELECT id, name, service_number, scopes, status, created_by, created_at, allowed_ips,
        signing_secret_enc
     FROM api_clients ORDER BY name";

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
    /// The addresses and CIDR blocks it may call from, comma-separated; empty: any.
    pub allowed_ips: String,
    /// Its signing key, sealed; `None`: its requests are not signed.
    #[serde(skip)]
    pub signing_secret_enc: Option<String>,
}

impl ApiClient {
    /// Whether it holds `scope`.
    pub fn may(&self, scope: &str) -> bool {
        self.status == "active" && self.scopes.split(',').any(|s| s == scope)
    }

    /// Whether it may call from `ip` (any address when it is held to none; an address that
    /// does not parse is never allowed by a list).
    pub fn allows(&self, ip: &str) -> bool {
        if self.allowed_ips.trim().is_empty() {
            return true;
        }
        let Ok(ip) = ip.trim().parse::<std::net::IpAddr>() else { return false };
        // An IPv4 address as an IPv6 client sees it (::ffff:10.0.0.1) is the IPv4 address.
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
            v4 => v4,
        };
        parse_allowed(&self.allowed_ips).is_ok_and(|nets| nets.iter().any(|n| n.contains(&ip)))
    }

    /// How the audit log names it.
    pub fn actor(&self, client_ip: &str) -> Actor {
        Actor { id: None, label: format!("接入系统：{}", self.name), client_ip: client_ip.to_owned() }
    }
}

fn invalid(code: &'static str, subject: &'static str, reason: &str) -> IdentityError {
    IdentityError::Invalid(ValueError::new(code, subject, reason))
}

/// The addresses and blocks of a list (`10.1.2.3, 10.8.0.0/16, 2001:db8::/32`).
pub fn parse_allowed(list: &str) -> Result<Vec<ipnet::IpNet>, IdentityError> {
    let mut nets = Vec::new();
    for part in list.split([',', ' ', '，']).map(str::trim).filter(|p| !p.is_empty()) {
        let net = part
            .parse::<ipnet::IpNet>()
            .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                invalid("invalid_allowed_ips", "允许的调用地址", &format!("“{part}”不是 IP 地址或 CIDR 网段"))
            })?;
        nets.push(net);
    }
    if nets.len() > MAX_ALLOWED {
        return Err(invalid("invalid_allowed_ips", "允许的调用地址", &format!("至多 {MAX_ALLOWED} 个")));
    }
    Ok(nets)
}

/// A client to create.
#[derive(Debug, Clone)]
pub struct NewClient {
    /// Its name.
    pub name: String,
    /// The service number its serial numbers carry (1–99).
    pub service_number: i32,
    /// What it may do.
    pub scopes: Vec<&'static str>,
    /// The addresses and blocks it may call from (empty: any).
    pub allowed_ips: String,
    /// Whether its requests must be signed (a signing key is made and shown once).
    pub signed: bool,
}

/// Creates a client and returns it with its key (shown this once).
pub async fn create(
    db: &Db,
    actor: &Actor,
    name: &str,
    service_number: i32,
    scopes: &[&str],
) -> Result<(ApiClient, String), IdentityError> {
    let scopes = scopes
        .iter()
        .map(|s| SCOPES.iter().find(|(k, _)| k == s).map(|(k, _)| *k))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| invalid("invalid_scope", "权限范围", "无法识别"))?;
    let new = NewClient { name: name.to_owned(), service_number, scopes, allowed_ips: String::new(), signed: false };
    let (client, key, _) = create_sealed(db, None, actor, new).await?;
    Ok((client, key))
}

/// Creates a client as `new` says; returns it with its key and, when its requests are signed,
/// its signing key (both shown this once).
pub async fn create_with(
    db: &Db,
    keys: &Keys,
    actor: &Actor,
    new: NewClient,
) -> Result<(ApiClient, String, Option<String>), IdentityError> {
    create_sealed(db, Some(keys), actor, new).await
}

async fn create_sealed(
    db: &Db,
    keys: Option<&Keys>,
    actor: &Actor,
    new: NewClient,
) -> Result<(ApiClient, String, Option<String>), IdentityError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(invalid("invalid_client_name", "接入系统名称", "不能为空，且不超过 50 个字"));
    }
    // The hall issues its own cases' numbers under this name.
    if name.eq_ignore_ascii_case("govhall") {
        return Err(invalid("invalid_client_name", "接入系统名称", "“govhall”是本大厅自用的名称，请另取一个"));
    }
    let service_number = new.service_number;
    if !(1..=99).contains(&service_number) {
        return Err(invalid("invalid_service_number", "发号服务编号", "应为 1 到 99"));
    }
    if new.scopes.is_empty() || new.scopes.iter().any(|s| !SCOPES.iter().any(|(k, _)| k == s)) {
        return Err(invalid("invalid_scope", "权限范围", "无法识别"));
    }
    let allowed: Vec<String> = parse_allowed(&new.allowed_ips)?.iter().map(ToString::to_string).collect();
    let allowed_ips = allowed.join(",");
    let signing_key = new.signed.then(|| format!("ghs_{}", new_token()));
    let sealed = match (&signing_key, keys) {
        (Some(secret), Some(keys)) => Some(keys.encrypt(secret)),
        (Some(_), None) => return Err(IdentityError::Internal("a signing key needs the hall's keys".into())),
        (None, _) => None,
    };
    let key = format!("ghk_{}", new_token());
    let client = ApiClient {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        service_number,
        scopes: new.scopes.join(","),
        status: "active".to_owned(),
        created_by: actor.label.clone(),
        created_at: db.now(),
        allowed_ips,
        signing_secret_enc: sealed,
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
            "INSERT INTO api_clients (id, name, service_number, scopes, key_hash, status, created_by, created_at,
                allowed_ips, signing_secret_enc)
             VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8, $9)"
        )
        .bind(client.id)
        .bind(&client.name)
        .bind(service_number)
        .bind(&client.scopes)
        .bind(token_hash(&key))
        .bind(&client.created_by)
        .bind(client.created_at)
        .bind(&client.allowed_ips)
        .bind(&client.signing_secret_enc)
    )?;
    let mut detail = format!("{}，发号服务编号 {service_number:02}，权限 {}", client.name, client.scopes);
    if !client.allowed_ips.is_empty() {
        detail.push_str(&format!("，限地址 {}", client.allowed_ips));
    }
    if signing_key.is_some() {
        detail.push_str("，请求须签名");
    }
    audit::record(&mut tx, actor, Event::success("api_client.create", "api_client", client.id).detail(detail)).await?;
    tx.commit().await?;
    Ok((client, key, signing_key))
}

/// The active client holding `key`, if any.
pub async fn authenticate(db: &Db, key: &str) -> Result<Option<ApiClient>, IdentityError> {
    if !key.starts_with("ghk_") || key.len() > 100 {
        return Ok(None);
    }
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_as(AUTHENTICATE).bind(token_hash(key)).fetch_optional(&mut *c).await)?)
}

/// The client `id`, whatever its state.
pub async fn get(db: &Db, id: Uuid) -> Result<Option<ApiClient>, IdentityError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_as(BY_ID).bind(id).fetch_optional(&mut *c).await)?)
}

/// Every client, by name.
pub async fn list(db: &Db) -> Result<Vec<ApiClient>, IdentityError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_as(LIST).fetch_all(&mut *c).await)?)
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
