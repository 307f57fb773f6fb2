//! Search over a real database and the bundled catalogue: the judged queries' quality bar
//! against the FTS5 baseline, freshness on two nodes, unpublished items, facets, hostile
//! queries, best bets, the zero-result log, an index rebuilt or caught up at start, and an index
//! damaged on disk (at start, while running, under `govhall reindex`).

#![expect(clippy::unwrap_used, reason = "test helpers unwrap: a failure there is the test failing")]

use govhall_audit::Actor;
use govhall_catalog::{editing, import, store as catalog, taxonomy};
use govhall_db::changes::{self, ChangeFollower, ChangeOp, StartAt};
use govhall_db::testing::TestDatabase;
use govhall_db::{Db, exec, sqlx};
use govhall_identity::{Access, DepartmentId, Permission, Scope};
use govhall_search::query::Hit;
use govhall_search::{Category, Search, SearchError, SearchParams, SearchRequest, SearchSettings, eval, store};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

async fn database() -> (TestDatabase, Db) {
    let t = TestDatabase::new().await;
    let db = t.open().await.unwrap();
    govhall_identity::regions::ensure_imported(&db).await.unwrap();
    taxonomy::ensure_defaults(&db).await.unwrap();
    (t, db)
}

/// The first `lines` Guangdong items.
async fn some_items(db: &Db, lines: usize) {
    let text: String = import::GD_BUNDLED.lines().take(lines).collect::<Vec<_>>().join("\n");
    import::import_gd(db, &text, |_, _| {}).await.unwrap();
}

async fn open(db: &Db, dir: &str, data: &std::path::Path) -> Search {
    let settings = SearchSettings { index_dir: dir.to_owned(), ..SearchSettings::default() };
    let position = changes::latest_seq(db).await.unwrap();
    Search::open(db.clone(), &settings, data, position).await.unwrap()
}

async fn in_memory(db: &Db) -> Search {
    open(db, ":memory:", std::path::Path::new(".")).await
}

/// A node: its own index following the feed.
async fn node(db: &Db, stop: &CancellationToken) -> Search {
    let changes = ChangeFollower::new(db.clone(), StartAt::Latest).await.unwrap();
    let search = open(db, ":memory:", std::path::Path::new(".")).await;
    search.follow(&changes, stop.clone());
    changes.run(Duration::from_millis(100), stop.clone());
    search
}

fn hits(search: &Search, q: &str) -> Vec<Hit> {
    let mut r = SearchRequest::text(q);
    r.limit = 10;
    search.search(&r).unwrap().hits
}

fn codes(search: &Search, q: &str) -> Vec<String> {
    hits(search, q).into_iter().map(|h| h.code).collect()
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: not within 10 s");
}

fn editor(department: uuid::Uuid, permissions: &[Permission]) -> Access {
    Access {
        account: None,
        department: Some(DepartmentId::from_uuid(department)),
        region: None,
        subtree: Default::default(),
        grants: permissions.iter().map(|p| (*p, [Scope::Department].into())).collect::<BTreeMap<_, _>>(),
    }
}

#[tokio::test]
async fn the_judged_queries_meet_the_quality_bar_and_beat_the_fts5_baseline() {
    let (t, db) = database().await;
    import::ensure_imported(&db).await.unwrap();
    let search = in_memory(&db).await;
    let judged = eval::read_tsv(include_str!("../eval/dev.tsv")).unwrap();
    assert!(judged.len() >= 150, "{} judged queries", judged.len());
    let items = eval::all_items(&db).await.unwrap();
    assert_eq!(items.len(), 3397);
    let report = eval::compare(&search, &items, &judged).await.unwrap();
    let (g, b) = (&report.govhall, &report.baseline);
    eprintln!("GovHall MRR@10 {:.3} Success@10 {:.3} nDCG@10 {:.3}", g.mrr, g.success, g.ndcg);
    eprintln!("FTS5    MRR@10 {:.3} Success@10 {:.3} nDCG@10 {:.3}", b.mrr, b.success, b.ndcg);
    // The targets; measured on this set they are 0.87 and 0.98, so a small regression shows.
    assert!(g.mrr >= 0.85, "MRR@10 {:.3} below 0.85; misses: {:#?}", g.mrr, &g.misses[..g.misses.len().min(20)]);
    assert!(g.success >= 0.95, "Success@10 {:.3} below 0.95", g.success);
    assert!(g.mrr > b.mrr * 3.0 && g.success > b.success, "the baseline: {b:?}");
    t.cleanup().await;
}

#[tokio::test]
async fn pinyin_initials_traditional_and_typos_find_the_same_items() {
    let (t, db) = database().await;
    import::ensure_imported(&db).await.unwrap();
    let search = in_memory(&db).await;
    let marriage = codes(&search, "结婚登记预约");
    assert!(!marriage.is_empty());
    for typed in
        ["結婚登記預約", "jiehundengjiyuyue", "jie hun deng ji yu yue", "结昏登记预约", "ＪＩＥＨＵＮ　ＤＥＮＧＪＩ"]
    {
        let found = codes(&search, typed);
        assert!(found.iter().take(5).any(|c| marriage.contains(c)), "{typed}: {found:?}");
    }
    // Everyday words and initials.
    let licence = hits(&search, "jsz");
    assert!(licence.iter().take(3).all(|h| h.name.contains("驾驶证")), "{licence:?}");
    let r = search.search(&SearchRequest::text("jiashizheng")).unwrap();
    assert_eq!(r.did_you_mean.as_deref(), Some("驾驶证"));
    let r = search.search(&SearchRequest::text("社宝卡")).unwrap();
    assert_eq!(r.did_you_mean.as_deref(), Some("社保卡"));
    assert!(r.hits[0].name.contains("社会保障卡"), "{:?}", r.hits[0]);
    let r = search.search(&SearchRequest::text("开公司")).unwrap();
    assert!(r.expanded.iter().any(|w| w == "设立登记"), "{:?}", r.expanded);
    assert!(r.hits.iter().take(3).all(|h| h.name.contains("设立")), "{:?}", r.hits);
    // Highlights mark the words that matched, escaped.
    let h = &hits(&search, "律师事务所设立许可")[0];
    assert!(h.name_html.contains("<em>律师事务所设立许可</em>"), "{}", h.name_html);
    // As-you-type, by characters, pinyin and initials.
    for typed in ["结婚登", "jiehundeng", "jhdj"] {
        let s = search.suggest(typed, 8).unwrap();
        assert!(s.iter().any(|s| s.text.contains("结婚")), "{typed}: {s:?}");
    }
    assert!(search.suggest("  ", 8).unwrap().is_empty());
    t.cleanup().await;
}

#[tokio::test]
async fn an_edit_is_searchable_on_every_node_and_what_is_not_published_never_shows() {
    let (t, db) = database().await;
    some_items(&db, 60).await;
    let stop = CancellationToken::new();
    let (a, b) = (node(&db, &stop).await, node(&db, &stop).await);
    let code = "11440000006939756B2440101007000";
    assert_eq!(codes(&a, "临时价格干预")[0], code);

    // A draft and a version in review are not what visitors see.
    let item = catalog::summary(&db, code).await.unwrap().unwrap();
    let (staff, reviewer) =
        (editor(item.department_id, &[Permission::ItemEdit]), editor(item.department_id, &[Permission::ItemPublish]));
    let actor = Actor::system("测试");
    let mut content = catalog::guide(&db, code).await.unwrap().unwrap().content.clone();
    content.name = "量子通信设备价格申报".into();
    content.phrases = vec!["量子报价".into()];
    content.materials[0].template_url = "javascript:alert(1)".into();
    content.materials[0].sample_url = "https://zwfw.example.gov.cn/sample.pdf".into();
    let material = content.materials[0].name.clone();
    editing::save_draft(&db, &actor, &staff, code, &content, "").await.unwrap();
    editing::submit(&db, &actor, &staff, code).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    for node in [&a, &b] {
        assert!(codes(node, "量子通信").is_empty(), "a version in review is not searchable");
    }
    // Published: both nodes find it by its new name and phrase, and not by the old name.
    editing::approve(&db, &actor, &reviewer, code).await.unwrap();
    for node in [&a, &b] {
        eventually("the edit reaches the node", || codes(node, "量子通信").first() == Some(&code.to_owned())).await;
        assert_eq!(codes(node, "量子报价").first(), Some(&code.to_owned()));
        // Its materials are documents; only web addresses are offered as downloads.
        let mut documents = SearchRequest::text(&material);
        documents.category = Category::Documents;
        let found = node.search(&documents).unwrap().hits;
        let doc = found.iter().find(|h| h.code == code).unwrap();
        assert_eq!(doc.links, vec![("示例样表".to_owned(), "https://zwfw.example.gov.cn/sample.pdf".to_owned())]);
        assert!(!codes(node, "临时价格干预范围").contains(&code.to_owned()));
    }
    // Withdrawn from publication: gone everywhere.
    let mut tx = db.begin().await.unwrap();
    exec!(tx, sqlx::query("UPDATE items SET status = 'suspended' WHERE code = $1").bind(code)).unwrap();
    changes::record(&mut tx, "item", code, ChangeOp::Update);
    tx.commit().await.unwrap();
    for node in [&a, &b] {
        eventually("the withdrawal reaches the node", || codes(node, "量子通信").is_empty()).await;
        let mut browse = SearchRequest::text("");
        browse.limit = 50;
        let all = node.search(&browse).unwrap();
        assert_eq!(all.total, 59);
        assert!(all.hits.iter().all(|h| h.code != code));
        let mut documents = SearchRequest::text("申请");
        documents.category = Category::Documents;
        documents.limit = 50;
        assert!(node.search(&documents).unwrap().hits.iter().all(|h| h.code != code));
    }
    // A synonym added by an administrator works on both nodes at once.
    let expanded = |node: &Search| node.search(&SearchRequest::text("涨价报备")).unwrap().expanded;
    assert!(expanded(&a).is_empty());
    store::add_synonyms(&db, &actor, "涨价报备，提价申报").await.unwrap();
    for node in [&a, &b] {
        eventually("the synonym reaches the node", || expanded(node) == ["提价申报"]).await;
    }
    stop.cancel();
    t.cleanup().await;
}

#[tokio::test]
async fn facets_count_what_their_filters_find() {
    let (t, db) = database().await;
    some_items(&db, 400).await;
    let search = in_memory(&db).await;
    for q in ["", "许可", "证明"] {
        let r = search.search(&SearchRequest::text(q)).unwrap();
        assert!(r.total > 0, "{q}");
        let f = &r.facets;
        let check =
            |name: &str, values: &[govhall_search::query::FacetCount], set: &dyn Fn(&mut SearchParams, &str)| {
                assert!(!values.is_empty(), "{q}: no {name} facet");
                for v in values {
                    let mut p = SearchParams { q: q.to_owned(), ..SearchParams::default() };
                    set(&mut p, &v.value);
                    let filtered = search.search(&SearchRequest::from_params(&p).unwrap()).unwrap();
                    assert_eq!(filtered.total as u64, v.count, "{q}: {name} {} ({})", v.label, v.value);
                }
            };
        check("audience", &f.audience, &|p, v| p.audience = v.to_owned());
        check("type", &f.item_type, &|p, v| p.item_type = v.to_owned());
        check("level", &f.level, &|p, v| p.level = v.to_owned());
        check("department", &f.department, &|p, v| p.department = v.to_owned());
        check("region", &f.region, &|p, v| p.region = v.to_owned());
        if q.is_empty() {
            check("tag", &f.tag, &|p, v| p.tag = v.to_owned());
        }
        // Depth facets count each depth; the filter takes that depth or more.
        let deepest = f.depth.iter().map(|d| d.value.parse::<u8>().unwrap()).max().unwrap();
        let mut p = SearchParams { q: q.to_owned(), depth: deepest.to_string(), ..SearchParams::default() };
        let deep = search.search(&SearchRequest::from_params(&p).unwrap()).unwrap();
        assert_eq!(deep.total as u64, f.depth.iter().find(|d| d.value == deepest.to_string()).unwrap().count);
        p.depth = "1".into();
        assert_eq!(search.search(&SearchRequest::from_params(&p).unwrap()).unwrap().total, r.total);
        // The facet's departments carry their names.
        assert!(
            f.department.iter().all(|d| d.label.ends_with('局')
                || d.label.contains("委")
                || d.label.contains("厅")
                || d.label.len() > 6)
        );
    }
    // The browse total is the published items; categories count their own.
    let all = search.search(&SearchRequest::text("")).unwrap();
    assert_eq!(all.total, 400);
    let (items, departments, documents) = search.size();
    assert_eq!(items, 400);
    assert_eq!(
        all.counts,
        vec![
            (Category::Items, 400),
            (Category::Departments, departments as usize),
            (Category::Documents, documents as usize)
        ]
    );
    // Newest first: by the published time.
    let mut p = SearchParams { sort: "newest".into(), ..SearchParams::default() };
    let newest = search.search(&SearchRequest::from_params(&p).unwrap()).unwrap();
    let days: Vec<_> = newest.hits.iter().map(|h| h.changed).collect();
    assert!(days.windows(2).all(|w| w[0] >= w[1]), "{days:?}");
    p.from = "2000-01-01".into();
    p.to = "2000-12-31".into();
    assert_eq!(search.search(&SearchRequest::from_params(&p).unwrap()).unwrap().total, 0);
    t.cleanup().await;
}

#[tokio::test]
async fn hostile_and_malformed_queries_answer_normally() {
    let (t, db) = database().await;
    some_items(&db, 100).await;
    let search = in_memory(&db).await;
    let long = "许可".repeat(5_000);
    for q in [
        long.as_str(),
        "！？。，、；：“”（）《》",
        "*&^%$#@!~`",
        "title:(a OR b) AND \"x* ~2 [1 TO 5] -c +d",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "\0\u{7}\u{202e}",
        "🙂🙂🙂",
        "a",
        "许",
        "AND OR NOT",
    ] {
        let r = search.search(&SearchRequest::text(q)).unwrap();
        for h in &r.hits {
            assert!(!h.name_html.contains("<script") && !h.snippet.contains("<script"), "{q}: {h:?}");
        }
        let _ = search.suggest(q, 8).unwrap();
    }
    assert_eq!(search.search(&SearchRequest::text("！？。，")).unwrap().total, 0);
    // Bad parameters are refused with a code and a Chinese message.
    for (p, fragment) in [
        (SearchParams { category: "cases".into(), ..SearchParams::default() }, "category"),
        (SearchParams { audience: "robot".into(), ..SearchParams::default() }, "audience"),
        (SearchParams { region: "44".into(), ..SearchParams::default() }, "行政区划"),
        (SearchParams { depth: "9".into(), ..SearchParams::default() }, "深度"),
        (SearchParams { from: "2026-13-01".into(), ..SearchParams::default() }, "日期"),
        (SearchParams { from: "2026-02-01".into(), to: "2026-01-01".into(), ..SearchParams::default() }, "晚于"),
        (SearchParams { limit: "500".into(), ..SearchParams::default() }, "limit"),
        (SearchParams { page: "1000".into(), ..SearchParams::default() }, "最多"),
        (SearchParams { tag: "x".into(), ..SearchParams::default() }, "编号"),
    ] {
        let e = SearchRequest::from_params(&p).unwrap_err();
        assert_eq!(govhall_core::Coded::code(&e), "invalid_filter");
        assert!(e.to_string().contains(fragment), "{e}");
    }
    t.cleanup().await;
}

#[tokio::test]
async fn best_bets_come_first_and_queries_that_find_nothing_are_logged() {
    let (t, db) = database().await;
    some_items(&db, 100).await;
    let stop = CancellationToken::new();
    let search = node(&db, &stop).await;
    let actor = Actor::system("测试");
    let before = codes(&search, "价格");
    let last = before.last().unwrap().clone();
    store::add_best_bet(&db, &actor, "價格", &last, 1).await.unwrap();
    eventually("the best bet reaches the node", || {
        hits(&search, "价格").first().is_some_and(|h| h.code == last && h.pinned)
    })
    .await;
    assert_eq!(hits(&search, "价格").iter().filter(|h| h.code == last).count(), 1, "not twice");
    // A pin obeys the filters: not offered where the filter excludes its item.
    let mut county = SearchRequest::from_params(&SearchParams {
        q: "价格".into(),
        level: "county".into(),
        ..SearchParams::default()
    })
    .unwrap();
    county.limit = 10;
    assert!(search.search(&county).unwrap().hits.iter().all(|h| h.code != last), "the first 100 items are provincial");
    let refused = store::add_best_bet(&db, &actor, "价格", "NO-SUCH-CODE", 1).await.unwrap_err();
    assert!(refused.to_string().contains("没有编码"), "{refused}");
    assert!(store::add_best_bet(&db, &actor, "价格", &last, 11).await.is_err());

    assert_eq!(search.search(&SearchRequest::text("zzqqxxww")).unwrap().total, 0);
    search.search(&SearchRequest::text("ZZQQXXWW")).unwrap();
    search.flush().await.unwrap();
    let misses = store::misses(&db, db.now() - chrono::Duration::hours(1), 10).await.unwrap();
    assert_eq!(misses.iter().find(|m| m.query == "zzqqxxww").map(|m| m.count), Some(2));
    // Visits raise popularity.
    search.record_visit(&last, "10.0.0.1");
    search.record_visit(&last, "10.0.0.1");
    search.record_visit(&last, "10.0.0.2");
    search.flush().await.unwrap();
    assert_eq!(store::popularity(&db).await.unwrap().get(&last), Some(&2), "a visitor counts once a day");
    stop.cancel();
    t.cleanup().await;
}

#[tokio::test]
async fn the_index_on_disk_is_kept_caught_up_or_rebuilt_at_start() {
    let (t, db) = database().await;
    some_items(&db, 50).await;
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("search");
    let index_dir = index.to_str().unwrap().to_owned();
    let search = open(&db, &index_dir, dir.path()).await;
    assert_eq!(search.size().0, 50);
    drop(search);

    // Changes made while the node was down are replayed from the feed.
    some_items(&db, 80).await;
    let search = open(&db, &index_dir, dir.path()).await;
    assert_eq!(search.size().0, 80);
    drop(search);

    // A damaged index is rebuilt.
    for entry in std::fs::read_dir(&index).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "store" || e == "idx") {
            std::fs::write(&path, b"damaged").unwrap();
        }
    }
    let search = open(&db, &index_dir, dir.path()).await;
    assert_eq!(search.size().0, 80);
    assert_eq!(codes(&search, "临时价格干预")[0], "11440000006939756B2440101007000");
    drop(search);

    // So is a missing one.
    std::fs::remove_dir_all(&index).unwrap();
    let search = open(&db, &index_dir, dir.path()).await;
    assert_eq!(search.size().0, 80);
    // And one rebuilt on request.
    let position = changes::latest_seq(&db).await.unwrap();
    let mut seen = Vec::new();
    let seen_cell = std::sync::Mutex::new(&mut seen);
    let count = search.rebuild(position, &|done, total| seen_cell.lock().unwrap().push((done, total))).await.unwrap();
    assert_eq!(count, 80);
    assert_eq!(seen.last(), Some(&(80, 80)));
    t.cleanup().await;
}

/// Every kind of segment file a damaged disk could hit.
const SEGMENT_FILES: [&str; 5] = ["store", "term", "idx", "fast", "pos"];

/// Flips the byte in the middle of every `.ext` file of the index in `dir`, in place (as a
/// failing disk or a bad copy would), and returns those files.
fn damage(dir: &Path, ext: &str) -> Vec<PathBuf> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    assert!(!files.is_empty(), "no .{ext} file in {}", dir.display());
    for path in &files {
        let mut file = std::fs::OpenOptions::new().read(true).write(true).open(path).unwrap();
        let middle = file.metadata().unwrap().len() / 2;
        let mut byte = [0u8];
        file.seek(SeekFrom::Start(middle)).unwrap();
        file.read_exact(&mut byte).unwrap();
        byte[0] ^= 0xFF;
        file.seek(SeekFrom::Start(middle)).unwrap();
        file.write_all(&byte).unwrap();
    }
    files
}

/// Whether the index in `dir` opens, holds something and every file of it matches its checksum
/// (tantivy's own check).
fn intact(dir: &Path) -> bool {
    let Ok(index) = tantivy::Index::open_in_dir(dir) else { return false };
    index.validate_checksum().is_ok_and(|damaged| damaged.is_empty())
        && index.reader().is_ok_and(|r| r.searcher().num_docs() > 0)
}

/// What a few searches count: totals, tabs and facets (browse, words, pinyin, a filter).
fn counted(search: &Search) -> Result<Vec<String>, SearchError> {
    let mut out = Vec::new();
    for (q, category) in
        [("", "items"), ("许可", "items"), ("jiage", "items"), ("申请", "documents"), ("发展", "departments")]
    {
        let params = SearchParams { q: q.to_owned(), category: category.to_owned(), ..SearchParams::default() };
        let r = search.search(&SearchRequest::from_params(&params).unwrap())?;
        out.push(format!("{q} {category}: {} {:?} {:?}", r.total, r.counts, r.facets));
    }
    Ok(out)
}

/// Security issue 16: whatever segment file is damaged, the node opens (the damage is found by
/// the files' checksums, never served as a wrong count) and counts as before, from an index made
/// again; `govhall reindex` makes it anew whatever the folder holds.
#[tokio::test]
async fn a_damaged_index_is_made_again_at_start_and_by_reindex_whatever_file_is_damaged() {
    let (t, db) = database().await;
    some_items(&db, 60).await;
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("search");
    let index_dir = index.to_str().unwrap().to_owned();
    let search = open(&db, &index_dir, dir.path()).await;
    let before = counted(&search).unwrap();
    assert!(before[0].starts_with(" items: 60 "), "{before:?}");
    drop(search);
    for ext in SEGMENT_FILES {
        let damaged = damage(&index, ext);
        assert!(!intact(&index));
        let search = open(&db, &index_dir, dir.path()).await;
        assert_eq!(counted(&search).unwrap(), before, ".{ext}");
        assert!(damaged.iter().all(|p| !p.exists()), ".{ext}: the damaged index was replaced");
        assert!(intact(&index), ".{ext}");
        drop(search);
    }

    // `govhall reindex` over a folder with every kind damaged, the commit unreadable and a file
    // that is not the index's: nothing of the old index is read.
    for ext in SEGMENT_FILES {
        damage(&index, ext);
    }
    std::fs::write(index.join("meta.json"), b"{ damaged").unwrap();
    std::fs::write(index.join("notes.txt"), b"not the index's").unwrap();
    let settings = SearchSettings { index_dir: index_dir.clone(), ..SearchSettings::default() };
    let search = Search::create(db.clone(), &settings, dir.path()).await.unwrap();
    let position = changes::latest_seq(&db).await.unwrap();
    assert_eq!(search.rebuild(position, &|_, _| {}).await.unwrap(), 60);
    assert_eq!(counted(&search).unwrap(), before);
    drop(search);
    assert!(intact(&index));
    assert!(index.join("notes.txt").exists(), "what is not the index's is left alone");
    let search = open(&db, &index_dir, dir.path()).await;
    assert_eq!(counted(&search).unwrap(), before, "the rebuilt index opens as it is");
    drop(search);

    // A folder of other things is refused, not emptied (a misconfigured index_dir).
    let elsewhere = dir.path().join("documents");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("report.docx"), b"someone's").unwrap();
    let settings = SearchSettings { index_dir: elsewhere.to_str().unwrap().to_owned(), ..SearchSettings::default() };
    let refused = Search::create(db.clone(), &settings, dir.path()).await.unwrap_err();
    assert!(refused.to_string().contains("不是搜索索引文件夹"), "{refused}");
    assert!(elsewhere.join("report.docx").exists());
    t.cleanup().await;
}

/// Damage to the files of a running node's index: searches go on with the right counts (what
/// they read was checked when it was loaded), the background check finds the damage and the
/// index is made again, and it is written to as before.
#[tokio::test]
async fn damage_while_running_never_changes_a_count_and_the_index_is_made_again() {
    let (t, db) = database().await;
    some_items(&db, 60).await;
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("search");
    let settings =
        SearchSettings { index_dir: index.to_str().unwrap().to_owned(), check_seconds: 1, ..SearchSettings::default() };
    let stop = CancellationToken::new();
    let changes = ChangeFollower::new(db.clone(), StartAt::Latest).await.unwrap();
    let search = Search::open(db.clone(), &settings, dir.path(), changes.position()).await.unwrap();
    search.follow(&changes, stop.clone());
    changes.run(Duration::from_millis(100), stop.clone());
    let before = counted(&search).unwrap();
    for ext in SEGMENT_FILES {
        let damaged = damage(&index, ext);
        // At once: the counts as before, or "rebuilding"; never another count, never an error.
        match counted(&search) {
            Ok(now) => assert_eq!(now, before, ".{ext}"),
            Err(SearchError::Rebuilding) => {}
            Err(e) => panic!(".{ext}: {e}"),
        }
        eventually(&format!(".{ext}: the index is made again"), || {
            damaged.iter().all(|p| !p.exists()) && intact(&index)
        })
        .await;
        eventually(&format!(".{ext}: counts as before"), || counted(&search).is_ok_and(|now| now == before)).await;
    }
    some_items(&db, 80).await;
    eventually("new items are indexed", || search.size().0 == 80).await;
    stop.cancel();
    t.cleanup().await;
}
