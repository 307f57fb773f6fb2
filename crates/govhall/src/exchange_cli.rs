//! The exchange commands: `govhall exchange connect` (a department's system gets its key and,
//! when it signs, its signing key, printed once; or, with `--front-db`, the hall works on the
//! department's front database), `list` (each connection's state) and `disconnect`.

use clap::Subcommand;
use govhall::Settings;
use govhall_audit::Actor;
use govhall_core::Coded as _;
use govhall_exchange::connect::{Connection, FrontDbConnection};
use govhall_identity::DepartmentId;
use uuid::Uuid;

/// `govhall exchange …`.
#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Connect a department's system through the API (its keys are printed once), or through
    /// its front database (--front-db).
    Connect {
        /// The department's id (UUID).
        #[arg(long)]
        department: String,
        /// The system's name (不动产登记系统 …).
        #[arg(long)]
        name: String,
        /// The service number (1–99) its serial numbers carry.
        #[arg(long)]
        service: i32,
        /// Addresses or networks (10.1.2.0/24) it may call from, separated by commas or given
        /// again; any when none.
        #[arg(long, value_delimiter = ',')]
        allow_ip: Vec<String>,
        /// Do not require signed requests (the key alone: refused without --allow-ip).
        #[arg(long)]
        unsigned: bool,
        /// Minutes it may leave cases uncollected before managers are told (default [exchange]).
        #[arg(long, default_value_t = 0)]
        alert_minutes: u32,
        /// Connect through this front database instead of the API: postgres://… or sqlite:PATH
        /// (the hall creates its govhall_* tables there).
        #[arg(long, conflicts_with_all = ["allow_ip", "unsigned"])]
        front_db: Option<String>,
    },
    /// List the connections with their backlog and last contact.
    List,
    /// Stop a department's connection (its key stops working).
    Disconnect {
        /// The department's id (UUID).
        #[arg(long)]
        department: String,
    },
}

/// Runs one exchange command.
pub async fn run(command: ExchangeCommand, settings: &Settings) -> anyhow::Result<()> {
    match command {
        ExchangeCommand::Connect { department, name, service, front_db: Some(url), alert_minutes, .. } => {
            let connection = FrontDbConnection {
                department: department_id(&department)?,
                name,
                service_number: service,
                url,
                alert_minutes,
            };
            connect_front_db(settings, connection).await
        }
        ExchangeCommand::Connect { department, name, service, allow_ip, unsigned, alert_minutes, front_db: None } => {
            let connection = Connection {
                department: department_id(&department)?,
                name,
                service_number: service,
                allowed_ips: allow_ip.join(" "),
                signed: !unsigned,
                alert_minutes,
            };
            connect(settings, connection).await
        }
        ExchangeCommand::List => list(settings).await,
        ExchangeCommand::Disconnect { department } => disconnect(settings, &department).await,
    }
}

fn department_id(text: &str) -> anyhow::Result<DepartmentId> {
    Uuid::parse_str(text.trim())
        .map(DepartmentId::from_uuid)
        .map_err(|_| anyhow::anyhow!("部门编号“{}”不是有效的 UUID（见管理后台的部门列表）", text.trim()))
}

/// Connects a department's system and prints its keys once.
async fn connect(settings: &Settings, connection: Connection) -> anyhow::Result<()> {
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

/// Connects a department's system through its front database.
async fn connect_front_db(settings: &Settings, connection: FrontDbConnection) -> anyhow::Result<()> {
    let (db, exchange) = govhall::app::exchange_for_cli(settings).await?;
    let result = exchange.connect_front_db(&Actor::system("命令行"), connection).await;
    db.close().await;
    let queued = result.map_err(|e| anyhow::anyhow!(e.message()))?;
    println!("已对接前置库，已在其中建好 govhall_* 表。已排队 {queued} 件在办办件，大厅下次处理时写入前置库");
    Ok(())
}

/// Prints every connection's state.
async fn list(settings: &Settings) -> anyhow::Result<()> {
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
            "{}\t{}\t{}\t{}{}\t待拉取 {} 件\t24 小时内异常 {} 次\t{contact}{}{}",
            s.department_id,
            s.department_name,
            s.mode_label(),
            s.client_name.as_deref().unwrap_or("-"),
            if s.signed { "（签名）" } else { "" },
            s.backlog,
            s.problems,
            if s.late(now) { "\t已超时未拉取" } else { "" },
            s.last_sync_error.as_ref().map(|e| format!("\t前置库出错：{e}")).unwrap_or_default(),
        );
    }
    Ok(())
}

/// Stops a department's connection.
async fn disconnect(settings: &Settings, text: &str) -> anyhow::Result<()> {
    let id = department_id(text)?;
    let (db, exchange) = govhall::app::exchange_for_cli(settings).await?;
    let result = exchange.disconnect(&Actor::system("命令行"), id).await;
    db.close().await;
    result.map_err(|e| anyhow::anyhow!(e.message()))?;
    println!("已停用该部门的对接，其接入密钥不再可用");
    Ok(())
}
