//! The binary as an operator runs it: configuration layers, bad input, the SQLite single-node
//! guard, graceful shutdown, and jobs and changes crossing processes on PostgreSQL.

use crate::common;

use common::process::{govhall, postgres_nodes, serve, terminate};
use govhall_db::changes::{self, ChangeOp};
use govhall_db::housekeeping::PRUNE_JOB;
use govhall_db::jobs::{self, JobState, NewJob};
use govhall_db::testing::TestDatabase;
use govhall_db::{Backend, Db};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A GET with a client that has a TLS provider (the process's reqwest is built without a default).
async fn http_get(url: impl AsRef<str>) -> reqwest::Result<reqwest::Response> {
    govhall_messaging::install_crypto();
    reqwest::get(url.as_ref()).await
}

fn output(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_layers_defaults_file_environment_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = output(govhall(dir.path()).arg("config"));
    assert!(ok, "{err}");
    assert!(out.contains("bind = \"127.0.0.1:8080\"") && out.contains("data_dir = \"./data\""), "{out}");
    assert!(out.contains("SQLite"), "says where the data lives: {out}");
    assert!(!dir.path().join("data").exists(), "printing the config creates nothing");

    std::fs::write(
        dir.path().join("hall.toml"),
        "bind = \"0.0.0.0:9000\"\n[site]\nname = \"山东省网上政务服务大厅\"\n[jobs]\nconcurrency = 2\n",
    )
    .unwrap();
    let (ok, out, err) = output(
        govhall(dir.path())
            .args(["--config", "hall.toml", "--data-dir", "/srv/hall", "config"])
            .env("GOVHALL_JOBS__CONCURRENCY", "6")
            .env("GOVHALL_SITE__HOTLINE", "12345678")
            .env("DATABASE_URL", "postgres://hall:s3cret@db.internal:5432/govhall"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("bind = \"0.0.0.0:9000\""), "file over defaults: {out}");
    assert!(out.contains("name = \"山东省网上政务服务大厅\""));
    assert!(out.contains("concurrency = 6"), "environment over file: {out}");
    assert!(out.contains("hotline = \"12345678\""), "an all-digit value for a text setting: {out}");
    assert!(out.contains("data_dir = \"/srv/hall\""), "flag over all");
    assert!(out.contains("postgres://hall:******@db.internal:5432/govhall"), "{out}");
    assert!(!out.contains("s3cret"), "secrets never print");
}

#[test]
fn unknown_keys_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "bnid = \"0.0.0.0:1\"\n").unwrap();
    let (ok, _, err) = output(govhall(dir.path()).args(["--config", "bad.toml", "config"]));
    assert!(!ok);
    assert!(err.contains("配置有误") && err.contains("bnid"), "{err}");

    let (ok, _, err) = output(govhall(dir.path()).arg("config").env("GOVHALL_JOBS__CONCURENCY", "3"));
    assert!(!ok);
    assert!(err.contains("concurency"), "{err}");

    let (ok, _, err) = output(govhall(dir.path()).args(["--config", "missing.toml", "config"]));
    assert!(!ok);
    assert!(err.contains("找不到配置文件"), "{err}");

    let (ok, _, err) = output(govhall(dir.path()).arg("config").env("GOVHALL_LOG_LEVEL", "loud=[["));
    assert!(!ok);
    assert!(err.contains("log_level"), "{err}");
}

#[test]
fn a_malformed_database_url_stops_the_node_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["postgress://localhost/hall", "mysql://root@localhost/hall"] {
        let (ok, _, err) =
            output(govhall(dir.path()).args(["serve", "--bind", "127.0.0.1:0"]).env("DATABASE_URL", url));
        assert!(!ok, "{url} must not start");
        assert!(err.contains("DATABASE_URL") && err.contains("无效"), "{err}");
    }
    assert!(!dir.path().join("data").exists(), "no SQLite database was created instead");
}

#[tokio::test]
async fn zero_setup_serve_creates_the_data_folder_and_refuses_a_second_node() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, url) = serve(&mut govhall(dir.path()));
    assert!(dir.path().join("data/govhall.db").exists(), "SQLite in ./data");
    let body = http_get(format!("{url}/readyz")).await.unwrap().text().await.unwrap();
    assert!(body.contains("\"sqlite\"") && body.contains("\"ready\""), "{body}");
    let home = http_get(&url).await.unwrap().text().await.unwrap();
    assert!(home.contains("网上政务服务大厅"));

    let (ok, _, err) = output(govhall(dir.path()).args(["serve", "--bind", "127.0.0.1:0"]));
    assert!(!ok, "a second node on the same SQLite folder must not start");
    assert!(err.contains("只能运行一个节点"), "{err}");

    assert!(terminate(&mut first).success(), "graceful shutdown exits 0");
    // The folder is free again.
    let (ok, out, err) = output(govhall(dir.path()).arg("migrate"));
    assert!(ok && out.contains("已迁移"), "{out}{err}");
}

/// `govhall worker` runs the jobs other processes enqueued; on SQLite after the writer let go of
/// the folder, on PostgreSQL alongside it, woken by NOTIFY (its poll interval is a minute).
#[tokio::test]
async fn the_standalone_worker_runs_jobs_enqueued_by_another_process() {
    let t = TestDatabase::new().await;
    let db: Db = t.open().await.unwrap();
    let mut ids = Vec::new();
    let mut enqueue_batch = async |db: &Db, from: usize| {
        let mut tx = db.begin().await.unwrap();
        for i in from..from + 10 {
            let job = NewJob::new(PRUNE_JOB, ()).unwrap().idempotency_key(format!("cross-process-{i}"));
            ids.push(jobs::enqueue(&mut tx, job).await.unwrap());
        }
        tx.commit().await.unwrap();
    };
    enqueue_batch(&db, 0).await;
    let sqlite = db.backend() == Backend::Sqlite;
    let kept = if sqlite {
        // One process at a time on a SQLite folder.
        db.close().await;
        drop(db);
        None
    } else {
        Some(db)
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = govhall(dir.path());
    // Info: the test follows the worker's log (started, each job done).
    cmd.arg("--data-dir")
        .arg(t.data_dir())
        .env("GOVHALL_JOBS__POLL_INTERVAL_MS", "60000")
        .env("GOVHALL_IDENTITY__MASTER_KEY", common::MASTER_KEY)
        .env("RUST_LOG", "info");
    if let Some(url) = &t.database_url {
        cmd.env("DATABASE_URL", url);
    }
    let mut worker = cmd.arg("worker").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let reader = {
        let (stderr, log) = (worker.stderr.take().unwrap(), log.clone());
        std::thread::spawn(move || {
            use std::io::BufRead;
            // Read to the end: a closed pipe would fail the worker's next log line.
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        })
    };
    let wait_for = async |what: &str, times: usize| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while log.lock().unwrap().matches(what).count() < times {
            assert!(Instant::now() < deadline, "no {times} × {what:?} in the worker's log: {}", log.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    wait_for("job worker started", 1).await;
    let db = match kept {
        None => {
            // Let the worker run them, stop it, then look.
            wait_for("housekeeping done", 10).await;
            assert!(terminate(&mut worker).success(), "the worker stops cleanly on SIGTERM");
            t.open().await.unwrap()
        }
        Some(db) => {
            tokio::time::sleep(Duration::from_millis(500)).await; // LISTEN connects
            enqueue_batch(&db, 10).await;
            db
        }
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in &ids {
        loop {
            let job = jobs::get(&db, *id).await.unwrap().unwrap();
            if job.state == JobState::Done {
                assert_eq!(job.attempts, 1, "each job ran exactly once");
                assert!(
                    job.locked_by.is_some_and(|w| !w.contains(&format!(":{}:", std::process::id()))),
                    "run by the other process"
                );
                break;
            }
            assert!(Instant::now() < deadline, "the worker never ran {id}: {job:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    if !sqlite {
        assert!(terminate(&mut worker).success(), "the worker stops cleanly on SIGTERM");
    }
    reader.join().unwrap();
    db.close().await;
    t.cleanup().await;
}

/// On PostgreSQL a change recorded by one process reaches another node's change follower.
#[tokio::test]
async fn changes_reach_another_node_on_postgres() {
    let t = TestDatabase::new().await;
    let Some(database_url) = t.database_url.clone() else {
        // One node only on SQLite: the single-node guard above is what applies.
        return;
    };
    let db: Db = t.open().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = serve(
        govhall(dir.path())
            .env("DATABASE_URL", &database_url)
            .env("GOVHALL_IDENTITY__MASTER_KEY", common::MASTER_KEY)
            .arg("--data-dir")
            .arg(t.data_dir()),
    );
    let mut tx = db.begin().await.unwrap();
    changes::record(&mut tx, "item", "cross-process", ChangeOp::Update);
    tx.commit().await.unwrap();
    let seq = changes::latest_seq(&db).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready: serde_json::Value = http_get(format!("{url}/readyz")).await.unwrap().json().await.unwrap();
        if ready["change_feed_position"].as_i64().unwrap() >= seq {
            break;
        }
        assert!(Instant::now() < deadline, "the other node never read change {seq}: {ready}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(terminate(&mut child).success());
    db.close().await;
    t.cleanup().await;
}

/// `govhall reindex` rebuilds the index with a progress bar (refused while a node holds it),
/// `--online` asks running nodes, and `govhall search-eval` scores judged queries beside the
/// baseline and names a malformed line.
#[test]
fn reindex_and_search_eval_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = output(govhall(dir.path()).args(["import", "catalog"]));
    assert!(ok, "{out}{err}");
    let (ok, out, err) = output(govhall(dir.path()).arg("reindex"));
    assert!(ok, "{out}{err}");
    assert!(out.contains("搜索索引已重建：事项 3397 项"), "{out}");
    assert!(dir.path().join("data/search/meta.json").exists(), "the index is in the data folder");
    let (ok, out, err) = output(govhall(dir.path()).args(["reindex", "--online"]));
    assert!(ok && out.contains("已通知所有运行中的节点"), "{out}{err}");

    std::fs::write(
        dir.path().join("judged.tsv"),
        "# two queries\n结婚登记预约\t11440000006940175Y2442108008000:2\njiehun dengji yuyue\t11440000006940175Y2442108008000\n",
    )
    .unwrap();
    let (ok, out, err) = output(govhall(dir.path()).args(["search-eval", "judged.tsv"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("2 条评测查询，3397 个已发布事项") && out.contains("SQLite FTS5 trigram"), "{out}");
    let (ok, out, _) = output(govhall(dir.path()).args(["search-eval", "judged.tsv", "--json"]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(ok && report["govhall"]["success"].as_f64().unwrap() > 0.99, "{report}");
    std::fs::write(dir.path().join("bad.tsv"), "结婚登记预约 no tab\n").unwrap();
    let (ok, _, err) = output(govhall(dir.path()).args(["search-eval", "bad.tsv"]));
    assert!(!ok && err.contains("第 1 行应为“查询词<Tab>事项编码,事项编码”"), "{err}");
}

/// Three `govhall serve` processes on one PostgreSQL issue serial numbers to many concurrent
/// callers: no number twice, none skipped, increasing per prefix, retries answered alike.
#[tokio::test]
async fn serial_numbers_from_several_nodes_on_postgres_are_unique_and_gapless() {
    let t = TestDatabase::new().await;
    let Some(database_url) = t.database_url.clone() else {
        return; // One node only on SQLite.
    };
    let db: Db = t.open().await.unwrap();
    let actor = govhall_audit::Actor::system("test");
    let (_, key) =
        govhall_identity::clients::create(&db, &actor, "现场大厅系统", 2, &["serial_numbers"]).await.unwrap();
    let (_dirs, mut nodes) = postgres_nodes(3, &database_url);
    govhall_messaging::install_crypto();
    let client = reqwest::Client::new();
    let calls: Vec<_> = (0..90)
        .map(|n| {
            let url = format!("{}/api/v1/serial-numbers", nodes[n % 3].1);
            let (client, key) = (client.clone(), key.clone());
            tokio::spawn(async move {
                // Every third call retries the one before, on another node.
                let idempotency = format!("call-{}", n - usize::from(n % 3 == 2));
                let body = serde_json::json!({"region_code": "370100", "nature": "01", "idempotency_key": idempotency});
                let res = client.post(url).header("x-api-key", key).json(&body).send().await.unwrap();
                assert_eq!(res.status(), reqwest::StatusCode::CREATED);
                let number: serde_json::Value = res.json().await.unwrap();
                (idempotency, number["serial_number"].as_str().unwrap().to_owned())
            })
        })
        .collect();
    let mut by_key = std::collections::HashMap::new();
    for call in futures::future::join_all(calls).await {
        let (key, number) = call.unwrap();
        if let Some(before) = by_key.insert(key.clone(), number.clone()) {
            assert_eq!(before, number, "a retry of {key} got another number");
        }
    }
    let numbers: std::collections::BTreeSet<&String> = by_key.values().collect();
    assert_eq!(numbers.len(), by_key.len(), "one number per distinct call");
    let expected: Vec<String> = (1..=by_key.len()).map(|n| format!("010201{n:06}")).collect();
    assert_eq!(numbers.into_iter().cloned().collect::<Vec<_>>(), expected, "gapless and in order");
    for (child, _) in &mut nodes {
        assert!(terminate(child).success());
    }
    db.close().await;
    t.cleanup().await;
}

#[test]
fn api_clients_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) =
        output(govhall(dir.path()).args(["client", "add", "--name", "现场大厅系统", "--service", "2"]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("发号服务编号 02") && out.contains("ghk_"), "{out}");
    let (ok, _, err) = output(govhall(dir.path()).args(["client", "add", "--name", "现场大厅系统", "--service", "3"]));
    assert!(!ok && err.contains("已被使用"), "{err}");
    let (ok, _, err) = output(govhall(dir.path()).args(["client", "add", "--name", "另一个", "--service", "100"]));
    assert!(!ok && err.contains("1 到 99"), "{err}");
    let (ok, _, err) = output(govhall(dir.path()).args(["client", "add", "--name", "另一个", "--service", "1"]));
    assert!(!ok && err.contains("本大厅自己的编号"), "the hall's own service number: {err}");
    let (ok, out, _) = output(govhall(dir.path()).args(["client", "disable", "--name", "现场大厅系统"]));
    assert!(ok && out.contains("已停用"), "{out}");
    let (_, out, _) = output(govhall(dir.path()).args(["client", "list"]));
    assert!(out.contains("现场大厅系统\t发号服务 02\tserial_numbers\t停用"), "{out}");
}

/// A department's system connected, listed and disconnected from the command line: its keys
/// printed once, a second connection refused, bad input named.
#[tokio::test]
async fn department_systems_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = output(govhall(dir.path()).arg("migrate"));
    assert!(ok, "{out}{err}");
    let (ok, out, err) = output(govhall(dir.path()).args(["import", "regions"]));
    assert!(ok, "{out}{err}");
    let options = govhall_db::DbOptions::new(None, dir.path().join("data"));
    let db = Db::connect(&options).await.unwrap();
    let actor = govhall_audit::Actor::system("test");
    let department =
        govhall_identity::departments::create(&db, &actor, "省公安厅", "370000", None).await.unwrap().to_string();
    db.close().await;
    // The single-node lock goes with the handle.
    drop(db);

    let connect = |service: &str| {
        output(govhall(dir.path()).args(["exchange", "connect", "--department", &department, "--name"]).args([
            "公安审批系统",
            "--service",
            service,
            "--allow-ip",
            "10.8.0.0/16,10.9.1.7",
        ]))
    };
    let (ok, out, err) = connect("31");
    assert!(ok, "{out}{err}");
    assert!(out.contains("ghk_") && out.contains("ghs_") && out.contains("已排队 0 件"), "{out}");
    let (ok, _, err) = connect("32");
    assert!(!ok && err.contains("已对接过"), "{err}");
    let (ok, out, _) = output(govhall(dir.path()).args(["exchange", "list"]));
    assert!(
        ok && out.contains("省公安厅") && out.contains("公安审批系统（签名）") && out.contains("待拉取 0 件"),
        "{out}"
    );
    let (ok, _, err) = output(govhall(dir.path()).args(["exchange", "disconnect", "--department", "not-a-uuid"]));
    assert!(!ok && err.contains("不是有效的 UUID"), "{err}");
    let (ok, out, err) = output(govhall(dir.path()).args(["exchange", "disconnect", "--department", &department]));
    assert!(ok && out.contains("已停用"), "{out}{err}");
    let (_, out, _) = output(govhall(dir.path()).args(["exchange", "list"]));
    assert!(out.contains("尚无部门系统对接"), "{out}");
}

#[test]
fn licence_keys_rotate_and_withdraw_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("data").join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = keys.join("licences-sm2.pem");
    let public = dir.path().join("first.pub.pem");
    let (ok, out, err) =
        output(govhall(dir.path()).args(["keys", "sm2", "--private"]).arg(&key).arg("--public").arg(&public));
    assert!(ok, "{out}{err}");
    let id_after = |out: &str, before: &str| {
        out.split(before).nth(1).and_then(|rest| rest.split(['（', ' ']).next()).unwrap_or_default().to_owned()
    };
    let (ok, out, err) = output(govhall(dir.path()).args(["keys", "licences-rotate"]));
    assert!(ok, "{out}{err}");
    let (first, second) = (id_after(&out, "旧密钥 "), id_after(&out, "证照签名密钥 "));
    assert_eq!((first.len(), second.len()), (16, 16), "{out}");
    assert!(keys.join(format!("licences-sm2.pem.{first}.retired")).exists() && key.exists());
    // The key in use cannot be withdrawn; the retired one can, once.
    let (ok, _, err) = output(govhall(dir.path()).args(["keys", "licences-withdraw", &second, "--reason", "测试"]));
    assert!(!ok && err.contains("先轮换"), "{err}");
    let (ok, out, err) =
        output(govhall(dir.path()).args(["keys", "licences-withdraw", &first, "--reason", "私钥泄露"]));
    assert!(ok && out.contains("已停用"), "{out}{err}");
    let (ok, _, err) = output(govhall(dir.path()).args(["keys", "licences-withdraw", &first, "--reason", "再次"]));
    assert!(!ok && err.contains("已停用"), "{err}");
}

/// Three nodes started at the same moment on an empty PostgreSQL all come up, and the bundled
/// catalogue is imported once (the first start's set-up takes turns).
#[tokio::test]
async fn nodes_started_together_on_an_empty_postgres_all_come_up() {
    let t = TestDatabase::new().await;
    let Some(database_url) = t.database_url.clone() else {
        return;
    };
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut children: Vec<Child> = dirs
        .iter()
        .map(|dir| {
            govhall(dir.path())
                .env("DATABASE_URL", &database_url)
                .env("GOVHALL_IDENTITY__MASTER_KEY", common::MASTER_KEY)
                .args(["serve", "--bind", "127.0.0.1:0"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in &mut children {
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        if !line.contains("已启动") {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("a node did not start: {line}{err}");
        }
    }
    let db: Db = t.open().await.unwrap();
    let mut conn = db.conn().await.unwrap();
    let items: i64 = govhall_db::run!(conn, |c| govhall_db::sqlx::query_scalar("SELECT COUNT(*) FROM items")
        .fetch_one(&mut *c)
        .await)
    .unwrap();
    assert_eq!(items, 3397);
    drop(conn);
    for child in &mut children {
        let status = terminate(child);
        if !status.success() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("a node stopped with {status}: {err}");
        }
    }
    db.close().await;
    t.cleanup().await;
}
