//! The licences API: public verification by identifier and the registry's public key (for
//! anyone who checks licences, and for departments' systems), and for the mobile app the
//! holder's licences and their printouts.

use crate::AppError;
use crate::auth::SignedIn;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_core::clock::china_date;
use govhall_licences::{Licence, Verdict};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// 证照核验结果。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerificationOut {
    /// malformed 标识格式不正确、not_found 未查询到、tampered 数据与签名不符、unknown_key 签名密钥无法识别、genuine 签名验证通过
    verdict: String,
    /// 中文说明
    message: String,
    /// 签名验证通过且今天有效
    usable: bool,
    /// 签名验证通过时的证照信息（持证主体已脱敏）
    licence: Option<ShownOut>,
}

/// 核验所见的证照信息。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ShownOut {
    /// 证照标识
    identifier: String,
    /// 证照类型
    type_name: String,
    /// 证照编号
    number: String,
    /// person 个人、enterprise 企业
    holder_kind: String,
    /// 持证主体名称（个人姓名脱敏）
    holder_name: String,
    /// 身份证号码或统一社会信用代码（脱敏）
    holder_number: String,
    /// 颁发机构
    issuer_name: String,
    /// 有效期
    validity: String,
    /// valid 有效、not_yet_valid 尚未生效、expired 已过期、revoked 已注销
    status: String,
    /// 状态（中文）
    status_label: String,
    /// 注销原因
    revoked_reason: String,
    /// 换发后的新证照标识（已换发时）
    replaced_by: Option<String>,
}

fn json_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[utoipa::path(get, path = "/api/v1/licence-verifications/{identifier}", tag = "电子证照", summary = "核验电子证照",
    description = "按证照标识（证照上二维码所含地址的最后一段）核验：证照是否存在、数据是否仍与颁发机构的 SM2 签名相符、今天是否有效。\
        持证主体只以脱敏形式返回。",
    params(("identifier" = String, Path, description = "证照标识，如 1.2.156.3005.2.L001.11370000MB285591XU.2026000001.001.X")),
    responses((status = 200, description = "核验结果（verdict 为 genuine、tampered 或 unknown_key）", body = VerificationOut),
        (status = 400, description = "标识格式不正确：verdict 为 malformed", body = VerificationOut),
        (status = 404, description = "未查询到：verdict 为 not_found", body = VerificationOut)))]
pub(crate) async fn verify(
    State(state): State<AppState>,
    Path(identifier): Path<String>,
) -> Result<Response, AppError> {
    answer(state.licences.verify(&identifier).await?)
}

/// 核验请求。
#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct CheckIn {
    /// 证照标识（或证照二维码的内容：核验地址，取其最后一段）
    identifier: String,
}

#[utoipa::path(post, path = "/api/v1/licence-checks", tag = "电子证照", summary = "核验电子证照（提交标识或二维码内容）",
    description = "与 GET /api/v1/licence-verifications/{identifier} 相同，标识放在请求体中；也接受扫描证照二维码所得的核验地址。\
        也可以 multipart/form-data 上传电子证照 PDF（字段 file，不超过 10 MB）：按文件中记录的证照标识核验，结果以登记的证照为准；\
        不是本大厅签发的 PDF 时返回 400 invalid_input。",
    request_body = CheckIn,
    responses((status = 200, description = "核验结果（verdict 为 genuine、tampered 或 unknown_key）", body = VerificationOut),
        (status = 400, description = "标识格式不正确：verdict 为 malformed", body = VerificationOut),
        (status = 404, description = "未查询到：verdict 为 not_found", body = VerificationOut)))]
pub(crate) async fn check(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, AppError> {
    use axum::extract::FromRequest;
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        let parts = axum::extract::Multipart::from_request(request, &state)
            .await
            .map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_upload", "上传的内容无法读取"))?;
        let bytes = super::pages::uploaded_pdf(parts).await?;
        let v = state.licences.verify_pdf(&bytes).await?;
        return answer(v);
    }
    let Json(body) = Json::<CheckIn>::from_request(request, &state)
        .await
        .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("请求体应为 JSON：{e}")))?;
    // A scanned QR code gives the verification address: its last segment is the identifier.
    let text = body.identifier.trim();
    let identifier = text.rsplit_once("/verify/").map_or(text, |(_, id)| id);
    answer(state.licences.verify(identifier).await?)
}

fn answer(v: govhall_licences::Verification) -> Result<Response, AppError> {
    let status = match v.verdict {
        Verdict::Malformed => StatusCode::BAD_REQUEST,
        Verdict::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    let out = VerificationOut {
        verdict: json_name(&v.verdict),
        message: v.message.to_owned(),
        usable: v.usable,
        licence: v.licence.map(|s| ShownOut {
            identifier: s.identifier,
            type_name: s.type_name,
            number: s.number,
            holder_kind: s.holder_kind.as_str().to_owned(),
            holder_name: s.holder_name,
            holder_number: s.holder_number,
            issuer_name: s.issuer_name,
            validity: s.validity,
            status: json_name(&s.status),
            status_label: s.status_label.to_owned(),
            revoked_reason: s.revoked_reason,
            replaced_by: s.replaced_by,
        }),
    };
    let mut response = (status, Json(out)).into_response();
    // The verdict is the answer, whatever the status: keep it.
    response.extensions_mut().insert(crate::error::KeepBody);
    Ok(response)
}

/// 证照签名公钥。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyOut {
    /// 密钥标识（公钥 SM3 摘要的前 16 位十六进制）
    key_id: String,
    /// 签名算法
    algorithm: String,
    /// SM2 用户身份标识（ID）
    sm2_id: String,
    /// 被签名内容的格式名称
    format: String,
    /// 公钥（PEM）
    public_key_pem: String,
    /// 本大厅用过的全部签名密钥（含轮换前的旧密钥；已停用的密钥所签证照不再可信）
    keys: Vec<KnownKeyOut>,
}

/// 签名密钥。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KnownKeyOut {
    /// 密钥标识
    key_id: String,
    /// SM2 用户身份标识（ID）
    sm2_id: String,
    /// 公钥（PEM）
    public_key_pem: String,
    /// 启用时间
    first_seen: DateTime<Utc>,
    /// 停用时间（密钥泄露等）
    withdrawn_at: Option<DateTime<Utc>>,
    /// 停用原因
    withdrawn_reason: String,
}

#[utoipa::path(get, path = "/api/v1/licence-key", tag = "电子证照", summary = "证照签名公钥",
    description = "离线核验证照签名所需的 SM2 公钥：当前签名密钥，以及轮换前用过的全部密钥（证照的 key_id 指明用哪一个）。\
        签名值为 r‖s 的十六进制，被签名内容为证照规范化 JSON（format 所示格式）。",
    responses((status = 200, description = "公钥", body = KeyOut)))]
pub(crate) async fn key(State(state): State<AppState>) -> Result<Json<KeyOut>, AppError> {
    let key = state.licences.key();
    let keys = state
        .licences
        .known_keys()
        .await?
        .into_iter()
        .map(|k| KnownKeyOut {
            key_id: k.key_id,
            sm2_id: k.distid,
            public_key_pem: k.public_pem,
            first_seen: k.first_seen,
            withdrawn_at: k.withdrawn_at,
            withdrawn_reason: k.withdrawn_reason,
        })
        .collect();
    Ok(Json(KeyOut {
        key_id: key.id().to_owned(),
        algorithm: "SM2-with-SM3".into(),
        sm2_id: key.distid().to_owned(),
        format: govhall_licences::signing::FORMAT.into(),
        public_key_pem: key.public_pem().to_owned(),
        keys,
    }))
}

/// 我的电子证照。
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LicenceOut {
    /// 证照 id
    id: Uuid,
    /// 证照标识
    identifier: String,
    /// 证照类型
    type_name: String,
    /// 证照编号
    number: String,
    /// 持证主体名称
    holder_name: String,
    /// 颁发机构
    issuer_name: String,
    /// 有效期起
    valid_from: NaiveDate,
    /// 有效期止（空：长期有效）
    valid_until: Option<NaiveDate>,
    /// valid 有效、not_yet_valid 尚未生效、expired 已过期、revoked 已注销
    status: String,
    /// 状态（中文）
    status_label: String,
    /// 证照信息：[名称, 值]
    fields: Vec<(String, String)>,
    /// 签发时间
    issued_at: DateTime<Utc>,
    /// 公开核验地址（即二维码内容）
    verify_url: String,
}

fn out(state: &AppState, l: Licence, today: NaiveDate) -> LicenceOut {
    let status = l.status_on(today);
    LicenceOut {
        id: l.id.as_uuid(),
        verify_url: state.licences.verify_url(&l.identifier),
        identifier: l.identifier,
        type_name: l.type_name,
        number: l.number,
        holder_name: l.holder_name,
        issuer_name: l.issuer_name,
        valid_from: l.valid_from,
        valid_until: l.valid_until,
        status: json_name(&status),
        status_label: status.label().to_owned(),
        fields: l.fields.into_iter().map(|(_, label, value)| (label, value)).collect(),
        issued_at: l.issued_at,
    }
}

#[utoipa::path(get, path = "/api/v1/me/licences", tag = "电子证照", summary = "我的电子证照",
    description = "本人的电子证照，以及本人为在职成员的企业的电子证照，新签发的在前。",
    responses((status = 200, description = "证照列表", body = [LicenceOut])))]
pub(crate) async fn mine(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
) -> Result<Json<Vec<LicenceOut>>, AppError> {
    let today = china_date(state.db.now());
    let all = state.licences.mine(viewer.account.id).await?;
    Ok(Json(all.into_iter().map(|l| out(&state, l, today)).collect()))
}

#[utoipa::path(get, path = "/api/v1/me/licences/{id}/licence.pdf", tag = "电子证照", summary = "下载电子证照（PDF）",
    params(("id" = Uuid, Path, description = "证照 id")),
    responses((status = 200, description = "PDF", content_type = "application/pdf", body = Vec<u8>)))]
pub(crate) async fn pdf(state: State<AppState>, viewer: SignedIn, id: Path<String>) -> Result<Response, AppError> {
    // The same printout as the page's link (a bearer token signs in as a cookie does).
    super::pages::pdf(state, viewer, id).await
}
