//! `govhall`: the online government service hall. Parses the command line and calls the library.

use clap::{Parser, Subcommand};
use govhall::app::identity_for_cli;
use govhall::config::Overrides;
use govhall::{App, Settings, open_database, run_worker, telemetry};
use govhall_audit::Actor;
use govhall_core::Coded as _;
use govhall_core::ids::JobId;
use govhall_db::jobs::{self, JobState};
use govhall_identity::AdminRole;
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

mod exchange_cli;
mod licences_cli;
mod payments_cli;
mod search_cli;

#[derive(Debug, Parser)]
#[command(name = "govhall", version, about = "GovHall 网上政务服务大厅")]
struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "GOVHALL_CONFIG")]
    config: Option<PathBuf>,
    /// Where the hall keeps its state (default ./data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the portal, the API and the job worker.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free port).
        #[arg(long)]
        bind: Option<String>,
        /// Do not run the job worker in this process.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the job worker alone.
    Worker,
    /// Keys: `govhall keys sm2 --private FILE --public FILE` writes a new SM2 key pair (the
    /// private key readable by its owner only).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Run the sandbox fiscal payment gateway alone (for tests and trials; no real money).
    SandboxGateway {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7070")]
        listen: String,
        /// The HMAC-SM3 key shared with the hall ([payments] gateway_secret).
        #[arg(long, env = "GOVHALL_SANDBOX_SECRET", required_unless_present = "sm2_key")]
        secret: Option<String>,
        /// Sign with SM2 instead: the sandbox's private key (PEM) …
        #[arg(long, requires = "hall_public_key")]
        sm2_key: Option<PathBuf>,
        /// … and the hall's public key (PEM).
        #[arg(long)]
        hall_public_key: Option<PathBuf>,
        /// The address browsers reach it at (default http:// + the address it listens on).
        #[arg(long)]
        public_url: Option<String>,
        /// Take payments only from the hall at this address (their notify and return addresses
        /// must be under it).
        #[arg(long)]
        hall_url: Option<String>,
    },
    /// Run the sandbox courier alone (for tests and trials; nothing is carried).
    SandboxCourier {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7071")]
        listen: String,
        /// The HMAC-SM3 key shared with the hall ([logistics] courier_secret).
        #[arg(long, env = "GOVHALL_SANDBOX_COURIER_SECRET", required_unless_present = "sm2_key")]
        secret: Option<String>,
        /// Sign with SM2 instead: the sandbox's private key (PEM) …
        #[arg(long, requires = "hall_public_key")]
        sm2_key: Option<PathBuf>,
        /// … and the hall's public key (PEM).
        #[arg(long)]
        hall_public_key: Option<PathBuf>,
        /// Take shipments only from the hall at this address (their push addresses must be
        /// under it).
        #[arg(long)]
        hall_url: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets hidden.
    Config,
    /// Inspect and retry background jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Accounts from the command line: the first administrators, a new master key.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Import reference data.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Systems that call the API with their own key (the serial number service).
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Department systems exchanging cases with the hall (see docs/exchange.md).
    Exchange {
        #[command(subcommand)]
        command: exchange_cli::ExchangeCommand,
    },
    /// Rebuild this node's search index from the database (with the server stopped), or with
    /// --online ask every running node to rebuild its own.
    Reindex {
        /// Ask the running nodes (through the change feed) instead of rebuilding here.
        #[arg(long)]
        online: bool,
    },
    /// Measure search quality: judged queries (query, tab, relevant item codes) against this
    /// database's catalogue, beside a SQLite FTS5 trigram baseline.
    SearchEval {
        /// The judged queries (TSV).
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// A new SM2 key pair (GB/T 32918) as PEM files.
    Sm2 {
        /// Where the private key goes (PKCS#8 PEM, mode 0600); never overwritten.
        #[arg(long)]
        private: PathBuf,
        /// Where the public key goes (PEM), to give to the other side.
        #[arg(long)]
        public: PathBuf,
    },
    /// A new licence signing key in the configured file ([licences] signing_key); the old file
    /// is kept beside it as `<file>.<key id>.retired` (archive it offline, then delete it).
    /// Licences signed with the old key still verify. Restart every node with the new file.
    LicencesRotate,
    /// Withdraws a licence signing key that leaked: nothing it signed verifies as genuine.
    LicencesWithdraw {
        /// The key's id (see GET /api/v1/licence-key).
        key_id: String,
        /// Why, for the audit log and verification pages.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Create a client; its key is printed once.
    Add {
        /// Its name (现场大厅系统 …).
        #[arg(long)]
        name: String,
        /// The service number (1–99) its serial numbers carry.
        #[arg(long)]
        service: i32,
    },
    /// List the clients.
    List,
    /// Stop a client's key working.
    Disable {
        /// Its name.
        #[arg(long)]
        name: String,
    },
    /// Let a disabled client's key work again.
    Enable {
        /// Its name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an administrator holding exactly one role: system, security or audit. The password
    /// is read from NEW_ADMIN_PASSWORD, or made up and printed once.
    AddAdmin {
        /// system (系统管理员), security (安全管理员) or audit (审计管理员).
        #[arg(long)]
        role: String,
        /// Mobile number, used to sign in.
        #[arg(long)]
        phone: String,
        /// Real name.
        #[arg(long)]
        name: String,
    },
    /// Set an account's password (administrators cannot reset theirs by SMS); unlocks it and ends
    /// its sessions. The password is read from NEW_ADMIN_PASSWORD, or made up and printed once.
    ResetPassword {
        /// The mobile or ID number the account signs in with.
        #[arg(long)]
        login: String,
    },
    /// Print a new random master key for `identity.master_key`.
    GenKey,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the whole hash chain; name the first entry edited, removed or moved.
    Verify,
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// Administrative divisions (the bundled dataset, or a file in the same CSV format).
    Regions {
        /// A CSV file instead of the bundled dataset.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// The service catalogues: the bundled Guangdong and Sichuan ones, or files in their formats.
    /// Idempotent; every rejected line is listed; all or nothing per file.
    Catalog {
        /// A Guangdong-format file (JSON lines) instead of the bundled one.
        #[arg(long)]
        gd: Option<std::path::PathBuf>,
        /// A Sichuan-format file instead of the bundled one.
        #[arg(long)]
        sc: Option<std::path::PathBuf>,
    },
    /// Licence types (电子证照类型) from a TOML file: what each carries, who issues it, which
    /// items' grants issue it. All or nothing; the error names the type that is wrong.
    LicenceTypes {
        /// The TOML file (see docs/licences.md).
        file: std::path::PathBuf,
    },
    /// Licences issued before GovHall, of one type, from an .xlsx or .csv file (see
    /// docs/licences.md); every row is reported, rows already imported are skipped.
    Licences {
        /// The licence type's code.
        #[arg(long = "type")]
        type_code: String,
        /// The .xlsx or .csv file.
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state: queued, running, done or dead.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Put a dead job back in the queue.
    Retry {
        /// The job's id.
        id: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let bind = match &cli.command {
        Command::Serve { bind, .. } => bind.clone(),
        _ => None,
    };
    let overrides = Overrides { data_dir: cli.data_dir.clone(), bind };
    let mut settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Command::Serve { no_worker: true, .. } = cli.command {
        settings.run_worker = false;
    }
    telemetry::init(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("无法启动运行时：{e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } => {
            let app = App::build(settings).await?;
            println!("GovHall 已启动：{}", app.url());
            wait_for_signal(app.shutdown_token()).await;
            tracing::info!("shutting down: finishing requests and running jobs");
            app.stop().await
        }
        Command::Worker => {
            let shutdown = CancellationToken::new();
            tokio::spawn(wait_for_signal(shutdown.clone()));
            run_worker(&settings, shutdown).await
        }
        Command::Keys { command: KeysCommand::Sm2 { private, public } } => {
            payments_cli::new_sm2_keys(&private, &public)
        }
        Command::Keys { command: KeysCommand::LicencesRotate } => licences_cli::rotate(&settings).await,
        Command::Keys { command: KeysCommand::LicencesWithdraw { key_id, reason } } => {
            licences_cli::withdraw(&settings, &key_id, &reason).await
        }
        Command::SandboxGateway { listen, secret, sm2_key, hall_public_key, public_url, hall_url } => {
            let signer = payments_cli::sandbox_signer(secret, sm2_key, hall_public_key)?;
            let shutdown = CancellationToken::new();
            tokio::spawn(wait_for_signal(shutdown.clone()));
            payments_cli::serve_sandbox(&listen, signer, public_url, hall_url, shutdown).await
        }
        Command::SandboxCourier { listen, secret, sm2_key, hall_public_key, hall_url } => {
            let signer = payments_cli::sandbox_signer(secret, sm2_key, hall_public_key)?;
            let shutdown = CancellationToken::new();
            tokio::spawn(wait_for_signal(shutdown.clone()));
            payments_cli::serve_sandbox_courier(&listen, signer, hall_url, shutdown).await
        }
        Command::Migrate => {
            let db = open_database(&settings).await?;
            let status = db.migration_status().await?;
            println!("数据库（{}）已迁移到版本 {}", db.backend().name(), status.current.unwrap_or_default());
            db.close().await;
            Ok(())
        }
        Command::Config => {
            print!("{}", settings.to_redacted_toml());
            Ok(())
        }
        Command::Jobs { command } => jobs_command(command, &settings).await,
        Command::User { command: UserCommand::GenKey } => {
            println!("{}", govhall_identity::Keys::generate_master_hex());
            Ok(())
        }
        Command::User { command: UserCommand::AddAdmin { role, phone, name } } => {
            let role =
                AdminRole::parse(&role).ok_or_else(|| anyhow::anyhow!("管理员角色应为 system、security 或 audit"))?;
            let (db, identity) = identity_for_cli(&settings).await?;
            let (password, made_up) = new_password();
            let result = identity.create_admin(&Actor::system("命令行"), role, &phone, &name, &password).await;
            db.close().await;
            let id = result.map_err(|e| anyhow::anyhow!(e.message()))?;
            println!("已创建{}：{name}（账号编号 {id}）", role.label());
            if made_up {
                println!("初始密码（只显示这一次，请登录后修改）：{password}");
            }
            Ok(())
        }
        Command::User { command: UserCommand::ResetPassword { login } } => {
            let (db, identity) = identity_for_cli(&settings).await?;
            let (password, made_up) = new_password();
            let result = identity.set_password(&Actor::system("命令行"), &login, &password).await;
            db.close().await;
            let id = result.map_err(|e| anyhow::anyhow!(e.message()))?;
            println!("已重置账号 {id} 的密码，该账号的所有登录已退出");
            if made_up {
                println!("新密码（只显示这一次，请登录后修改）：{password}");
            }
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify } => {
            let (db, identity) = identity_for_cli(&settings).await?;
            let result = govhall_audit::verify(&db, &identity.keys().checkpoint_key()).await;
            db.close().await;
            let report = result.map_err(|e| anyhow::anyhow!("无法校验审计日志：{e}"))?;
            let latest = match &report.latest_checkpoint {
                Some((n, hash)) => format!("最新检查点第 {n} 个，哈希 {hash}（可与另行保存的副本核对）"),
                None => "尚无检查点".to_owned(),
            };
            if report.is_intact() {
                println!(
                    "审计日志完整：{} 条链共 {} 条记录、{} 个检查点，哈希链、检查点签名及二者的对应均校验通过；{latest}",
                    report.chains, report.checked, report.checkpoints
                );
                return Ok(());
            }
            for problem in &report.problems {
                eprintln!("审计日志被篡改：{}", problem.what);
            }
            anyhow::bail!(
                "审计日志校验失败：发现 {} 处问题（{} 条记录完好）；{latest}",
                report.problems.len(),
                report.checked
            )
        }
        Command::Import { command: ImportCommand::Catalog { gd, sc } } => import_catalog(&settings, gd, sc).await,
        Command::Client { command } => client_command(command, &settings).await,
        Command::Exchange { command } => exchange_cli::run(command, &settings).await,
        Command::Reindex { online } => search_cli::reindex(&settings, online).await,
        Command::SearchEval { file, json } => search_cli::eval(&settings, &file, json).await,
        Command::Import { command: ImportCommand::Regions { file } } => {
            let text = match &file {
                Some(path) => {
                    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("无法读取 {}：{e}", path.display()))?
                }
                None => govhall_identity::regions::BUNDLED.to_owned(),
            };
            let regions = govhall_identity::regions::parse(&text).map_err(|e| anyhow::anyhow!(e.message()))?;
            let db = open_database(&settings).await?;
            let result = govhall_identity::regions::import(&db, &regions).await;
            db.close().await;
            let count = result.map_err(|e| anyhow::anyhow!(e.message()))?;
            println!("已导入 {count} 个行政区划");
            Ok(())
        }
        Command::Import { command: ImportCommand::LicenceTypes { file } } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("无法读取 {}：{e}", file.display()))?;
            let db = open_database(&settings).await?;
            let actor = govhall_audit::Actor::system("命令行");
            let result = govhall_licences::types::import(&db, &text, &actor).await;
            db.close().await;
            let count = result.map_err(|e| anyhow::anyhow!(govhall_core::Coded::message(&e)))?;
            println!("已导入 {count} 个电子证照类型");
            Ok(())
        }
        Command::Import { command: ImportCommand::Licences { type_code, file } } => {
            licences_cli::import(&settings, &type_code, &file).await
        }
    }
}

async fn import_catalog(settings: &Settings, gd: Option<PathBuf>, sc: Option<PathBuf>) -> anyhow::Result<()> {
    use govhall_catalog::import;
    let read =
        |path: &PathBuf| std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("无法读取 {}：{e}", path.display()));
    let both = gd.is_none() && sc.is_none();
    let gd_text = match &gd {
        Some(path) => Some(read(path)?),
        None if both => Some(import::GD_BUNDLED.to_owned()),
        None => None,
    };
    let sc_text = match &sc {
        Some(path) => Some(read(path)?),
        None if both => Some(import::SC_BUNDLED.to_owned()),
        None => None,
    };
    let db = open_database(settings).await?;
    let result = async {
        govhall_identity::regions::ensure_imported(&db).await.map_err(|e| anyhow::anyhow!(e.message()))?;
        govhall_catalog::taxonomy::ensure_defaults(&db).await.map_err(|e| anyhow::anyhow!(e.message()))?;
        let progress = |label: &'static str| {
            move |done: usize, total: usize| {
                eprint!("\r{label}：{done}/{total}{}", if done == total { "\n" } else { "" })
            }
        };
        let mut reports = Vec::new();
        if let Some(text) = &gd_text {
            reports.push(import::import_gd(&db, text, progress("广东省事项目录")).await);
        }
        if let Some(text) = &sc_text {
            reports.push(import::import_sc(&db, text, progress("四川省广安区事项目录")).await);
        }
        let mut failed = false;
        for report in reports {
            match report {
                Ok(report) => {
                    println!("{}", report.summary());
                    for (line, reason) in &report.rejected {
                        println!("  第 {line} 条被拒绝：{reason}");
                    }
                }
                Err(e) => {
                    failed = true;
                    eprintln!("导入失败，目录未作改动：{}", e.message());
                }
            }
        }
        if failed { anyhow::bail!("有文件未能导入") } else { Ok(()) }
    }
    .await;
    db.close().await;
    result
}

async fn client_command(command: ClientCommand, settings: &Settings) -> anyhow::Result<()> {
    use govhall_identity::clients;
    let db = open_database(settings).await?;
    let actor = Actor::system("命令行");
    let result = async {
        match command {
            ClientCommand::Add { name, service } => {
                if service == i32::from(settings.cases.service_number) {
                    anyhow::bail!(
                        "发号服务编号 {service:02} 是本大厅自己的编号（配置 [cases] service_number），请为接入系统另选一个"
                    );
                }
                let (client, key) = clients::create(&db, &actor, &name, service, &["serial_numbers"])
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message()))?;
                println!("已创建接入系统“{}”，发号服务编号 {:02}。", client.name, client.service_number);
                println!("密钥（只显示这一次，请交给对方系统保管，随 X-Api-Key 请求头发送）：\n{key}");
            }
            ClientCommand::List => {
                for c in clients::list(&db).await.map_err(|e| anyhow::anyhow!(e.message()))? {
                    let status = if c.status == "active" { "启用" } else { "停用" };
                    println!("{}\t发号服务 {:02}\t{}\t{}", c.name, c.service_number, c.scopes, status);
                }
            }
            ClientCommand::Disable { name } | ClientCommand::Enable { name } if name.trim().is_empty() => {
                anyhow::bail!("请用 --name 指定接入系统")
            }
            ClientCommand::Disable { name } => {
                clients::set_active(&db, &actor, &name, false).await.map_err(|e| anyhow::anyhow!(e.message()))?;
                println!("已停用接入系统“{name}”。");
            }
            ClientCommand::Enable { name } => {
                clients::set_active(&db, &actor, &name, true).await.map_err(|e| anyhow::anyhow!(e.message()))?;
                println!("已启用接入系统“{name}”。");
            }
        }
        Ok(())
    }
    .await;
    db.close().await;
    result
}

/// The password from NEW_ADMIN_PASSWORD, or one made up (and whether it was).
fn new_password() -> (String, bool) {
    match std::env::var("NEW_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (random_password(), true),
    }
}

/// A password made up for a new administrator: 16 characters from an unambiguous alphabet,
/// with letters and digits.
fn random_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let body: String = (0..14).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{body}{}{}", rng.random_range(2..10), ['#', '@', '%', '+'][rng.random_range(0..4)])
}

async fn jobs_command(command: JobsCommand, settings: &Settings) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    match command {
        JobsCommand::List { state, limit } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(
                    JobState::ALL
                        .into_iter()
                        .find(|st| st.as_str() == s)
                        .ok_or_else(|| anyhow::anyhow!("未知的任务状态“{s}”，可用：queued、running、done、dead"))?,
                ),
            };
            for job in jobs::list(&db, state, limit).await? {
                println!(
                    "{}\t{}\t{}\t{}/{}\t{}\t{}",
                    job.id,
                    job.kind,
                    job.state,
                    job.attempts,
                    job.max_attempts.map_or_else(|| "默认".to_owned(), |n| n.to_string()),
                    job.run_at.format("%Y-%m-%d %H:%M:%S"),
                    job.last_error.unwrap_or_default()
                );
            }
        }
        JobsCommand::Retry { id } => {
            let id: JobId = id.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            if jobs::retry_dead(&db, id).await? {
                println!("任务 {id} 已重新排队");
            } else {
                anyhow::bail!("任务 {id} 不存在或不是失败（dead）状态");
            }
        }
    }
    db.close().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM and cancels `token`.
async fn wait_for_signal(token: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
        () = token.cancelled() => {}
    }
    token.cancel();
}
