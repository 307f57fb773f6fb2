//! The OpenAPI 3.1 document of the JSON API, generated from the handlers' annotations, and a
//! readable page of it for developers of department systems and the mobile app.

use crate::layout::Page;
use crate::state::AppState;
use crate::{AppError, calendar, health};
use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::response::Html;
use serde_json::Value;
use utoipa::OpenApi;

/// The API description. Every domain adds its paths here as it gains an API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "GovHall API",
        description = "网上政务服务大厅的开放接口：供移动端、微信公众号、部门业务系统调用。\
            错误一律返回 JSON，其中 code 为稳定的英文错误码，message 为中文说明。",
        license(name = "Apache-2.0"),
    ),
    paths(health::healthz, health::readyz, calendar::day, calendar::deadline, openapi_json, crate::messaging::receipts::sms_receipts,
        crate::identity::api::create_session, crate::identity::api::current, crate::identity::api::delete_current,
        crate::catalog::api::items, crate::catalog::api::item, crate::catalog::api::departments, crate::catalog::api::taxonomies,
        crate::search::api::search, crate::search::api::suggest,
        crate::cases::serials::issue, crate::cases::serials::parse,
        crate::cases::progress::api_query, crate::cases::progress::api_mine, crate::cases::progress::api_my_case,
        crate::cases::supplements::api_act, crate::cases::supplements::api_files, crate::cases::supplements::api_file,
        crate::booking::api::services, crate::booking::api::availability, crate::booking::api::book,
        crate::booking::api::cancel, crate::booking::api::mine,
        crate::applications::api::item_form, crate::applications::api::self_check, crate::applications::api::start,
        crate::applications::api::drafts, crate::applications::api::one, crate::applications::api::save,
        crate::applications::api::upload, crate::applications::api::delete_file, crate::applications::api::download,
        crate::applications::api::submit, crate::applications::api::discard,
        crate::applications::licence_api::usable, crate::applications::licence_api::use_one, crate::applications::licence_api::drop_one,
        crate::payments::api::notification, crate::payments::api::case_orders, crate::payments::api::order,
        crate::payments::api::start, crate::payments::api::receipt,
        crate::licences::api::verify, crate::licences::api::check, crate::licences::api::key, crate::licences::api::mine, crate::licences::api::pdf,
        crate::logistics::api::notification, crate::logistics::api::mine, crate::logistics::api::book_pickup,
        crate::library::api::libraries, crate::library::api::add, crate::library::api::download,
        crate::library::api::describe, crate::library::api::delete, crate::library::api::choices, crate::library::api::reuse,
        crate::messaging::inbox::api_list, crate::messaging::inbox::api_read_one, crate::messaging::inbox::api_read_all,
        crate::cases::tasks::api, crate::cases::statistics::api,
        crate::cases::projects::api_create, crate::cases::projects::api_dossier, crate::cases::projects::api_add_case, crate::identity::enterprise_api::mine, crate::identity::enterprise_api::update,
        crate::identity::phone::api_code, crate::identity::phone::api_change,
        crate::identity::addresses::api_list, crate::identity::addresses::api_create, crate::identity::addresses::api_update, crate::identity::addresses::api_delete,
        crate::payments::history::api, crate::space::api_home,
        crate::feedback::api::show, crate::feedback::api::submit, crate::feedback::api::rate_answer, crate::feedback::api::pending,
        crate::feedback::complaints_api::api_create, crate::feedback::complaints_api::api_mine, crate::feedback::complaints_api::api_one, crate::feedback::complaints_api::api_act,
        crate::feedback::complaints_api::api_file, crate::feedback::complaints_api::api_challenge,
        crate::feedback::complaints_api::api_code, crate::feedback::complaints_api::api_create_anonymous,
        crate::feedback::complaints_api::api_lookup, crate::feedback::complaints_api::api_act_by_password,
        crate::feedback::complaints_api::api_file_by_password,
        crate::exchange::api::pull, crate::exchange::api::ack, crate::exchange::api::file, crate::exchange::api::event, crate::exchange::api::events_batch,
        crate::exchange::register::register),
    tags(
        (name = "工作日历", description = "按国务院公布的节假日和调休安排计算工作日与办结期限"),
        (name = "消息中心", description = "短信服务商的送达回执回调"),
        (name = "账号", description = "登录获取访问令牌（Authorization: Bearer），查询当前账号，注销令牌，更换手机号码"),
        (name = "好差评", description = "办结办件的满意度评价（五级，整体和分项），修改一次，差评的整改回复和整改评价，待评价的办件"),
        (name = "投诉", description = "登录用户提交投诉（按对象和类别分派到承办部门），查看进度，补充情况，答复后申请重新办理或评价答复"),
        (name = "个人中心", description = "我的空间概览（待办、办件、缴费、消息、材料、证照的数量，企业的项目档案），常用地址，缴费记录"),
        (name = "事项目录", description = "事项、办事指南、实施部门和导航分类"),
        (name = "统一申办编号", description = "现场大厅和部门业务系统凭接入系统密钥（X-Api-Key）申请和解析全省统一申办编号"),
        (name = "办件", description = "凭申办编号和查询密码查询办件进度；登录用户查看自己的办件"),
        (name = "网上预约", description = "按服务大厅的时段规则和工作日历预约到场办理，取消，查看我的预约"),
        (name = "网上缴费", description = "办件的缴款单、发起缴费、查询缴费结果；财政支付网关的结果通知（签名验证）"),
        (name = "电子证照", description = "按证照标识核验电子证照的真伪和状态，获取签名公钥；登录用户查看和下载自己的电子证照"),
        (name = "统一物流", description = "办理结果快递送达：登录用户查看办件的快件和物流轨迹；快递公司的物流轨迹推送（签名验证）"),
        (name = "项目档案", description = "企业的投资项目档案：按阶段归入以企业名义申报的办件，补录批文，查看各阶段进展和下一步"),
        (name = "我的消息", description = "登录用户的站内消息：分页查看、未读条数、标为已读"),
        (name = "我的材料", description = "个人和企业材料库：提交过的材料自动保存，申报时从材料库选用（引用，不复制），上传、修改、删除材料"),
        (name = "搜索", description = "用日常说法、拼音、首字母或繁体搜索事项、部门和材料，带筛选、分面和输入提示"),
        (name = "部门系统对接", description = "部门业务系统凭接入系统密钥（X-Api-Key）和 HMAC-SM3 签名拉取本部门的新办件、下载材料、确认接收，回传受理、补正、办结、不予受理等办理过程和结果（幂等，可重放）"),
        (name = "运维", description = "存活与就绪探针"),
        (name = "接口文档", description = "本文档"),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document itself.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "接口文档", summary = "OpenAPI 文档",
    responses((status = 200, description = "OpenAPI 3.1 文档", content_type = "application/json")))]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

/// The document: the handlers' annotations plus the error answers every operation shares, so
/// that each operation declares every status it can answer (scripts/fuzz-api checks it):
/// 401 where the route needs a signed-in viewer, 404 where its path names a record, and 400, 415
/// and 422 where it reads a JSON body.
pub fn document() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{RefOr, Response};
    let mut doc = ApiDoc::openapi();
    let routes = crate::routes::route_table();
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [("GET", &mut item.get), ("POST", &mut item.post), ("DELETE", &mut item.delete)];
        for (method, operation) in operations {
            let Some(operation) = operation.as_mut() else { continue };
            let signed_in =
                routes.iter().any(|r| r.method == method && r.path == path && r.guard == crate::auth::Guard::SignedIn);
            let json_body = operation.request_body.as_ref().is_some_and(|body| match body {
                RefOr::T(body) => body.content.keys().any(|c| c == "application/json"),
                RefOr::Ref(_) => true,
            });
            let mut shared: Vec<(&str, &str)> = Vec::new();
            if signed_in {
                shared.push(("401", "未登录或访问令牌无效、已过期：unauthenticated"));
            }
            if path.contains('{') {
                shared.push(("404", "路径所指的记录不存在或您无权查看：not_found 或 *_not_found"));
            }
            if json_body {
                shared.push(("400", "请求体不是有效的 JSON：invalid_json"));
                shared.push(("415", "请求体应为 JSON（Content-Type: application/json）：unsupported_media_type"));
                shared.push(("422", "请求体缺少字段或字段类型不符：invalid_body"));
            }
            for (status, description) in shared {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::T(Response::new(description)));
            }
        }
    }
    doc
}

struct OperationView {
    method: String,
    path: String,
    summary: String,
    description: String,
    params: Vec<(String, String, bool, String)>,
    responses: Vec<(String, String)>,
}

struct TagView {
    name: String,
    description: String,
    operations: Vec<OperationView>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct ApiDocsPage {
    page: Page,
    version: String,
    description: String,
    tags: Vec<TagView>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// `GET /docs/api`: the API described for people, rendered on the server from the same document.
pub(crate) async fn docs_page(State(state): State<AppState>) -> Result<Html<String>, AppError> {
    let doc = serde_json::to_value(document()).map_err(AppError::internal)?;
    let mut tags: Vec<TagView> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| TagView { name: text(t, "name"), description: text(t, "description"), operations: Vec::new() })
        .collect();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let tag = op["tags"].get(0).and_then(Value::as_str).unwrap_or_default();
            let params = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    (text(p, "name"), text(p, "in"), p["required"].as_bool().unwrap_or(false), text(p, "description"))
                })
                .collect();
            let responses = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, r)| (status.clone(), text(r, "description")))
                .collect();
            let view = OperationView {
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text(op, "summary"),
                description: text(op, "description"),
                params,
                responses,
            };
            match tags.iter_mut().find(|t| t.name == tag) {
                Some(t) => t.operations.push(view),
                None => tags.push(TagView { name: tag.to_owned(), description: String::new(), operations: vec![view] }),
            }
        }
    }
    tags.retain(|t| !t.operations.is_empty());
    let page = ApiDocsPage {
        page: Page::new(&state, "开放接口文档"),
        version: text(&doc["info"], "version"),
        description: text(&doc["info"], "description"),
        tags,
    };
    Ok(Html(page.render().map_err(AppError::internal)?))
}
