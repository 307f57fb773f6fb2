//! The exchange commands: `govhall exchange connect` (a department's system gets its key and,
//! when it signs, its signing key, printed once), `list` (each connection's state) and
//! `disconnect`.

use govhall::Settings;
use govhall_audit::Actor;
use govhall_core::Coded as _;
use govhall_exchange::connect::Connection;
use govhall_identity::DepartmentId;
use uuid::Uuid;

/// What `govhall exchange connect` was given.
#[derive(Debug)]
pub struct ConnectArgs {
    pub department: String,
    pub name: String,
    pub service: i32,
    pub allow_ip: Vec<String>,
    pub unsigned: bool,
    pub alert_minutes: u32,
}

fn department(text: &str) -> anyhow::Result<DepartmentId> {
    Uuid::parse_str(text.trim())
        .map(DepartmentId::from_uuid)
        .map_err(|_| anyhow::anyhow!("部门编号“{}”不是有效的 UUID（见管理后台的部门列表）", text.trim()))
}

/// Connects a department's system and prints its keys once.
pub async fn connect(settings: &Settings, args: ConnectArgs) -> anyhow::Result<()> {
    let connection = Connection {
        department: department(&args.department)?,
        name: args.name,
        service_number: args.service,
        allowed_ips: args.allow_ip.join(" "),
        signed: !args.unsigned,
        alert_minutes: args.alert_minutes,
    };
    let (db, exchange) = govhall::app::exchange_for_cli(settings).await?;
    let result = exchange.connect(&Actor::system("命令行"), connection).await;
    db.close().await;
    let connected = result.map_err(|e| anyhow::anyhow!(e.message()))?;
    println!("已对接。接入密钥（X-Api-Key，只显示这一次）：{}", connected.key);
    if let Some(signing) = &connected.signing_key {
        println!("签名密钥（HMAC-SM3，只显示这一次）：{signing}");
    }
    println!("已排队 {} 件在办办件，部门系统拉取后确认即可", connected.queued);
    Ok(())
}

/// Prints every connection's state.
pub async fn list(settings: &Settings) -> anyhow::Result<()> {
    let (db, exchange) = govhall::app::exchange_for_cli(settings).await?;
    let result = exchange.all_states().await;
    let now = db.now();
    db.close().await;
    let states = result.map_err(|e| anyhow::anyhow!(e.message()))?;
    if states.is_empty() {
        println!("尚无部门系统对接");
    }
    for s in states {
        let contact = s.last_contact_at.map_or_else(|| "从未联系".to_owned(), |t| format!("最近联系 {t}"));
        println!(
            "{}\t{}\t{}\t{}{}\t待拉取 {} 件\t24 小时内异常 {} 次\t{contact}{}",
            s.department_id,
            s.department_name,
            s.mode_label(),
            s.client_name.as_deref().unwrap_or("-"),
            if s.signed { "（签名）" } else { "" },
            s.backlog,
            s.problems,
            if s.late(now) { "\t已超时未拉取" } else { "" },
        );
    }
    Ok(())
}

/// Stops a department's connection.
pub async fn disconnect(settings: &Settings, text: &str) -> anyhow::Result<()> {
    let id = department(text)?;
    let (db, exchange) = govhall::app::exchange_for_cli(settings).await?;
    let result = exchange.disconnect(&Actor::system("命令行"), id).await;
    db.close().await;
    result.map_err(|e| anyhow::anyhow!(e.message()))?;
    println!("已停用该部门的对接，其接入密钥不再可用");
    Ok(())
}
