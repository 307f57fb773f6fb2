//! `govhall reindex` and `govhall search-eval`.

use govhall::{Settings, open_database};
use govhall_core::Coded as _;
use govhall_db::changes::{self, ChangeOp};
use govhall_search::eval;
use govhall_search::{Search, SearchError, SearchSettings};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;

/// Rebuilds the index here, or asks the running nodes to.
pub async fn reindex(settings: &Settings, online: bool) -> anyhow::Result<()> {
    let db = open_database(settings).await?;
    let result = async {
        if online {
            let mut tx = db.begin().await?;
            changes::record(&mut tx, "search_index", "rebuild", ChangeOp::Update);
            tx.commit().await?;
            println!("已通知所有运行中的节点重建搜索索引。");
            return Ok(());
        }
        let position = changes::latest_seq(&db).await?;
        // Made anew whatever the folder holds: nothing of the old index is read.
        let search = Search::create(db.clone(), &settings.search, &settings.data_dir).await.map_err(|e| match e {
            SearchError::Locked(_) => anyhow::anyhow!(
                "搜索索引正被运行中的 govhall serve 使用。运行中的节点会自动保持索引最新；要让它们重建，请运行 govhall reindex --online"
            ),
            e => anyhow::anyhow!(e.message()),
        })?;
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} 项 ({per_sec}, 剩余 {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message("重建搜索索引");
        let started = std::time::Instant::now();
        let count = search
            .rebuild(position, &|done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            })
            .await
            .map_err(|e| anyhow::anyhow!(e.message()))?;
        bar.finish();
        let (items, departments, documents) = search.size();
        println!(
            "搜索索引已重建：事项 {items} 项、部门 {departments} 个、材料 {documents} 条，用时 {:.1} 秒（{count} 项已读入）。",
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
    .await;
    db.close().await;
    result
}

/// Runs the judged queries through a fresh in-memory index of this database's catalogue and
/// through the FTS5 baseline, and prints both.
pub async fn eval(settings: &Settings, file: &Path, json: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("无法读取 {}：{e}", file.display()))?;
    let judged = eval::read_tsv(&text).map_err(|e| anyhow::anyhow!("{}：{e}", file.display()))?;
    let db = open_database(settings).await?;
    let result = async {
        let memory = SearchSettings { index_dir: ":memory:".to_owned(), ..settings.search.clone() };
        let position = changes::latest_seq(&db).await?;
        let search = Search::open(db.clone(), &memory, &settings.data_dir, position)
            .await
            .map_err(|e| anyhow::anyhow!(e.message()))?;
        let items = eval::all_items(&db).await.map_err(|e| anyhow::anyhow!(e.message()))?;
        let report = eval::compare(&search, &items, &judged).await.map_err(|e| anyhow::anyhow!(e.message()))?;
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
            return Ok(());
        }
        println!("{} 条评测查询，{} 个已发布事项，取前 {} 条结果\n", judged.len(), items.len(), eval::CUTOFF);
        println!("{:<36} {:>8} {:>11} {:>9}", "系统", "MRR@10", "Success@10", "nDCG@10");
        for m in [&report.govhall, &report.baseline] {
            println!("{:<36} {:>8.3} {:>11.3} {:>9.3}", m.system, m.mrr, m.success, m.ndcg);
        }
        println!("\n{} 未排在第一位的查询（名次，期望，实际前三）：", report.govhall.system);
        for miss in &report.govhall.misses {
            let rank = miss.rank.map_or("未找到".to_owned(), |r| format!("第{r}"));
            println!("  {}\t{rank}\t{}\t{}", miss.query, miss.expected.join(","), miss.got.join(","));
        }
        Ok(())
    }
    .await;
    db.close().await;
    result
}
