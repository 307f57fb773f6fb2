//! Editing items with review, the taxonomy's mapping, and the catalogue's export.

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{after_post, render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect, Response};
use govhall_catalog::CatalogError;
use govhall_catalog::editing::{self, Pending, Version, status_label};
use govhall_catalog::model::{
    Audience, Fee, ItemContent, LEVELS, LimitUnit, Material, ONLINE_DEPTHS, RELATION_KINDS, Related, TagRef, TimeLimit,
    nature_code,
};
use govhall_catalog::store::ItemSummary;
use govhall_catalog::taxonomy::{self, KINDS, Mapping, SOURCE_FIELDS, Tag};
use serde::Deserialize;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "admin/items.html")]
struct ItemsPage {
    page: Page,
    q: String,
    items: Vec<ItemSummary>,
    pending: Vec<Pending>,
    notice: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
    imported: Option<usize>,
    refused: Option<usize>,
}

pub(crate) async fn items(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(search): Query<Search>,
) -> Result<Html<String>, AppError> {
    let items = editing::editable(&state.db, &viewer.access, &search.q, 100).await?;
    let pending = editing::review_queue(&state.db, &viewer.access).await?;
    let notice = match (search.imported, search.refused) {
        (Some(applied), refused) => {
            format!("已导入 {applied} 个事项的修改，均已提交审核；{} 行未导入", refused.unwrap_or(0))
        }
        _ => String::new(),
    };
    render(ItemsPage { page: Page::new(&state, "事项管理").with(&ctx), q: search.q, items, pending, notice })
}

/// The edit form's fields, as text.
#[derive(Debug, Default, Clone)]
pub(crate) struct ItemForm {
    name: String,
    short_name: String,
    phrases: String,
    type_text: String,
    level: String,
    audience: String,
    conditions: String,
    materials: String,
    statutory_amount: String,
    statutory_unit: String,
    promised_amount: String,
    promised_unit: String,
    fees: String,
    legal_basis: String,
    place: String,
    consult_phone: String,
    complaint_phone: String,
    online_depth: String,
    online_apply: bool,
    appointment: bool,
    courier: bool,
    visits: String,
    tags: Vec<String>,
    related: String,
    note: String,
}

fn unit_code(unit: LimitUnit) -> &'static str {
    match unit {
        LimitUnit::None => "none",
        LimitUnit::Immediate => "immediate",
        LimitUnit::WorkingDays => "working_days",
        LimitUnit::NaturalDays => "natural_days",
    }
}

const UNITS: [(&str, &str); 4] =
    [("working_days", "工作日"), ("natural_days", "自然日"), ("immediate", "即办"), ("none", "无")];

impl ItemForm {
    fn from_content(c: &ItemContent) -> ItemForm {
        ItemForm {
            name: c.name.clone(),
            short_name: c.short_name.clone(),
            phrases: c.phrases.join("，"),
            type_text: c.type_text.clone(),
            level: c.level.clone(),
            audience: c.audience.as_str().to_owned(),
            conditions: c.conditions.join("\n"),
            materials: c.materials.iter().map(Material::to_line).collect::<Vec<_>>().join("\n"),
            statutory_amount: c.statutory_limit.amount.to_string(),
            statutory_unit: unit_code(c.statutory_limit.unit).to_owned(),
            promised_amount: c.promised_limit.amount.to_string(),
            promised_unit: unit_code(c.promised_limit.unit).to_owned(),
            fees: c.fees.iter().map(Fee::to_line).collect::<Vec<_>>().join("\n"),
            legal_basis: c.legal_basis.clone(),
            place: c.place.clone(),
            consult_phone: c.consult_phone.clone(),
            complaint_phone: c.complaint_phone.clone(),
            online_depth: c.online_depth.to_string(),
            online_apply: c.online_apply,
            appointment: c.appointment,
            courier: c.courier,
            visits: c.visits.to_string(),
            tags: c.tags.iter().map(|t| format!("{}:{}", t.kind, t.name)).collect(),
            related: c.related.iter().map(|r| format!("{}|{}", r.code, r.kind)).collect::<Vec<_>>().join("\n"),
            note: String::new(),
        }
    }

    fn from_pairs(pairs: &[(String, String)]) -> ItemForm {
        let get = |k: &str| pairs.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone()).unwrap_or_default();
        let on = |k: &str| pairs.iter().any(|(f, v)| f == k && v == "on");
        ItemForm {
            name: get("name"),
            short_name: get("short_name"),
            phrases: get("phrases"),
            type_text: get("type_text"),
            level: get("level"),
            audience: get("audience"),
            conditions: get("conditions"),
            materials: get("materials"),
            statutory_amount: get("statutory_amount"),
            statutory_unit: get("statutory_unit"),
            promised_amount: get("promised_amount"),
            promised_unit: get("promised_unit"),
            fees: get("fees"),
            legal_basis: get("legal_basis"),
            place: get("place"),
            consult_phone: get("consult_phone"),
            complaint_phone: get("complaint_phone"),
            online_depth: get("online_depth"),
            online_apply: on("online_apply"),
            appointment: on("appointment"),
            courier: on("courier"),
            visits: get("visits"),
            tags: pairs.iter().filter(|(f, _)| f == "tag").map(|(_, v)| v.clone()).collect(),
            related: get("related"),
            note: get("note"),
        }
    }

    /// The guide these fields describe, keeping what the form does not show from `base`.
    fn to_content(&self, base: &ItemContent) -> Result<ItemContent, CatalogError> {
        let bad = |m: String| CatalogError::Invalid(m);
        let lines = |s: &str| s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect::<Vec<_>>();
        let limit = |label: &str, amount: &str, unit: &str| -> Result<TimeLimit, CatalogError> {
            let unit = match unit {
                "working_days" => LimitUnit::WorkingDays,
                "natural_days" => LimitUnit::NaturalDays,
                "immediate" => return Ok(TimeLimit { amount: 0, unit: LimitUnit::Immediate }),
                _ => return Ok(TimeLimit::default()),
            };
            // The range is the catalogue's rule (checked again when the guide is saved).
            let amount: u32 = amount.trim().parse().unwrap_or(0);
            let limit = TimeLimit { amount, unit };
            limit.check(label).map_err(bad)?;
            Ok(limit)
        };
        let materials = Material::parse_lines(&self.materials, &base.materials).map_err(bad)?;
        let mut fees = Vec::new();
        for (i, line) in lines(&self.fees).iter().enumerate() {
            fees.push(Fee::parse_line(line).map_err(|e| bad(format!("收费第 {} 行：{e}", i + 1)))?);
        }
        let mut related = Vec::new();
        for (i, line) in lines(&self.related).iter().enumerate() {
            let (code, kind) = line.split_once('|').unwrap_or((line, "together"));
            if !RELATION_KINDS.iter().any(|(k, _)| *k == kind.trim()) {
                return Err(bad(format!("相关事项第 {} 行的关系应为 prerequisite、next_step 或 together", i + 1)));
            }
            related.push(Related { code: code.trim().to_owned(), kind: kind.trim().to_owned() });
        }
        let tags = self
            .tags
            .iter()
            .filter_map(|t| t.split_once(':'))
            .map(|(kind, name)| TagRef { kind: kind.to_owned(), name: name.to_owned() })
            .collect();
        let type_text = self.type_text.trim().to_owned();
        Ok(ItemContent {
            name: self.name.trim().to_owned(),
            short_name: self.short_name.trim().to_owned(),
            phrases: self
                .phrases
                .split([',', '，', '、'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            nature_code: nature_code(&type_text).to_owned(),
            type_code: if type_text == base.type_text { base.type_code.clone() } else { String::new() },
            type_text,
            level: self.level.clone(),
            audience: Audience::parse(&self.audience).ok_or_else(|| bad("请选择服务对象".to_owned()))?,
            conditions: lines(&self.conditions),
            materials,
            statutory_limit: limit("法定办结时限", &self.statutory_amount, &self.statutory_unit)?,
            promised_limit: limit("承诺办结时限", &self.promised_amount, &self.promised_unit)?,
            fees,
            legal_basis: self.legal_basis.trim().to_owned(),
            place: self.place.trim().to_owned(),
            consult_phone: self.consult_phone.trim().to_owned(),
            complaint_phone: self.complaint_phone.trim().to_owned(),
            online_depth: self.online_depth.trim().parse().map_err(|_| bad("请选择网上办理深度".to_owned()))?,
            online_apply: self.online_apply,
            appointment: self.appointment,
            courier: self.courier,
            // Not a number fails here; above the catalogue's maximum fails when saved.
            visits: self
                .visits
                .trim()
                .parse()
                .map_err(|_| bad(format!("最多跑动次数应为 0 到 {}", govhall_catalog::model::MAX_VISITS)))?,
            tags,
            related,
            source_url: base.source_url.clone(),
            form: base.form.clone(),
            eligibility: base.eligibility.clone(),
        })
    }
}

struct VersionRow {
    version: i32,
    status: &'static str,
    created_by: String,
    created_at: String,
    note: String,
    review_comment: String,
}

#[derive(Template)]
#[template(path = "admin/item_edit.html")]
struct EditPage {
    page: Page,
    item: ItemSummary,
    form: ItemForm,
    versions: Vec<VersionRow>,
    open: Option<(i32, &'static str, String)>,
    tags: Vec<(&'static str, Vec<Tag>)>,
    levels: Vec<(&'static str, &'static str)>,
    depths: Vec<(u8, &'static str)>,
    units: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    can_review: bool,
    own_version: bool,
    error: String,
    notice: String,
}

async fn edit_page(
    state: &AppState,
    viewer: &crate::auth::Viewer,
    ctx: &crate::auth::RequestContext,
    code: &str,
    form: Option<ItemForm>,
    error: String,
    notice: &str,
) -> Result<Html<String>, AppError> {
    let (item, versions) = editing::versions(&state.db, &viewer.access, code).await?;
    let latest: Option<&Version> = versions.first();
    let open = latest
        .filter(|v| v.status == "draft" || v.status == "in_review")
        .map(|v| (v.version, status_label(&v.status), v.review_comment.clone()));
    let form = form.unwrap_or_else(|| latest.map(|v| ItemForm::from_content(&v.content)).unwrap_or_default());
    let all_tags = taxonomy::all_tags(&state.db).await?;
    let target = govhall_identity::Target {
        owner: None,
        department: Some(govhall_identity::DepartmentId::from_uuid(item.department_id)),
        region: Some(item.region_code.clone()),
    };
    render(EditPage {
        page: Page::new(state, &format!("编辑：{}", item.name)).with(ctx),
        can_edit: viewer.access.covers(govhall_identity::Permission::ItemEdit, &target),
        can_review: viewer.access.covers(govhall_identity::Permission::ItemPublish, &target),
        own_version: latest.is_some_and(|v| v.created_by_id == Some(viewer.account.id.as_uuid())),
        item,
        form,
        versions: versions
            .iter()
            .map(|v| VersionRow {
                version: v.version,
                status: status_label(&v.status),
                created_by: v.created_by.clone(),
                created_at: time(v.created_at),
                note: v.note.clone(),
                review_comment: v.review_comment.clone(),
            })
            .collect(),
        open,
        tags: KINDS
            .iter()
            .map(|(kind, label, _)| (*label, all_tags.iter().filter(|t| t.kind == *kind).cloned().collect()))
            .collect(),
        levels: LEVELS.to_vec(),
        depths: ONLINE_DEPTHS.to_vec(),
        units: UNITS.to_vec(),
        error,
        notice: notice.to_owned(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

pub(crate) async fn edit(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
    Query(q): Query<Done>,
) -> Result<Html<String>, AppError> {
    let notice = match q.done.as_deref() {
        Some("saved") => "草稿已保存；提交审核后才会对外发布",
        Some("submitted") => "已提交审核",
        Some("published") => "已发布，办事指南已更新",
        Some("returned") => "已退回修改",
        _ => "",
    };
    edit_page(&state, &viewer, &ctx, &code, None, String::new(), notice).await
}

pub(crate) async fn save(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let form = ItemForm::from_pairs(&pairs);
    let (_, versions) = editing::versions(&state.db, &viewer.access, &code).await?;
    let base = versions.first().map(|v| v.content.clone()).unwrap_or_default();
    let result = match form.to_content(&base) {
        Ok(content) => {
            editing::save_draft(&state.db, &ctx.actor(), &viewer.access, &code, &content, form.note.trim()).await
        }
        Err(e) => Err(e),
    };
    let to = format!("/admin/items/{}?done=saved", crate::auth::urlencode(&code));
    after_post(result, &to, async |error| edit_page(&state, &viewer, &ctx, &code, Some(form), error, "").await).await
}

/// The review actions: submit (editor), approve or send back (reviewer).
pub(crate) async fn act(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path((code, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let comment = pairs.iter().find(|(k, _)| k == "comment").map(|(_, v)| v.as_str()).unwrap_or_default();
    let actor = ctx.actor();
    let (result, done) = match action.as_str() {
        "submit" => (editing::submit(&state.db, &actor, &viewer.access, &code).await, "submitted"),
        "approve" => {
            let result = editing::approve(&state.db, &actor, &viewer.access, &code).await;
            state.catalog.forget(&code);
            (result, "published")
        }
        "send-back" => (editing::send_back(&state.db, &actor, &viewer.access, &code, comment).await, "returned"),
        _ => return Err(AppError::not_found()),
    };
    let to = format!("/admin/items/{}?done={done}", crate::auth::urlencode(&code));
    after_post(result, &to, async |error| edit_page(&state, &viewer, &ctx, &code, None, error, "").await).await
}

#[derive(Template)]
#[template(path = "admin/taxonomy.html")]
struct TaxonomyPage {
    page: Page,
    mappings: Vec<Mapping>,
    tags: Vec<Tag>,
    kinds: Vec<(&'static str, &'static str)>,
    fields: Vec<(&'static str, &'static str)>,
    error: String,
}

async fn taxonomy_page(
    state: &AppState,
    ctx: &crate::auth::RequestContext,
    error: String,
) -> Result<Html<String>, AppError> {
    render(TaxonomyPage {
        page: Page::new(state, "事项分类").with(ctx),
        mappings: taxonomy::mappings(&state.db).await?,
        tags: taxonomy::all_tags(&state.db).await?,
        kinds: KINDS.iter().map(|(k, l, _)| (*k, *l)).collect(),
        fields: SOURCE_FIELDS.to_vec(),
        error,
    })
}

pub(crate) async fn taxonomy_view(
    State(state): State<AppState>,
    ctx: crate::auth::RequestContext,
) -> Result<Html<String>, AppError> {
    taxonomy_page(&state, &ctx, String::new()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct MappingForm {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    tag: String,
}

pub(crate) async fn add_mapping(
    State(state): State<AppState>,
    ctx: crate::auth::RequestContext,
    axum::Form(form): axum::Form<MappingForm>,
) -> Result<Response, AppError> {
    let result = taxonomy::add_mapping(&state.db, &ctx.actor(), &form.field, &form.value, &form.kind, &form.tag).await;
    after_post(result, "/admin/taxonomy", async |error| taxonomy_page(&state, &ctx, error).await).await
}

pub(crate) async fn remove_mapping(
    State(state): State<AppState>,
    ctx: crate::auth::RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Redirect, AppError> {
    taxonomy::remove_mapping(&state.db, &ctx.actor(), id).await?;
    Ok(Redirect::to("/admin/taxonomy"))
}
