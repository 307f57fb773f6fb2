//! Search over HTTP: the results page without JavaScript (tabs, facets as links, active filters,
//! sort, paging, "did you mean", a helpful page when nothing is found), the JSON API and its
//! suggestions, hostile input, and the administrators' page (synonyms, best bets, queries that
//! found nothing, rebuilding) with its rights; and an index damaged on disk, which never stops
//! the node nor answers 500 or a wrong count.

use crate::common;

use common::{PASSWORD, TestApp};
use govhall_audit::Actor;
use govhall_catalog::import;
use govhall_identity::rbac::Grantee;
use govhall_identity::{Permission, Scope};
use reqwest::StatusCode;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CODE: &str = "11440000006939756B2440101007000";

async fn hall(lines: usize) -> TestApp {
    let t = TestApp::spawn().await;
    let text: String = import::GD_BUNDLED.lines().take(lines).collect::<Vec<_>>().join("\n");
    import::import_gd(t.app.db(), &text, |_, _| {}).await.unwrap();
    t.until_indexed(lines as u64).await;
    t
}

async fn json(t: &TestApp, path: &str) -> (StatusCode, Value) {
    let res = t.get(path).await;
    (res.status(), res.json().await.unwrap())
}

/// The href of the first link whose text starts with `label` in `html` (entities decoded).
fn link(html: &str, label: &str) -> String {
    let at = html.find(&format!(">{label}")).unwrap_or_else(|| panic!("no link {label}"));
    let start = html[..at].rfind("href=\"").unwrap() + 6;
    let end = start + html[start..].find('"').unwrap();
    html[start..end].replace("&amp;", "&").replace("&#38;", "&").replace("&#x2f;", "/").replace("&#x3d;", "=")
}

#[tokio::test]
async fn the_results_page_works_without_javascript() {
    let t = hall(300).await;
    let page = t.get("/search?q=%E8%AE%B8%E5%8F%AF").await; // 许可
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>搜索：许可"), "title");
    assert!(html.contains("办事事项 <span class=\"count\">") && html.contains("材料与表格"), "tabs");
    assert!(html.contains("<em>许可</em>"), "matches are marked");
    // No script is needed: the one script only adds suggestions to the boxes, and none is inline.
    assert_eq!(html.matches("<script").count(), 1, "only the suggestions script");
    assert!(html.contains("<script src=\"/static/suggest.") && html.contains(" defer></script>"));
    let total: usize = {
        let at = html.find("找到 ").unwrap() + "找到 ".len();
        html[at..].split(' ').next().unwrap().parse().unwrap()
    };
    assert!(total > 10, "{total}");
    // A facet is a link that narrows; the active filter can be removed; counts agree.
    let licence = link(&html, "行政许可");
    let narrowed = t.get(&licence).await.text().await.unwrap();
    assert!(narrowed.contains("事项类型：行政许可"), "the active filter is shown");
    let (_, api) = json(&t, "/api/v1/search?q=许可&type=行政许可").await;
    assert!(narrowed.contains(&format!("找到 {} 条结果", api["total"])));
    let removed = link(&narrowed, "×").replace("/search?", "");
    assert!(!removed.contains("type="), "{removed}");
    // Paging and sort keep the query.
    let second = link(&html, "下一页");
    assert!(second.contains("page=2") && second.contains("q="));
    let newest = link(&html, "最新");
    assert!(newest.contains("sort=newest"));
    assert_eq!(t.get(&newest).await.status(), StatusCode::OK);
    // Departments and documents are tabs of their own.
    let departments = t.get("/search?q=%E5%8F%91%E5%B1%95%E5%92%8C%E6%94%B9%E9%9D%A9&category=departments").await;
    let departments = departments.text().await.unwrap();
    assert!(
        departments.contains("/departments/") && departments.contains("发展和改革"),
        "发展和改革 finds the department"
    );
    let documents =
        t.get("/search?q=%E7%94%B3%E8%AF%B7%E6%8A%A5%E5%91%8A&category=documents").await.text().await.unwrap();
    assert!(documents.contains(&format!("/items/{CODE}#materials")), "the material leads to its item's guide");

    // Pinyin: "did you mean" in characters, as a link.
    let html = t.get("/search?q=jiage").await.text().await.unwrap();
    assert!(
        html.contains("您是不是要找：<a href=\"/search?q=%E4%BB%B7%E6%A0%BC\">价格</a>"),
        "{}",
        html.find("did-you-mean").map(|i| &html[i..(i + 300).min(html.len())]).unwrap_or("no did-you-mean")
    );
    // Nothing found: the page helps, with the items people visit most (visits are counted,
    // written and re-ranked in the background).
    let html = t.get("/search?q=qqzzxxyy").await.text().await.unwrap();
    assert!(html.contains("没有找到与“qqzzxxyy”相关的事项") && html.contains("换一种说法"));
    assert!(html.contains("href=\"/personal\"") && !html.contains("大家常办的事项"), "nothing visited yet");
    assert_eq!(t.get(&format!("/items/{CODE}")).await.status(), StatusCode::OK);
    let mut popular = false;
    for _ in 0..100 {
        let html = t.get("/search?q=qqzzxxyy").await.text().await.unwrap();
        if html.contains("大家常办的事项") && html.contains(&format!("href=\"/items/{CODE}\"")) {
            popular = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(popular, "the visited item is offered");
    // A bad filter says what is wrong, in Chinese, with 400, and keeps what was typed.
    let res = t.get("/search?q=%E8%AE%B8%E5%8F%AF&depth=9").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let html = res.text().await.unwrap();
    assert!(html.contains("网办深度（depth）应为 1 到 5") && html.contains("value=\"许可\""));
    t.stop().await;
}

#[tokio::test]
async fn the_api_answers_with_totals_hits_and_facets_and_says_what_is_wrong() {
    let t = hall(120).await;
    let (status, body) = json(&t, "/api/v1/search?q=%E4%B8%B4%E6%97%B6%E4%BB%B7%E6%A0%BC").await; // 临时价格
    assert_eq!(status, StatusCode::OK);
    assert!(body["total"].as_u64().unwrap() >= 1);
    let first = &body["hits"][0];
    assert_eq!(first["code"], CODE);
    assert_eq!(first["name"], "临时价格干预范围事项提价申报");
    assert_eq!(first["department"], "广东省发展和改革委员会");
    assert!(first["snippet"].as_str().is_some());
    for facet in ["audience", "type", "level", "depth", "department", "region", "tag"] {
        assert!(body["facets"][facet].is_array(), "{facet}");
    }
    assert!(body["counts"]["items"].as_u64().is_some());
    // Paging: offset and limit.
    let (_, all) = json(&t, "/api/v1/search?limit=50").await;
    assert_eq!(all["total"], 120);
    let (_, page) = json(&t, "/api/v1/search?limit=50&offset=100").await;
    assert_eq!(page["hits"].as_array().unwrap().len(), 20);
    // Errors: a stable code and a Chinese message.
    for bad in [
        "category=cases",
        "audience=x",
        "region=44",
        "depth=0",
        "sort=random",
        "limit=51",
        "from=yesterday",
        "offset=5000",
    ] {
        let (status, body) = json(&t, &format!("/api/v1/search?q=a&{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(body["code"], "invalid_filter", "{bad}");
        assert!(body["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{bad}");
    }
    // Hostile text is only text.
    for q in [
        "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "title%3A(a%20OR%20b)%20AND%20%22x*",
        "%27%20OR%201%3D1--",
        &"%E8%AE%B8".repeat(3000),
    ] {
        let (status, body) = json(&t, &format!("/api/v1/search?q={q}")).await;
        assert_eq!(status, StatusCode::OK, "{q}");
        assert!(!body.to_string().contains("<script"), "{q}");
    }
    // Suggestions as you type: characters, pinyin, initials.
    for typed in ["%E4%B8%B4%E6%97%B6", "linshi", "lsjg"] {
        let (status, body) = json(&t, &format!("/api/v1/search/suggest?q={typed}")).await;
        assert_eq!(status, StatusCode::OK);
        let texts: Vec<&str> =
            body["suggestions"].as_array().unwrap().iter().map(|s| s["text"].as_str().unwrap()).collect();
        assert!(texts.iter().any(|s| s.starts_with("临时")), "{typed}: {texts:?}");
    }
    let (status, body) = json(&t, "/api/v1/search/suggest?q=a&limit=99").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_filter")));
    // The API is described.
    let (_, doc) = json(&t, "/api/v1/openapi.json").await;
    assert!(
        doc["paths"]["/api/v1/search"]["get"].is_object() && doc["paths"]["/api/v1/search/suggest"]["get"].is_object()
    );
    t.stop().await;
}

#[tokio::test]
async fn catalogue_administrators_tune_search_and_see_what_found_nothing() {
    let t = hall(60).await;
    let identity = t.app.identity();
    let actor = Actor::system("test");
    let department = t.department("广东省政务服务数据管理局", "440000", None).await;
    let admin = t.staff("13600000031", department).await;
    t.staff("13600000032", department).await;
    let role = identity.save_role(&actor, "catalog_manager", "目录管理", &[Permission::CatalogManage]).await.unwrap();
    identity.grant(&actor, role, Grantee::Account(admin), Scope::All).await.unwrap();
    let a = t.sign_in("13600000031", PASSWORD).await;
    let c = t.sign_in("13600000032", PASSWORD).await;
    assert_eq!(c.get("/admin/search").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(c.post("/admin/search/synonyms", &[("terms", "甲,乙")]).await.status(), StatusCode::FORBIDDEN);

    // Someone searches for something the catalogue does not say; it shows on the page.
    assert_eq!(json(&t, "/api/v1/search?q=%E6%B6%A8%E4%BB%B7%E6%8A%A5%E5%A4%87").await.1["total"], 0); // 涨价报备
    let mut seen = false;
    for _ in 0..100 {
        let page = a.get("/admin/search").await.text().await.unwrap();
        if page.contains("<td>涨价报备</td><td>1</td>") {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the query that found nothing is listed");
    // A synonym fixes it on this node at once.
    let res = a.post("/admin/search/synonyms", &[("terms", "涨价报备，提价申报")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut found = false;
    for _ in 0..100 {
        if json(&t, "/api/v1/search?q=%E6%B6%A8%E4%BB%B7%E6%8A%A5%E5%A4%87").await.1["hits"][0]["code"] == CODE {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "the synonym works");
    // A bad group is refused in Chinese and what was typed is kept on the page.
    let res = a.post("/admin/search/synonyms", &[("terms", "只有一个词")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("至少要有两个不同的词"));
    // A best bet pins an item to a query.
    let res = a.post("/admin/search/best-bets", &[("query", "价格"), ("code", "NO-SUCH"), ("position", "1")]).await;
    let html = res.text().await.unwrap();
    assert!(html.contains("没有编码为“NO-SUCH”的事项") && html.contains("value=\"价格\""), "kept");
    let res = a.post("/admin/search/best-bets", &[("query", "价格"), ("code", CODE), ("position", "1")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut pinned = false;
    for _ in 0..100 {
        let (_, body) = json(&t, "/api/v1/search?q=%E4%BB%B7%E6%A0%BC").await;
        if body["hits"][0]["code"] == CODE && body["hits"][0]["pinned"] == true {
            pinned = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(pinned, "the best bet comes first");
    let html = t.get("/search?q=%E4%BB%B7%E6%A0%BC").await.text().await.unwrap();
    assert!(html.contains("<span class=\"tag\">推荐</span>"));
    // Every change is in the audit log.
    let audit = govhall_audit::search(t.app.db(), &Default::default(), 50, 0).await.unwrap();
    for action in ["search.synonym_add", "search.best_bet_add"] {
        assert!(audit.iter().any(|e| e.action == action), "{action}");
    }
    // Rebuild on every node.
    assert_eq!(a.post("/admin/search/rebuild", &[]).await.status(), StatusCode::SEE_OTHER);
    t.until_indexed(60).await;
    t.stop().await;
}

/// Every kind of segment file a damaged disk could hit.
const SEGMENT_FILES: [&str; 5] = ["store", "term", "idx", "fast", "pos"];

/// Searches whose counts must not change: a browse, words, pinyin, the other tabs.
const COUNTED: [&str; 5] = [
    "/api/v1/search?q=",
    "/api/v1/search?q=%E8%AE%B8%E5%8F%AF",
    "/api/v1/search?q=jiage",
    "/api/v1/search?q=%E7%94%B3%E8%AF%B7&category=documents",
    "/api/v1/search?q=%E5%8F%91%E5%B1%95&category=departments",
];

/// Flips the byte in the middle of every `.ext` file of the index in `dir`, in place, and
/// returns those files.
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

/// Whether the index in `dir` has a commit with documents whose files are all there (a new
/// index is complete on disk).
fn committed(dir: &Path) -> bool {
    let Ok(meta) = std::fs::read(dir.join("meta.json")) else { return false };
    let Ok(meta) = serde_json::from_slice::<Value>(&meta) else { return false };
    let segments = meta["segments"].as_array().cloned().unwrap_or_default();
    !segments.is_empty()
        && segments.iter().all(|s| {
            let id = s["segment_id"].as_str().unwrap_or_default().replace('-', "");
            SEGMENT_FILES.iter().all(|ext| dir.join(format!("{id}.{ext}")).exists())
        })
}

/// The totals, tabs and facets of [`COUNTED`], or the status and body of what was not 200.
async fn counted(t: &TestApp) -> Result<Vec<String>, (StatusCode, Value, Option<String>)> {
    let mut out = Vec::new();
    for path in COUNTED {
        let res = t.get(path).await;
        let status = res.status();
        let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        let body: Value = res.json().await.unwrap();
        if status != StatusCode::OK {
            return Err((status, body, retry));
        }
        out.push(format!("{path}: {} {} {}", body["total"], body["counts"], body["facets"]));
    }
    Ok(out)
}

fn settings_on_disk(s: &mut govhall::Settings) {
    // In the data folder, as a node keeps it; checked every second.
    s.search.index_dir = String::new();
    s.search.check_seconds = 1;
}

/// Security issue 16, item 5.
#[tokio::test]
async fn a_damaged_index_never_stops_the_node_nor_answers_500_or_a_wrong_count() {
    let t = TestApp::spawn_with(settings_on_disk).await;
    let text: String = import::GD_BUNDLED.lines().take(60).collect::<Vec<_>>().join("\n");
    import::import_gd(t.app.db(), &text, |_, _| {}).await.unwrap();
    t.until_indexed(60).await;
    let index = t.db.data_dir().join("search");
    assert!(committed(&index), "the index is on disk");
    let before = counted(&t).await.unwrap();

    // Damaged while the node runs: the next searches count as before or answer 503
    // search_rebuilding, never 500; the damage is found and the index made again.
    for ext in SEGMENT_FILES {
        let damaged = damage(&index, ext);
        for _ in 0..3 {
            match counted(&t).await {
                Ok(now) => assert_eq!(now, before, ".{ext}"),
                Err((status, body, retry)) => {
                    assert_eq!(
                        (status, body["code"].as_str()),
                        (StatusCode::SERVICE_UNAVAILABLE, Some("search_rebuilding"))
                    );
                    assert_eq!(body["message"], "搜索正在重建索引，请稍后再试");
                    assert!(retry.is_some(), "Retry-After");
                }
            }
        }
        let mut made_again = false;
        for _ in 0..200 {
            if damaged.iter().all(|p| !p.exists()) && committed(&index) {
                made_again = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(made_again, ".{ext}: the index was not made again within 10 s");
        let mut right = false;
        for _ in 0..200 {
            if counted(&t).await.is_ok_and(|now| now == before) {
                right = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(right, ".{ext}: counts as before");
    }

    // Damaged while the node is stopped, every kind at once: it starts, from an index made
    // again, and its first searches count as before.
    let TestApp { app, db, client } = t;
    app.stop().await.unwrap();
    // The stopped node's background tasks let go of the folder a moment later.
    let lock = std::fs::OpenOptions::new().write(true).open(index.with_extension("lock")).unwrap();
    for _ in 0..200 {
        if lock.try_lock().is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(lock);
    let damaged: Vec<PathBuf> = SEGMENT_FILES.iter().flat_map(|ext| damage(&index, ext)).collect();
    let mut settings = common::settings(&db);
    settings_on_disk(&mut settings);
    let app = govhall::App::build(settings).await.expect("the node starts over a damaged index");
    let t = TestApp { app, db, client };
    assert_eq!(counted(&t).await.unwrap(), before);
    assert!(damaged.iter().all(|p| !p.exists()), "the damaged index was replaced");
    // And it goes on following the catalogue.
    let text: String = import::GD_BUNDLED.lines().take(70).collect::<Vec<_>>().join("\n");
    import::import_gd(t.app.db(), &text, |_, _| {}).await.unwrap();
    t.until_indexed(70).await;
    t.stop().await;
}
