//! Connecting a department's system: a client of its own (key shown once, optionally a signing
//! key shown once and an address list), the connection, and the department's open cases
//! queued for it. The connections' state for the admin page: last contact, cases waiting, the
//! oldest of them, refusals in the last day, and whether the system is late collecting.

use crate::caller::SCOPE;
use crate::{Exchange, ExchangeError};
use chrono::{DateTime, Duration, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{exec, run, sqlx};
use govhall_identity::clients::{self, NewClient};
use govhall_identity::{Access, DepartmentId, Permission, Target};
use serde::Serialize;
use uuid::Uuid;

/// What connecting a department takes.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The department.
    pub department: DepartmentId,
    /// Its system's name (公安厅审批系统).
    pub name: String,
    /// The service number its own serial numbers are issued under (1–99).
    pub service_number: i32,
    /// The addresses it calls from (addresses and CIDR blocks; empty: any).
    pub allowed_ips: String,
    /// Whether its requests must be signed (HMAC-SM3).
    pub signed: bool,
    /// Minutes it may leave cases uncollected before its managers are told (0: the setting).
    pub alert_minutes: u32,
}

/// A connection made: the keys to give the department's developers, shown this once.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The key (`X-Api-Key`).
    pub key: String,
    /// The signing key, if requests are signed.
    pub signing_key: Option<String>,
    /// Open cases queued at once.
    pub queued: u64,
}

/// What connecting a department through its front database (前置库) takes.
#[derive(Debug, Clone)]
pub struct FrontDbConnection {
    /// The department.
    pub department: DepartmentId,
    /// Its system's name.
    pub name: String,
    /// The service number its own serial numbers are issued under (1–99).
    pub service_number: i32,
    /// The front database: `postgres://…` (a schema with `?options=-c%20search_path%3D…`) or
    /// `sqlite:PATH`.
    pub url: String,
    /// Minutes cases may wait unwritten before its managers are told (0: the setting).
    pub alert_minutes: u32,
}

/// How a department's system is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// It calls the hall's API.
    Api,
    /// The hall works on its front database (前置库).
    FrontDb,
}

impl Mode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Api => "api",
            Mode::FrontDb => "front_db",
        }
    }
}

/// A connection to record.
struct NewLink {
    department: DepartmentId,
    mode: Mode,
    client: Uuid,
    alert: u32,
    url_enc: Option<String>,
}

/// A connection's state.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LinkState {
    /// The department.
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
    /// Its region.
    pub region_code: String,
    /// `api` or `front_db`.
    pub mode: String,
    /// The client's name.
    pub client_name: Option<String>,
    /// Whether its requests are signed.
    pub signed: bool,
    /// The addresses it may call from.
    pub allowed_ips: String,
    /// Whether the connection is on.
    pub active: bool,
    /// Minutes before the alert.
    pub alert_minutes: i64,
    /// Its last call.
    pub last_contact_at: Option<DateTime<Utc>>,
    /// Since when.
    pub created_at: DateTime<Utc>,
    /// Cases waiting (not acknowledged).
    pub backlog: i64,
    /// When the oldest of them was queued.
    pub oldest_waiting: Option<DateTime<Utc>>,
    /// Refused or failed messages in the last 24 hours.
    pub problems: i64,
    /// A front database: when the worker last went through it.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// A front database: what went wrong then, if something did.
    pub last_sync_error: Option<String>,
}

impl LinkState {
    /// Whether the system is late: cases have waited longer than the alert time.
    pub fn late(&self, now: DateTime<Utc>) -> bool {
        self.active && self.oldest_waiting.is_some_and(|at| now - at > Duration::minutes(self.alert_minutes))
    }

    /// How it is connected.
    pub fn mode(&self) -> Mode {
        if self.mode == Mode::FrontDb.as_str() { Mode::FrontDb } else { Mode::Api }
    }

    /// The mode in Chinese.
    pub fn mode_label(&self) -> &'static str {
        match self.mode() {
            Mode::Api => "接口（API）",
            Mode::FrontDb => "前置库",
        }
    }
}

const STATES: &str = "SELECT l.department_id, d.name AS department_name, d.region_code, l.mode, k.name AS client_name,
        CASE WHEN k.signing_secret_enc IS NULL THEN FALSE ELSE TRUE END AS signed, COALESCE(k.allowed_ips, '') AS allowed_ips,
        l.active, CAST(l.alert_minutes AS BIGINT) AS alert_minutes, l.last_contact_at, l.created_at,
        (SELECT COUNT(*) FROM exchange_outbox o WHERE o.department_id = l.department_id AND o.acked_at IS NULL) AS backlog,
        (SELECT MIN(o.queued_at) FROM exchange_outbox o WHERE o.department_id = l.department_id AND o.acked_at IS NULL)
            AS oldest_waiting,
        (SELECT COUNT(*) FROM exchange_log g WHERE g.department_id = l.department_id AND g.outcome <> 'ok' AND g.at > $1)
            AS problems,
        l.last_sync_at, l.last_sync_error
     FROM exchange_links l JOIN departments d ON d.id = l.department_id LEFT JOIN api_clients k ON k.id = l.client_id
     ORDER BY d.region_code, d.name";

impl Exchange {
    /// Connects a department's system through the API; its open cases are queued at once.
    pub async fn connect(&self, actor: &Actor, c: Connection) -> Result<Connected, ExchangeError> {
        if !c.signed && c.allowed_ips.trim().is_empty() {
            return Err(ExchangeError::Invalid(
                "不签名的对接只凭密钥识别部门系统，须同时限定其调用地址（--allow-ip）".into(),
            ));
        }
        let department = self.connectable(c.department).await?;
        let alert = self.alert_minutes(c.alert_minutes)?;
        let new = NewClient {
            name: c.name.clone(),
            service_number: c.service_number,
            scopes: vec![SCOPE],
            allowed_ips: c.allowed_ips.clone(),
            signed: c.signed,
        };
        let (client, key, signing_key) = clients::create_with(self.db(), self.identity().keys(), actor, new).await?;
        let detail = format!("经接口对接“{}”{}", client.name, if c.signed { "（请求须签名）" } else { "" });
        let link = NewLink { department: c.department, mode: Mode::Api, client: client.id, alert, url_enc: None };
        let queued = self.link(actor, link, &department, &detail).await?;
        Ok(Connected { key, signing_key, queued })
    }

    /// Connects a department's system through its front database: the database is reached and
    /// its tables created first (an address that does not work is refused now, not at the first
    /// visit); its open cases are queued at once and written at the next visit. Returns how many.
    pub async fn connect_front_db(&self, actor: &Actor, c: FrontDbConnection) -> Result<u64, ExchangeError> {
        let url = c.url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:")) {
            return Err(ExchangeError::Invalid(
                "前置库地址应为 postgres://用户@主机:端口/数据库 或 sqlite:文件路径".into(),
            ));
        }
        let department = self.connectable(c.department).await?;
        let alert = self.alert_minutes(c.alert_minutes)?;
        let front = govhall_db::Db::connect_external(url, self.db().clock())
            .await
            .map_err(|e| ExchangeError::Invalid(format!("前置库无法连接：{}", govhall_core::Coded::message(&e))))?;
        let ready = crate::front_db::prepare(&front).await;
        front.close().await;
        ready.map_err(|e| ExchangeError::Invalid(format!("前置库无法建表：{}", govhall_core::Coded::message(&e))))?;
        // The system works on tables only: its client's key is never shown, and the API refuses
        // it (its connection is not an API one).
        let new = NewClient {
            name: c.name.clone(),
            service_number: c.service_number,
            scopes: vec![SCOPE],
            allowed_ips: String::new(),
            signed: false,
        };
        let (client, _, _) = clients::create_with(self.db(), self.identity().keys(), actor, new).await?;
        let url_enc = Some(self.identity().keys().encrypt(url));
        let detail = format!("经前置库对接“{}”", client.name);
        let link = NewLink { department: c.department, mode: Mode::FrontDb, client: client.id, alert, url_enc };
        self.link(actor, link, &department, &detail).await
    }

    /// The department, when it exists and is not connected yet.
    async fn connectable(&self, id: DepartmentId) -> Result<govhall_identity::departments::Department, ExchangeError> {
        let department =
            govhall_identity::departments::get(self.db(), id).await?.ok_or(ExchangeError::NotFound("部门"))?;
        let mut conn = self.db().conn().await?;
        let linked: i64 =
            run!(conn, |x| sqlx::query_scalar("SELECT COUNT(*) FROM exchange_links WHERE department_id = $1")
                .bind(id.as_uuid())
                .fetch_one(&mut *x)
                .await)?;
        if linked > 0 {
            return Err(ExchangeError::Invalid(format!("{}已对接过部门系统；请先停用原对接", department.name)));
        }
        Ok(department)
    }

    fn alert_minutes(&self, asked: u32) -> Result<u32, ExchangeError> {
        let alert = if asked == 0 { self.settings().alert_minutes } else { asked };
        if !(5..=10080).contains(&alert) {
            return Err(ExchangeError::Invalid("催收提醒时间应为 5 到 10080 分钟".into()));
        }
        Ok(alert)
    }

    /// Records the connection, queues the department's open cases and audits it; how many were
    /// queued.
    async fn link(
        &self,
        actor: &Actor,
        link: NewLink,
        department: &govhall_identity::departments::Department,
        detail: &str,
    ) -> Result<u64, ExchangeError> {
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO exchange_links (department_id, mode, client_id, alert_minutes, active, created_by, created_at,
                    front_db_url_enc)
                 VALUES ($1, $2, $3, $4, TRUE, $5, $6, $7)"
            )
            .bind(link.department.as_uuid())
            .bind(link.mode.as_str())
            .bind(link.client)
            .bind(i32::try_from(link.alert).unwrap_or(60))
            .bind(&actor.label)
            .bind(now)
            .bind(link.url_enc)
        )?;
        let queued = self.queue_open_in(&mut tx, link.department).await?;
        audit::record(
            &mut tx,
            actor,
            Event::success("exchange.connect", "department", link.department.as_uuid())
                .detail(format!("{} {detail}，已排队 {queued} 件在办办件", department.name)),
        )
        .await?;
        tx.commit().await?;
        Ok(queued)
    }

    /// Stops a department's connection: its key stops working and no new cases are queued;
    /// cases queued stay (for a connection made again).
    pub async fn disconnect(&self, actor: &Actor, department: DepartmentId) -> Result<(), ExchangeError> {
        let mut tx = self.db().begin().await?;
        let client: Option<Option<Uuid>> =
            run!(tx, |c| sqlx::query_scalar("SELECT client_id FROM exchange_links WHERE department_id = $1")
                .bind(department.as_uuid())
                .fetch_optional(&mut *c)
                .await)?;
        let Some(client) = client else { return Err(ExchangeError::NotFound("对接")) };
        exec!(tx, sqlx::query("DELETE FROM exchange_links WHERE department_id = $1").bind(department.as_uuid()))?;
        if let Some(client) = client {
            exec!(tx, sqlx::query("UPDATE api_clients SET status = 'disabled' WHERE id = $1").bind(client))?;
        }
        audit::record(&mut tx, actor, Event::success("exchange.disconnect", "department", department.as_uuid()))
            .await?;
        tx.commit().await?;
        self.forget_front_db(department);
        Ok(())
    }

    /// The connections `access` manages (`exchange.manage` over their departments).
    pub async fn states(&self, access: &Access) -> Result<Vec<LinkState>, ExchangeError> {
        let all = self.all_states().await?;
        Ok(all
            .into_iter()
            .filter(|s| {
                let target = Target {
                    owner: None,
                    department: Some(DepartmentId::from_uuid(s.department_id)),
                    region: Some(s.region_code.clone()),
                };
                access.covers(Permission::ExchangeManage, &target)
            })
            .collect())
    }

    /// Every connection's state (the command line's list; pages use [`Exchange::states`]).
    pub async fn all_states(&self) -> Result<Vec<LinkState>, ExchangeError> {
        let since = self.db().now() - Duration::hours(24);
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(STATES).bind(since).fetch_all(&mut *c).await)?)
    }
}
