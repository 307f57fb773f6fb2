//! `govhall`: the online government service hall. Parses the command line and calls the library.

use clap::{Parser, Subcommand};
use govhall::config::Overrides;
use govhall::{App, Settings, open_database, run_worker, telemetry};
use govhall_core::ids::JobId;
use govhall_db::jobs::{self, JobState};
use std::path::PathBuf;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

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
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets hidden.
    Config,
    /// Inspect and retry background jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
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
    }
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
