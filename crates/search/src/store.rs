//! What search keeps in the database: the synonym table and best bets (edited by catalogue
//! administrators, audited, announced on the change feed as `search_rules`), queries that found
//! nothing, and item popularity.

use crate::SearchError;
use crate::analysis::normalize;
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::changes::{self, ChangeOp};
use govhall_db::sqlx;
use govhall_db::{Db, exec, run};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// Synonym groups installed on first start; administrators edit them afterwards. Each line is
/// words that mean the same to someone looking for a service.
pub const DEFAULT_SYNONYMS: &[&str] = &[
    "驾照,驾驶证,机动车驾驶证",
    "考驾照,学车,驾考,驾驶人考试",
    "身份证,居民身份证",
    "户口,户籍",
    "户口本,居民户口簿,户口簿",
    "搬家,迁移,迁入,迁出",
    "社保,社会保险",
    "社保卡,社会保障卡",
    "医保,医疗保险,基本医疗保险",
    "公积金,住房公积金",
    "开公司,办公司,注册公司,成立公司,公司设立,企业设立,设立登记",
    "注销公司,企业注销,注销登记",
    "个体户,个体工商户",
    "丢了,丢失,遗失,补领,补办,补发,挂失,补证",
    "换证,换领,换发",
    "过期,到期,延续",
    "改名,更名,名称变更",
    "结婚,结婚登记,婚姻登记",
    "离婚,离婚登记",
    "生孩子,生育,出生",
    "准生证,生育服务证,生育登记",
    "退休,养老金,养老保险待遇",
    "残疾证,残疾人证",
    "护照,普通护照",
    "港澳通行证,往来港澳通行证",
    "开饭店,开餐馆,开餐厅,食品经营",
    "开药店,卖药,药品经营,药品零售",
    "当老师,教师资格",
    "医生,医师",
    "房产证,不动产权证书,不动产登记",
    "盖房子,建房,建设工程",
    "失业,失业保险,失业金",
    "工伤,工伤保险,工伤认定",
    "去世,死亡,身故,丧葬",
    "低保,最低生活保障",
    "律所,律师事务所",
    "交税,纳税,缴税",
    "电动车,电动自行车",
    "进度,办理进度,查询进度,办好,办好了,做好了",
    "营业执照,执照,证照",
    "开店,开个店,开铺子,小卖部,便利店,小商店,个体工商户",
    "外地,异地,省外,外省",
    "狗,犬,犬类,宠物狗",
    "上学,入学,报名入学,上小学,上初中",
    "转学,学籍异动,学籍变动",
    "找工作,求职,招聘,就业",
    "看病,就医,就诊",
    "挂号,预约挂号,门诊预约,门诊",
    "受伤,伤残,工伤",
    "拖欠工资,欠薪,讨薪,劳动争议,劳动仲裁,劳动人事争议",
    "法援,法律援助,请不起律师",
    "健康证,预防性体检,从业人员体检",
    "网吧,上网服务营业场所,互联网上网服务",
    "卖烟,烟草专卖,烟草零售",
    "砍树,采伐,林木采伐",
    "民宿,旅馆,旅馆业",
    "单身,未婚,婚姻状况",
    "上牌,车辆登记,机动车注册登记",
    "扣分,记分,满分,扣满12分",
    "狗咬,被狗咬,狂犬病",
    "叉车证,特种设备作业人员",
    "摆地摊,摆摊,摊点,便民服务摊点",
    "领养,收养",
    "养老院,敬老院,养老机构",
    "驾校,驾驶员培训,驾驶培训",
    "货运,拉货,道路货物运输",
    "上户口,入户,户口登记,出生登记",
    "新生儿,刚出生,出生",
    "转到外地,转移,转移接续,转出,转入",
    "预售证,商品房预售许可",
    "出生证,出生证明,出生医学证明",
    "危废,危险废物",
    "ktv,歌舞厅,歌舞娱乐场所,娱乐经营",
    "公租房,公共租赁住房,廉租房",
    "教资,教师资格",
    "二建,二级建造师,二级注册建造师",
    "一建,一级建造师,一级注册建造师",
    "高企,高新技术企业",
    "医生执照,执业医师,医师执业",
    "律师证,律师执业证",
    "社保证明,参保证明,缴费证明,参保缴费证明",
    "自来水,供水,用水",
    "天然气,燃气,用气,供气",
    "电表,用电,供电",
    "增驾,增加准驾车型",
    "维修基金,专项维修资金",
    "永居证,永久居留,永久居留身份证",
    "专票,增值税专用发票",
    "老人补贴,高龄津贴,高龄补贴",
    "过户,更名,户名变更",
    "小孩,孩子,子女,儿童",
    "打官司,诉讼,法律援助",
    "成立,设立,新设,开办",
    "买车,购车,新车",
    "退伍,退役,转业",
    "安装,报装,装表",
];

/// A group of words that mean the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SynonymGroup {
    /// Id.
    pub id: Uuid,
    /// The words, comma-separated.
    pub terms: String,
    /// Who added it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl SynonymGroup {
    /// The words.
    pub fn words(&self) -> Vec<&str> {
        self.terms.split(',').filter(|t| !t.is_empty()).collect()
    }
}

/// Reads a group as typed (commas, 、，or spaces between words) into folded words: two or more,
/// each at most 20 characters.
pub fn parse_group(text: &str) -> Result<Vec<String>, SearchError> {
    let mut words: Vec<String> = Vec::new();
    for part in text.split([',', '，', '、', ';', '；', ' ', '\n']) {
        let word = normalize(part);
        if word.is_empty() || words.contains(&word) {
            continue;
        }
        if word.chars().count() > 20 {
            return Err(SearchError::invalid("invalid_synonym", format!("同义词“{word}”过长，每个词不超过 20 个字")));
        }
        if !word.chars().any(char::is_alphanumeric) {
            return Err(SearchError::invalid("invalid_synonym", format!("“{word}”不是词语")));
        }
        words.push(word);
    }
    if words.len() < 2 {
        return Err(SearchError::invalid("invalid_synonym", "一组同义词至少要有两个不同的词，用逗号或顿号分隔"));
    }
    if words.len() > 30 {
        return Err(SearchError::invalid("invalid_synonym", "一组同义词最多 30 个词"));
    }
    Ok(words)
}

/// Installs [`DEFAULT_SYNONYMS`] once.
pub async fn ensure_defaults(db: &Db) -> Result<(), SearchError> {
    let mut tx = db.begin().await?;
    let done: Option<String> =
        run!(tx, |c| sqlx::query_scalar("SELECT value FROM search_state WHERE key = 'default_synonyms'")
            .fetch_optional(&mut *c)
            .await)?;
    if done.is_none() {
        let now = tx.db().now();
        for line in DEFAULT_SYNONYMS {
            let terms = parse_group(line)?.join(",");
            exec!(
                tx,
                sqlx::query(
                    "INSERT INTO search_synonyms (id, terms, created_by, created_at) VALUES ($1, $2, '系统默认', $3)
                     ON CONFLICT (terms) DO NOTHING"
                )
                .bind(Uuid::now_v7())
                .bind(terms)
                .bind(now)
            )?;
        }
        // Two nodes starting together both get here: one marker is enough.
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO search_state (key, value) VALUES ('default_synonyms', '1') ON CONFLICT (key) DO NOTHING"
            )
        )?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every synonym group, newest first.
pub async fn synonyms(db: &Db) -> Result<Vec<SynonymGroup>, SearchError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_as(
        "SELECT id, terms, created_by, created_at FROM search_synonyms ORDER BY created_at DESC, terms"
    )
    .fetch_all(&mut *c)
    .await)?)
}

/// Asks every node to rebuild its index from the database (through the change feed), audited.
pub async fn request_rebuild(db: &Db, actor: &Actor) -> Result<(), SearchError> {
    let mut tx = db.begin().await?;
    audit::record(&mut tx, actor, Event::success("search.rebuild", "", "")).await?;
    changes::record(&mut tx, "search_index", "rebuild", ChangeOp::Update);
    tx.commit().await?;
    Ok(())
}

/// Adds a synonym group (see [`parse_group`]).
pub async fn add_synonyms(db: &Db, actor: &Actor, text: &str) -> Result<Uuid, SearchError> {
    let terms = parse_group(text)?.join(",");
    let id = Uuid::now_v7();
    let mut tx = db.begin().await?;
    let now = tx.db().now();
    let added = exec!(
        tx,
        sqlx::query(
            "INSERT INTO search_synonyms (id, terms, created_by, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (terms) DO NOTHING"
        )
        .bind(id)
        .bind(&terms)
        .bind(&actor.label)
        .bind(now)
    )?;
    if added == 0 {
        return Err(SearchError::invalid("duplicate_synonym", format!("同义词组“{terms}”已存在")));
    }
    audit::record(&mut tx, actor, Event::success("search.synonym_add", "search_synonym", id).detail(terms)).await?;
    changes::record(&mut tx, "search_rules", "synonyms", ChangeOp::Update);
    tx.commit().await?;
    Ok(id)
}

/// Deletes a synonym group.
pub async fn delete_synonyms(db: &Db, actor: &Actor, id: Uuid) -> Result<(), SearchError> {
    let mut tx = db.begin().await?;
    let terms: Option<String> = run!(tx, |c| sqlx::query_scalar("SELECT terms FROM search_synonyms WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await)?;
    let Some(terms) = terms else { return Err(SearchError::NotFound("同义词组")) };
    exec!(tx, sqlx::query("DELETE FROM search_synonyms WHERE id = $1").bind(id))?;
    audit::record(&mut tx, actor, Event::success("search.synonym_delete", "search_synonym", id).detail(terms)).await?;
    changes::record(&mut tx, "search_rules", "synonyms", ChangeOp::Update);
    tx.commit().await?;
    Ok(())
}

/// An item pinned to the top of a query's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct BestBet {
    /// The folded query.
    pub query: String,
    /// The item.
    pub item_code: String,
    /// Its place among the query's best bets (1 first).
    pub position: i32,
    /// Who pinned it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Every best bet, by query and position.
pub async fn best_bets(db: &Db) -> Result<Vec<BestBet>, SearchError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as(
        "SELECT query, item_code, position, created_by, created_at FROM search_best_bets ORDER BY query, position, item_code"
    )
    .fetch_all(&mut *c)
    .await
    })?)
}

/// Pins a published item to a query at `position` (1–10).
pub async fn add_best_bet(db: &Db, actor: &Actor, query: &str, code: &str, position: i32) -> Result<(), SearchError> {
    let query = normalize(query);
    if query.is_empty() || query.chars().count() > 50 {
        return Err(SearchError::invalid("invalid_best_bet", "查询词不能为空，且不超过 50 个字"));
    }
    if !(1..=10).contains(&position) {
        return Err(SearchError::invalid("invalid_best_bet", "位置应为 1 到 10"));
    }
    let code = code.trim();
    let mut tx = db.begin().await?;
    let published: Option<String> = run!(tx, |c| sqlx::query_scalar("SELECT status FROM items WHERE code = $1")
        .bind(code)
        .fetch_optional(&mut *c)
        .await)?;
    match published.as_deref() {
        None => return Err(SearchError::invalid("invalid_best_bet", format!("没有编码为“{code}”的事项"))),
        Some("published") => {}
        Some(_) => return Err(SearchError::invalid("invalid_best_bet", format!("事项“{code}”尚未发布，不能置顶"))),
    }
    let now = tx.db().now();
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO search_best_bets (query, item_code, position, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (query, item_code) DO UPDATE SET position = $3, created_by = $4, created_at = $5"
        )
        .bind(&query)
        .bind(code)
        .bind(position)
        .bind(&actor.label)
        .bind(now)
    )?;
    audit::record(
        &mut tx,
        actor,
        Event::success("search.best_bet_add", "item", code).detail(format!("“{query}”第{position}位")),
    )
    .await?;
    changes::record(&mut tx, "search_rules", "best_bets", ChangeOp::Update);
    tx.commit().await?;
    Ok(())
}

/// Unpins an item from a query.
pub async fn delete_best_bet(db: &Db, actor: &Actor, query: &str, code: &str) -> Result<(), SearchError> {
    let mut tx = db.begin().await?;
    let deleted = exec!(
        tx,
        sqlx::query("DELETE FROM search_best_bets WHERE query = $1 AND item_code = $2").bind(query).bind(code)
    )?;
    if deleted == 0 {
        return Err(SearchError::NotFound("置顶结果"));
    }
    audit::record(&mut tx, actor, Event::success("search.best_bet_delete", "item", code).detail(format!("“{query}”")))
        .await?;
    changes::record(&mut tx, "search_rules", "best_bets", ChangeOp::Update);
    tx.commit().await?;
    Ok(())
}

/// A query that found nothing, with how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Miss {
    /// The folded query.
    pub query: String,
    /// How many times.
    pub count: i64,
    /// First time.
    pub first_at: DateTime<Utc>,
    /// Last time.
    pub last_at: DateTime<Utc>,
}

/// Adds counted queries that found nothing.
pub async fn record_misses(db: &Db, misses: &HashMap<String, i64>) -> Result<(), SearchError> {
    if misses.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let now = tx.db().now();
    // Kept for 90 days after they were last searched for.
    exec!(tx, sqlx::query("DELETE FROM search_misses WHERE last_at < $1").bind(now - chrono::Duration::days(90)))?;
    for (query, count) in misses {
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO search_misses (query, count, first_at, last_at) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (query) DO UPDATE SET count = search_misses.count + $2, last_at = $3"
            )
            .bind(query)
            .bind(count)
            .bind(now)
        )?;
    }
    tx.commit().await?;
    Ok(())
}

/// Queries that found nothing since `since`, most frequent first.
pub async fn misses(db: &Db, since: DateTime<Utc>, limit: i64) -> Result<Vec<Miss>, SearchError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_as(
        "SELECT query, count, first_at, last_at FROM search_misses WHERE last_at >= $1
         ORDER BY count DESC, last_at DESC LIMIT $2"
    )
    .bind(since)
    .bind(limit)
    .fetch_all(&mut *c)
    .await)?)
}

/// Forgets a query that found nothing (after the catalogue was fixed for it).
pub async fn dismiss_miss(db: &Db, actor: &Actor, query: &str) -> Result<(), SearchError> {
    let mut tx = db.begin().await?;
    exec!(tx, sqlx::query("DELETE FROM search_misses WHERE query = $1").bind(query))?;
    audit::record(&mut tx, actor, Event::success("search.miss_dismiss", "", "").detail(format!("“{query}”"))).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds visits to items.
pub async fn add_visits(db: &Db, visits: &HashMap<String, i64>) -> Result<(), SearchError> {
    if visits.is_empty() {
        return Ok(());
    }
    let mut tx = db.begin().await?;
    let now = tx.db().now();
    for (code, count) in visits {
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO item_popularity (code, visits, applications, updated_at) VALUES ($1, $2, 0, $3)
                 ON CONFLICT (code) DO UPDATE SET visits = item_popularity.visits + $2, updated_at = $3"
            )
            .bind(code)
            .bind(count)
            .bind(now)
        )?;
    }
    tx.commit().await?;
    Ok(())
}

/// Popularity of every item that has any (visits plus five times applications).
pub async fn popularity(db: &Db) -> Result<HashMap<String, u64>, SearchError> {
    let mut conn = db.conn().await?;
    let rows: Vec<(String, i64, i64)> =
        run!(conn, |c| sqlx::query_as("SELECT code, visits, applications FROM item_popularity")
            .fetch_all(&mut *c)
            .await)?;
    Ok(rows.into_iter().map(|(code, v, a)| (code, u64::try_from(v + 5 * a).unwrap_or(0))).collect())
}

/// Items whose popularity changed after `since`.
pub async fn popularity_changed(db: &Db, since: DateTime<Utc>) -> Result<Vec<String>, SearchError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| sqlx::query_scalar("SELECT code FROM item_popularity WHERE updated_at > $1")
        .bind(since)
        .fetch_all(&mut *c)
        .await)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_read_as_typed() {
        assert_eq!(parse_group("驾照，駕駛證、 机动车驾驶证").unwrap(), vec!["驾照", "驾驶证", "机动车驾驶证"]);
        assert_eq!(
            parse_group("驾照,驾照").unwrap_err().to_string(),
            "一组同义词至少要有两个不同的词，用逗号或顿号分隔"
        );
        assert!(parse_group("驾照,！？").is_err());
        assert!(parse_group(&format!("驾照,{}", "长".repeat(21))).is_err());
        for line in DEFAULT_SYNONYMS {
            assert!(parse_group(line).is_ok(), "{line}");
        }
    }
}
