//! Running the real binary as an operator would.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_govhall");

/// The binary with a clean environment: no stray GOVHALL_ or DATABASE_URL from the caller.
pub fn govhall(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("RUST_LOG", "warn");
    cmd
}

/// Starts `govhall serve` on port 0 and returns it with its URL, read from its first line.
pub fn serve(cmd: &mut Command) -> (Child, String) {
    let mut child =
        cmd.args(["serve", "--bind", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line.trim().rsplit('：').next().unwrap_or_default().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "serve printed {line:?}");
    (child, url)
}

/// Sends SIGTERM and waits (at most 20 s) for the process to end.
pub fn terminate(child: &mut Child) -> std::process::ExitStatus {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `n` `govhall serve` nodes on the PostgreSQL database at `database_url`, each in a folder of
/// its own (kept alive with them), the test master key, no catalogue import.
pub fn postgres_nodes(n: usize, database_url: &str) -> (Vec<tempfile::TempDir>, Vec<(Child, String)>) {
    postgres_nodes_with(n, database_url, &[])
}

/// As [`postgres_nodes`], each node with the settings `env` gives (`GOVHALL_…` variables).
pub fn postgres_nodes_with(
    n: usize,
    database_url: &str,
    env: &[(&str, &str)],
) -> (Vec<tempfile::TempDir>, Vec<(Child, String)>) {
    let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
    let nodes = dirs
        .iter()
        .map(|dir| {
            let mut command = govhall(dir.path());
            command
                .env("DATABASE_URL", database_url)
                .env("GOVHALL_IDENTITY__MASTER_KEY", super::MASTER_KEY)
                .env("GOVHALL_CATALOG__IMPORT_ON_START", "false");
            for (key, value) in env {
                command.env(key, value);
            }
            serve(&mut command)
        })
        .collect();
    (dirs, nodes)
}
