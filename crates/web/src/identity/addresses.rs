//! 常用地址: a person's address book for courier delivery (page and API). The division pickers
//! work without JavaScript: 更新地区选项 posts the form back with the next level's choices.

use crate::AppError;
use crate::auth::{SignedIn, Viewer};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use govhall_identity::addresses::{Address, AddressInput, MAX_ADDRESSES};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

type Choices = Vec<(String, String, bool)>;

#[derive(Template)]
#[template(path = "identity/addresses.html")]
struct AddressesPage {
    page: Page,
    addresses: Vec<Row>,
    /// The address being changed, if any.
    editing: Option<String>,
    form: AddressInput,
    provinces: Choices,
    cities: Choices,
    counties: Choices,
    max: i64,
    error: String,
    notice: &'static str,
}

struct Row {
    id: String,
    label: String,
    recipient: String,
    phone: String,
    line: String,
    is_default: bool,
}

fn masked(phone: &str) -> String {
    match (phone.get(..3), phone.get(7..)) {
        (Some(head), Some(tail)) => format!("{head}****{tail}"),
        _ => phone.to_owned(),
    }
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    page: Page,
    editing: Option<Uuid>,
    form: AddressInput,
    error: String,
    notice: &'static str,
) -> Result<Html<String>, AppError> {
    let addresses = state.identity.addresses(viewer.account.id).await?;
    let regions = state.applications.regions();
    let choices = |parent: Option<&str>, chosen: &str| -> Choices {
        regions.children(parent).into_iter().map(|r| (r.code.clone(), r.full_name.clone(), r.code == chosen)).collect()
    };
    let provinces = choices(None, &form.province);
    let cities = if form.province.is_empty() { Vec::new() } else { choices(Some(&form.province), &form.city) };
    let counties = if form.city.is_empty() { Vec::new() } else { choices(Some(&form.city), &form.county) };
    render(AddressesPage {
        page,
        addresses: addresses
            .iter()
            .map(|a| Row {
                id: a.id.to_string(),
                label: a.input.label.clone(),
                recipient: a.input.recipient.clone(),
                phone: masked(&a.input.phone),
                line: a.line(),
                is_default: a.input.is_default,
            })
            .collect(),
        editing: editing.map(|id| id.to_string()),
        form,
        provinces,
        cities,
        counties,
        max: MAX_ADDRESSES,
        error,
        notice,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct ShowQuery {
    edit: Option<Uuid>,
    done: Option<String>,
}

pub(crate) async fn show(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    let form = match q.edit {
        Some(id) => state.identity.address(viewer.account.id, id).await?.input,
        None => AddressInput::default(),
    };
    let notice = match q.done.as_deref() {
        Some("saved") => "地址已保存",
        Some("deleted") => "地址已删除",
        _ => "",
    };
    let p = Page::new(&state, "常用地址").with(&ctx);
    Ok(page(&state, &viewer, p, q.edit, form, String::new(), notice).await?.into_response())
}

/// The form as posted: the address, and whether to save it or only refresh the pickers.
#[derive(Debug, Deserialize)]
pub(crate) struct AddressForm {
    #[serde(default)]
    action: String,
    #[serde(flatten)]
    input: AddressInput,
    /// A ticked box sends `on`.
    #[serde(default)]
    default: Option<String>,
}

async fn save(
    state: AppState,
    viewer: Viewer,
    ctx: crate::auth::RequestContext,
    id: Option<Uuid>,
    mut form: AddressForm,
) -> Result<Response, AppError> {
    form.input.is_default = form.default.is_some();
    let p = Page::new(&state, "常用地址").with(&ctx);
    if form.action == "refresh" {
        return Ok(page(&state, &viewer, p, id, form.input, String::new(), "").await?.into_response());
    }
    match state.identity.save_address(&ctx.actor(), viewer.account.id, id, &form.input).await {
        Ok(_) => Ok(Redirect::to("/account/addresses?done=saved").into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, page(&state, &viewer, p, id, form.input, error, "").await?))
        }
    }
}

pub(crate) async fn create(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Form(form): Form<AddressForm>,
) -> Result<Response, AppError> {
    save(state, viewer, ctx, None, form).await
}

pub(crate) async fn update(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
    Form(form): Form<AddressForm>,
) -> Result<Response, AppError> {
    // Another's address answers as missing before anything is shown back.
    state.identity.address(viewer.account.id, id).await?;
    save(state, viewer, ctx, Some(id), form).await
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    state.identity.delete_address(&ctx.actor(), viewer.account.id, id).await?;
    Ok(Redirect::to("/account/addresses?done=deleted").into_response())
}

/// 常用地址（快递送达时使用）。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AddressOut {
    id: Uuid,
    /// 地址名称（家、公司），可为空
    label: String,
    /// 收件人
    recipient: String,
    /// 收件人手机号码
    phone: String,
    /// 省份区划代码
    province: String,
    /// 城市区划代码
    city: String,
    /// 区县区划代码，可为空
    county: String,
    /// 街道、门牌号
    street: String,
    /// 省市区名称
    place: String,
    /// 是否默认地址
    is_default: bool,
}

impl From<Address> for AddressOut {
    fn from(a: Address) -> Self {
        let i = a.input;
        AddressOut {
            id: a.id,
            label: i.label,
            recipient: i.recipient,
            phone: i.phone,
            province: i.province,
            city: i.city,
            county: i.county,
            street: i.street,
            place: a.place,
            is_default: i.is_default,
        }
    }
}

/// 新增或修改的地址。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AddressIn {
    #[serde(default)]
    label: String,
    recipient: String,
    phone: String,
    province: String,
    city: String,
    #[serde(default)]
    county: String,
    street: String,
    #[serde(default)]
    is_default: bool,
}

impl From<AddressIn> for AddressInput {
    fn from(a: AddressIn) -> Self {
        AddressInput {
            label: a.label,
            recipient: a.recipient,
            phone: a.phone,
            province: a.province,
            city: a.city,
            county: a.county,
            street: a.street,
            is_default: a.is_default,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/me/addresses", tag = "个人中心",
    summary = "我的常用地址",
    description = "默认地址在前；号码不打码（只有本人能读）。",
    responses((status = 200, description = "地址列表", body = [AddressOut])))]
pub(crate) async fn api_list(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
) -> Result<Json<Vec<AddressOut>>, AppError> {
    Ok(Json(state.identity.addresses(viewer.account.id).await?.into_iter().map(AddressOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/me/addresses", tag = "个人中心",
    summary = "新增常用地址",
    description = "每人最多 20 个；第一个地址自动成为默认地址，is_default 为 true 的地址取代原默认地址。",
    request_body = AddressIn,
    responses(
        (status = 201, description = "已保存", body = AddressOut),
        (status = 422, description = "填写有误：invalid_recipient、invalid_phone、invalid_province、invalid_city、invalid_county、invalid_street、too_many_addresses"),
    ))]
pub(crate) async fn api_create(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Json(body): Json<AddressIn>,
) -> Result<Response, AppError> {
    let saved = state.identity.save_address(&ctx.actor(), viewer.account.id, None, &body.into()).await?;
    Ok((StatusCode::CREATED, Json(AddressOut::from(saved))).into_response())
}

#[utoipa::path(post, path = "/api/v1/me/addresses/{id}", tag = "个人中心",
    summary = "修改常用地址",
    params(("id" = Uuid, Path, description = "地址 id")), request_body = AddressIn,
    responses(
        (status = 200, description = "已修改", body = AddressOut),
        (status = 404, description = "地址不存在：not_found"),
        (status = 422, description = "填写有误"),
    ))]
pub(crate) async fn api_update(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
    Json(body): Json<AddressIn>,
) -> Result<Json<AddressOut>, AppError> {
    let saved = state.identity.save_address(&ctx.actor(), viewer.account.id, Some(id), &body.into()).await?;
    Ok(Json(saved.into()))
}

#[utoipa::path(delete, path = "/api/v1/me/addresses/{id}", tag = "个人中心",
    summary = "删除常用地址",
    description = "删除默认地址时，最近修改的另一个地址成为默认地址。",
    params(("id" = Uuid, Path, description = "地址 id")),
    responses((status = 204, description = "已删除"), (status = 404, description = "地址不存在：not_found")))]
pub(crate) async fn api_delete(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    state.identity.delete_address(&ctx.actor(), viewer.account.id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
