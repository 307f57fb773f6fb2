//! The navigations' taxonomy: tags of six kinds, and the editable mapping from the sources'
//! values (themes, applicant kinds, department names) onto them.

use crate::CatalogError;
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::sqlx;
use govhall_db::{Db, Tx, exec, run};
use serde::Serialize;
use uuid::Uuid;

/// The kinds of tag, each a navigation: (kind, Chinese name, audience of the navigation).
pub const KINDS: [(&str, &str, &str); 6] = [
    ("life_event", "人生事件", "person"),
    ("object", "特定对象", "person"),
    ("theme", "主题分类", "both"),
    ("activity", "企业活动", "enterprise"),
    ("enterprise_type", "面向类型", "enterprise"),
    ("industry", "行业类型", "enterprise"),
];

/// The Chinese name of a kind.
pub fn kind_label(kind: &str) -> &'static str {
    KINDS.iter().find(|(k, _, _)| *k == kind).map_or("", |(_, l, _)| l)
}

/// The default mapping, installed on an empty database and edited afterwards in the back office:
/// (kind, tag, source field, source value).
const DEFAULT_MAPPING: &[(&str, &str, &str, &[&str])] = &[
    ("life_event", "生育收养", "theme_category", &["生小孩", "生育收养"]),
    ("life_event", "结婚登记", "theme_category", &["结婚", "婚姻登记"]),
    ("life_event", "上学升学", "theme_category", &["升学", "义务教育"]),
    ("life_event", "求职就业", "theme_category", &["找工作", "就业创业", "失业", "高校毕业生"]),
    ("life_event", "退休养老", "theme_category", &["退休", "离职退休", "养老服务"]),
    ("life_event", "安居置业", "theme_category", &["买房子", "住房保障", "迁居"]),
    ("life_event", "户籍证件", "theme_category", &["户籍办理", "证件办理"]),
    ("life_event", "出国出境", "theme_category", &["出境入境"]),
    ("life_event", "社会救助", "theme_category", &["社会救助"]),
    ("object", "高校毕业生", "theme_category", &["高校毕业生"]),
    ("object", "农民", "theme_category", &["农民", "涉农补贴"]),
    ("object", "残疾人", "theme_category", &["残疾人"]),
    ("object", "老年人", "theme_category", &["老年人", "养老服务"]),
    ("object", "妇女", "theme_category", &["妇女"]),
    ("object", "儿童青少年", "theme_category", &["儿童青少年"]),
    ("object", "外国人", "theme_category", &["外国人"]),
    ("object", "港澳台侨", "theme_category", &["港澳台侨"]),
    ("object", "人才", "theme_category", &["人才"]),
    ("theme", "文化体育", "theme_category", &["文化体育"]),
    ("theme", "交通出行", "theme_category", &["交通出行"]),
    ("theme", "职业资格", "theme_category", &["职业资格"]),
    ("theme", "出境入境", "theme_category", &["出境入境"]),
    ("theme", "规划建设", "theme_category", &["规划建设"]),
    ("theme", "教育科研", "theme_category", &["教育科研", "升学", "义务教育"]),
    ("theme", "社会保障", "theme_category", &["社会保障（社会保险、社会救助）", "社会救助"]),
    ("theme", "司法公证", "theme_category", &["司法公证"]),
    ("theme", "纳税缴费", "theme_category", &["纳税", "行政缴费"]),
    ("theme", "就业创业", "theme_category", &["找工作", "就业创业", "创业", "失业"]),
    ("theme", "医疗卫生", "theme_category", &["医疗卫生"]),
    ("theme", "证件办理", "theme_category", &["证件办理", "户籍办理"]),
    ("theme", "环保绿化", "theme_category", &["环保绿化"]),
    ("theme", "公用事业", "theme_category", &["公用事业"]),
    ("theme", "民族宗教", "theme_category", &["民族宗教"]),
    ("theme", "公共安全", "theme_category", &["公共安全", "城市综合执法"]),
    ("theme", "知识产权", "theme_category", &["知识产权"]),
    ("theme", "住房保障", "theme_category", &["住房保障", "买房子"]),
    ("theme", "旅游观光", "theme_category", &["旅游观光"]),
    ("theme", "消费维权", "theme_category", &["消费维权"]),
    ("theme", "其他", "theme_category", &["其他"]),
    ("activity", "设立变更", "theme_category", &["设立变更", "创业"]),
    ("activity", "准营准办", "theme_category", &["准营准办"]),
    ("activity", "纳税缴费", "theme_category", &["纳税", "行政缴费"]),
    ("activity", "抵押质押", "theme_category", &["抵押质押"]),
    ("activity", "知识产权", "theme_category", &["知识产权"]),
    ("activity", "招聘用工", "theme_category", &["人才", "就业创业"]),
    ("activity", "工程建设", "theme_category", &["规划建设"]),
    ("enterprise_type", "企业法人", "service_object_name", &["企业法人"]),
    ("enterprise_type", "非法人企业", "service_object_name", &["非法人企业"]),
    ("enterprise_type", "事业法人", "service_object_name", &["事业法人"]),
    ("enterprise_type", "社会组织法人", "service_object_name", &["社会组织法人"]),
    ("enterprise_type", "其他组织", "service_object_name", &["其他组织"]),
    ("enterprise_type", "行政机关", "service_object_name", &["行政机关"]),
    ("industry", "文化旅游", "department", &["文化和旅游", "文广旅", "广播电视", "新闻出版"]),
    ("industry", "交通运输", "department", &["交通"]),
    ("industry", "农林牧渔", "department", &["农业", "林业", "渔业"]),
    ("industry", "建筑房地产", "department", &["住房和城乡建设", "住建"]),
    ("industry", "医疗卫生", "department", &["卫生健康", "卫健", "药品监督", "医疗保障"]),
    ("industry", "教育", "department", &["教育"]),
    ("industry", "生态环保", "department", &["生态环境"]),
    ("industry", "水利", "department", &["水利", "水务"]),
    ("industry", "商贸流通", "department", &["商务", "市场监督", "市监"]),
    ("industry", "人力资源", "department", &["人力资源", "人社"]),
    ("industry", "自然资源", "department", &["自然资源"]),
    ("industry", "工业信息化", "department", &["工业和信息化", "经信", "通信管理"]),
    ("industry", "法律服务", "department", &["司法"]),
    ("industry", "安全生产", "department", &["应急管理", "消防"]),
    ("industry", "能源", "department", &["能源", "发展和改革", "发改"]),
];

/// A tag with how many published items carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Tag {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Published items with it.
    pub items: i64,
}

/// A mapping row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Mapping {
    /// Id.
    pub id: Uuid,
    /// The source field.
    pub source_field: String,
    /// The source value (for `department`, a part of the name).
    pub source_value: String,
    /// The tag's kind.
    pub kind: String,
    /// The tag's name.
    pub tag: String,
}

/// The tag id for (kind, name), created if missing.
pub(crate) async fn ensure_tag(tx: &mut Tx, kind: &str, name: &str) -> Result<Uuid, CatalogError> {
    let now = tx.db().now();
    if !KINDS.iter().any(|(k, _, _)| *k == kind) {
        return Err(CatalogError::Invalid(format!("未知的分类“{kind}”")));
    }
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO tags (id, kind, name, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, name) DO NOTHING"
        )
        .bind(Uuid::now_v7())
        .bind(kind)
        .bind(name)
        .bind(now)
    )?;
    Ok(run!(tx, |c| {
        sqlx::query_scalar("SELECT id FROM tags WHERE kind = $1 AND name = $2")
            .bind(kind)
            .bind(name)
            .fetch_one(&mut *c)
            .await
    })?)
}

/// Installs the default mapping when there is none.
pub async fn ensure_defaults(db: &Db) -> Result<(), CatalogError> {
    let mut tx = db.begin().await?;
    let known: i64 = run!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM tag_mappings").fetch_one(&mut *c).await)?;
    if known == 0 {
        for (sort, (kind, tag, field, values)) in DEFAULT_MAPPING.iter().enumerate() {
            let tag_id = ensure_tag(&mut tx, kind, tag).await?;
            exec!(tx, sqlx::query("UPDATE tags SET sort = $1 WHERE id = $2").bind(sort as i64).bind(tag_id))?;
            for value in *values {
                insert_mapping(&mut tx, field, value, tag_id).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_mapping(tx: &mut Tx, field: &str, value: &str, tag: Uuid) -> Result<(), CatalogError> {
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO tag_mappings (id, source_field, source_value, tag_id) VALUES ($1, $2, $3, $4)
             ON CONFLICT (source_field, source_value, tag_id) DO NOTHING"
        )
        .bind(Uuid::now_v7())
        .bind(field)
        .bind(value)
        .bind(tag)
    )?;
    Ok(())
}

/// Every mapping row.
pub async fn mappings(db: &Db) -> Result<Vec<Mapping>, CatalogError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as(
            "SELECT m.id, m.source_field, m.source_value, t.kind, t.name AS tag
             FROM tag_mappings m JOIN tags t ON t.id = m.tag_id ORDER BY t.kind, t.sort, t.name, m.source_value",
        )
        .fetch_all(&mut *c)
        .await
    })?)
}

/// The fields a mapping may read.
pub const SOURCE_FIELDS: [(&str, &str); 3] = [
    ("theme_category", "来源主题（theme_category）"),
    ("service_object_name", "服务对象（service_object_name）"),
    ("department", "部门名称包含"),
];

/// Adds a mapping (creating the tag if new).
pub async fn add_mapping(
    db: &Db,
    actor: &Actor,
    field: &str,
    value: &str,
    kind: &str,
    tag: &str,
) -> Result<(), CatalogError> {
    let (value, tag) = (value.trim(), tag.trim());
    if !SOURCE_FIELDS.iter().any(|(f, _)| *f == field) {
        return Err(CatalogError::Invalid(format!("未知的来源字段“{field}”")));
    }
    if value.is_empty() || tag.is_empty() || value.chars().count() > 50 || tag.chars().count() > 30 {
        return Err(CatalogError::Invalid("来源值和分类名称不能为空，分别不超过 50 和 30 个字".to_owned()));
    }
    let mut tx = db.begin().await?;
    let tag_id = ensure_tag(&mut tx, kind, tag).await?;
    insert_mapping(&mut tx, field, value, tag_id).await?;
    let event = Event::success("catalog.mapping.add", "tag_mapping", value).detail(format!("{field} → {kind}:{tag}"));
    audit::record(&mut tx, actor, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a mapping.
pub async fn remove_mapping(db: &Db, actor: &Actor, id: Uuid) -> Result<(), CatalogError> {
    let mut tx = db.begin().await?;
    let n = exec!(tx, sqlx::query("DELETE FROM tag_mappings WHERE id = $1").bind(id))?;
    if n == 0 {
        return Err(CatalogError::NotFound("映射"));
    }
    audit::record(&mut tx, actor, Event::success("catalog.mapping.remove", "tag_mapping", id)).await?;
    tx.commit().await?;
    Ok(())
}

/// The mapping in memory, for an import: (field, value) → tags.
#[derive(Debug, Default)]
pub struct MappingTable {
    rows: Vec<(String, String, crate::model::TagRef)>,
}

impl MappingTable {
    /// Loads it.
    pub async fn load(db: &Db) -> Result<MappingTable, CatalogError> {
        let rows = mappings(db)
            .await?
            .into_iter()
            .map(|m| (m.source_field, m.source_value, crate::model::TagRef { kind: m.kind, name: m.tag }))
            .collect();
        Ok(MappingTable { rows })
    }

    /// The tags for the values of one field (`department` matches a part of the name).
    pub fn tags(&self, field: &str, values: &[&str]) -> Vec<crate::model::TagRef> {
        self.rows
            .iter()
            .filter(|(f, v, _)| {
                f == field
                    && values
                        .iter()
                        .any(|value| if field == "department" { value.contains(v.as_str()) } else { value == v })
            })
            .map(|(_, _, tag)| tag.clone())
            .collect()
    }
}

/// Tags of a kind with their counts of published items (only those with items), counting only
/// items for `audience` (`person` or `enterprise`; items for both count for each) when given.
pub async fn tags(db: &Db, kind: &str, audience: Option<&str>) -> Result<Vec<Tag>, CatalogError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as(
            "SELECT t.id, t.kind, t.name, COUNT(i.id) AS items
             FROM tags t JOIN item_tags it ON it.tag_id = t.id
             JOIN items i ON i.id = it.item_id AND i.status = 'published'
               AND ($2 IS NULL OR i.audience = $2 OR i.audience = 'both')
             WHERE t.kind = $1 GROUP BY t.id, t.kind, t.name, t.sort ORDER BY t.sort, t.name",
        )
        .bind(kind)
        .bind(audience)
        .fetch_all(&mut *c)
        .await
    })?)
}

/// Every tag, also those without items (for editors).
pub async fn all_tags(db: &Db) -> Result<Vec<Tag>, CatalogError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as(
            "SELECT t.id, t.kind, t.name,
                    (SELECT COUNT(*) FROM item_tags it JOIN items i ON i.id = it.item_id AND i.status = 'published'
                     WHERE it.tag_id = t.id) AS items
             FROM tags t ORDER BY t.kind, t.sort, t.name",
        )
        .fetch_all(&mut *c)
        .await
    })?)
}

/// One tag.
pub async fn tag(db: &Db, id: Uuid) -> Result<Option<Tag>, CatalogError> {
    let mut conn = db.conn().await?;
    Ok(run!(conn, |c| {
        sqlx::query_as(
            "SELECT t.id, t.kind, t.name, (SELECT COUNT(*) FROM item_tags it WHERE it.tag_id = t.id) AS items
             FROM tags t WHERE t.id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *c)
        .await
    })?)
}
