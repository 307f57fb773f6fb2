//! The commands of the outside services' sandboxes: `govhall keys sm2` (a new SM2 key pair as
//! PEM files), `govhall sandbox-gateway` (the sandbox fiscal payment gateway alone) and `govhall
//! sandbox-courier` (the sandbox courier alone).

use govhall_payments::gateway::protocol::{SM2_DEFAULT_ID, Signer, new_sm2_key_pem};
use std::path::{Path, PathBuf};
use tokio_util::sync::CancellationToken;

/// Writes a new SM2 key pair: the private key readable by its owner only, never over an
/// existing file.
pub fn new_sm2_keys(private: &Path, public: &Path) -> anyhow::Result<()> {
    let (private_pem, public_pem) = new_sm2_key_pem().map_err(|e| anyhow::anyhow!(e))?;
    write_private(private, &private_pem)?;
    std::fs::write(public, public_pem).map_err(|e| anyhow::anyhow!("无法写入 {}：{e}", public.display()))?;
    println!("已生成 SM2 密钥对：私钥 {}（仅所有者可读，请勿外传），公钥 {}", private.display(), public.display());
    Ok(())
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("无法写入 {}：{e}（已存在的文件不会被覆盖）", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| anyhow::anyhow!("无法写入 {}：{e}", path.display()))?;
    Ok(())
}

/// The sandbox's signer: SM2 with its key and the hall's public key, or the shared key.
pub fn sandbox_signer(
    secret: Option<String>,
    sm2_key: Option<PathBuf>,
    hall_public_key: Option<PathBuf>,
) -> anyhow::Result<Signer> {
    let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("无法读取 {}：{e}", p.display()));
    match (secret, sm2_key, hall_public_key) {
        (_, Some(key), Some(hall)) => {
            Signer::sm2_from_pem(&read(&key)?, &read(&hall)?, SM2_DEFAULT_ID).map_err(|e| anyhow::anyhow!(e))
        }
        (Some(secret), _, _) => Ok(Signer::HmacSm3(secret.into_bytes())),
        _ => anyhow::bail!("请给出 --secret，或 --sm2-key 与 --hall-public-key"),
    }
}

/// Serves the sandbox gateway at `listen` until `shutdown`.
pub async fn serve_sandbox(
    listen: &str,
    signer: Signer,
    public_url: Option<String>,
    hall_url: Option<String>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("无法监听地址 {listen}（端口可能已被占用）：{e}"))?;
    let addr = listener.local_addr()?;
    let base = public_url.unwrap_or_else(|| format!("http://{addr}"));
    let sandbox = govhall_web::sandbox_gateway::SandboxGateway::with_signer(signer, &base, hall_url.as_deref());
    println!("模拟财政支付网关已启动：{base}");
    axum::serve(listener, sandbox.router()).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
    Ok(())
}

/// Serves the sandbox courier at `listen` until `shutdown`.
pub async fn serve_sandbox_courier(
    listen: &str,
    signer: Signer,
    hall_url: Option<String>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("无法监听地址 {listen}（端口可能已被占用）：{e}"))?;
    let addr = listener.local_addr()?;
    let sandbox = govhall_web::sandbox_courier::SandboxCourier::new(signer, hall_url.as_deref());
    println!("模拟快递公司已启动：http://{addr}");
    axum::serve(listener, sandbox.router()).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
    Ok(())
}
