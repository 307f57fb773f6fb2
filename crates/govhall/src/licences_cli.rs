//! The licence commands: `govhall keys licences-rotate` (a new signing key, the old one set
//! aside and kept on record), `govhall keys licences-withdraw` (a key that leaked) and `govhall
//! import licences` (existing licences from a file, with the row-by-row report).

use govhall::Settings;
use govhall_audit::Actor;
use govhall_core::Coded as _;
use govhall_licences::LicenceKey;
use govhall_licences::import::RowOutcome;

/// Opens the registry briefly: the key it signs with is registered on the way.
async fn register_key(settings: &Settings) -> anyhow::Result<()> {
    let (db, licences) = govhall::app::licences_for_cli(settings).await?;
    drop(licences);
    db.close().await;
    Ok(())
}

/// A new key in the configured file; the old file kept beside it as `<file>.<key id>.retired`.
pub async fn rotate(settings: &Settings) -> anyhow::Result<()> {
    let path = govhall::app::licence_key_path(settings);
    let sm2_id = &settings.licences.sm2_id;
    let old = LicenceKey::load(&path, sm2_id, false).map_err(|e| anyhow::anyhow!(e.message()))?;
    // The old key on record first (a node that never started with it has not registered it),
    // so that what it signed keeps verifying.
    register_key(settings).await?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let retired = path.with_file_name(format!("{name}.{}.retired", old.id()));
    std::fs::rename(&path, &retired).map_err(|e| anyhow::anyhow!("无法移走旧密钥文件 {}：{e}", path.display()))?;
    let new = LicenceKey::load(&path, sm2_id, true).map_err(|e| anyhow::anyhow!(e.message()))?;
    register_key(settings).await?;
    println!(
        "已生成新的证照签名密钥 {}（{}）。旧密钥 {} 已移到 {}，请离线归档后删除；用旧密钥签发的证照仍可核验。请用新密钥文件重启所有节点。",
        new.id(),
        path.display(),
        old.id(),
        retired.display()
    );
    Ok(())
}

/// Withdraws key `key_id`.
pub async fn withdraw(settings: &Settings, key_id: &str, reason: &str) -> anyhow::Result<()> {
    let (db, licences) = govhall::app::licences_for_cli(settings).await?;
    let result = licences.withdraw_key(&Actor::system("命令行"), key_id, reason).await;
    drop(licences);
    db.close().await;
    result.map_err(|e| anyhow::anyhow!(e.message()))?;
    println!("已停用证照签名密钥 {key_id}：它签发的证照核验时将显示“签名密钥已停用”。");
    Ok(())
}

/// Imports the licences of type `type_code` in `file`, printing each row's outcome; exits with
/// status 2 when a row had a mistake.
pub async fn import(settings: &Settings, type_code: &str, file: &std::path::Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("无法读取 {}：{e}", file.display()))?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (db, licences) = govhall::app::licences_for_cli(settings).await?;
    let result = licences.import_licences(None, &Actor::system("命令行"), type_code, &name, &bytes).await;
    drop(licences);
    db.close().await;
    let report = result.map_err(|e| anyhow::anyhow!(e.message()))?;
    for row in &report.rows {
        let what = match &row.outcome {
            RowOutcome::Imported { identifier } => format!("已导入，证照标识 {identifier}"),
            RowOutcome::Existing => "已存在，跳过".to_owned(),
            RowOutcome::Error { message } => format!("有误：{message}"),
        };
        println!("第 {} 行 {}：{what}", row.line, row.number);
    }
    println!("导入 {} 个，已存在 {} 个，有误 {} 个", report.imported, report.existing, report.errors);
    if report.errors > 0 {
        std::process::exit(2);
    }
    Ok(())
}
