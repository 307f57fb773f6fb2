//! The applicant's pages: the self-check, starting an application, the task list, a section
//! of the form, check answers, submission and its confirmation, the printouts.

use super::fields::{self, FieldView};
use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_applications::ApplicationId;
use govhall_applications::drafts::Scope;
use govhall_applications::model::Workspace;
use govhall_catalog::form::{FieldError, Outcome, delivery};
use govhall_identity::{AccountId, EnterpriseId};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

/// A typed id from a path (a malformed one answers like a missing page).
pub(super) fn id_of<T: std::str::FromStr>(s: &str) -> Result<T, AppError> {
    s.parse().map_err(|_| AppError::not_found())
}

pub(super) fn me(viewer: &crate::auth::Viewer) -> AccountId {
    viewer.account.id
}

async fn published(state: &AppState, code: &str) -> Result<Arc<govhall_catalog::store::Guide>, AppError> {
    state.catalog.guide(code).await?.ok_or_else(AppError::not_found)
}

// ---- The self-check ---------------------------------------------------------------------

/// A question: key, text, help, options with whether chosen.
type Question = (String, String, String, Vec<(String, bool)>);

#[derive(Template)]
#[template(path = "applications/self_check.html")]
struct SelfCheckPage {
    page: Page,
    code: String,
    name: String,
    online_apply: bool,
    questions: Vec<Question>,
    missing: Vec<String>,
    outcome: String,
    reason: String,
    instead: String,
}

fn self_check_page(
    page: Page,
    guide: &govhall_catalog::store::Guide,
    answers: &BTreeMap<String, String>,
    outcome: Option<Outcome>,
) -> SelfCheckPage {
    let check = guide.content.self_check();
    let (mut kind, mut reason, mut instead, mut missing) = (String::new(), String::new(), String::new(), Vec::new());
    match outcome {
        Some(Outcome::Eligible) => kind = "eligible".into(),
        Some(Outcome::Ineligible { reason: r, instead: i }) => (kind, reason, instead) = ("ineligible".into(), r, i),
        Some(Outcome::Unanswered { questions }) => missing = questions,
        None => {}
    }
    SelfCheckPage {
        page,
        code: guide.item.code.clone(),
        name: guide.item.name.clone(),
        online_apply: guide.content.online_apply,
        questions: check
            .questions
            .iter()
            .map(|q| {
                let chosen = answers.get(&q.key).cloned().unwrap_or_default();
                let options = q.options.iter().map(|o| (o.clone(), *o == chosen)).collect();
                (q.key.clone(), q.text.clone(), q.help.clone(), options)
            })
            .collect(),
        missing,
        outcome: kind,
        reason,
        instead,
    }
}

pub(crate) async fn self_check_form(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    let guide = published(&state, &code).await?;
    let page = Page::new(&state, &format!("条件自检：{}", guide.item.name)).with(&ctx);
    render(self_check_page(page, &guide, &BTreeMap::new(), None))
}

pub(crate) async fn self_check(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(code): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let guide = published(&state, &code).await?;
    let answers: BTreeMap<String, String> =
        pairs.into_iter().filter_map(|(k, v)| k.strip_prefix("q.").map(|k| (k.to_owned(), v))).collect();
    let outcome = guide.content.self_check().decide(&answers);
    let status =
        if matches!(outcome, Outcome::Unanswered { .. }) { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let page = Page::new(&state, &format!("条件自检：{}", guide.item.name)).with(&ctx);
    Ok(with_status(status, render(self_check_page(page, &guide, &answers, Some(outcome)))?))
}

// ---- Starting -----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "applications/start.html")]
struct StartPage {
    page: Page,
    code: String,
    name: String,
    online_apply: bool,
    signed_in: bool,
    is_person: bool,
    enterprises: Vec<(Uuid, String)>,
    materials: Vec<String>,
    error: String,
    /// The viewer's open draft of this item: its id and "已完成 x/y".
    draft: Option<(ApplicationId, String)>,
}

async fn start_page(
    state: &AppState,
    ctx: &RequestContext,
    code: &str,
    error: String,
) -> Result<Html<String>, AppError> {
    let guide = published(state, code).await?;
    let mut draft = None;
    if let Some(v) = ctx.viewer.as_ref().filter(|v| v.account.kind == govhall_identity::AccountKind::Person) {
        let drafts = state.applications.drafts(v.account.id).await?;
        draft = drafts
            .into_iter()
            .find(|d| d.application.item_code == guide.item.code && d.application.enterprise_id.is_none())
            .map(|d| (d.application.id, format!("已完成 {}/{}", d.done, d.total)));
    }
    let (signed_in, is_person, enterprises) = match &ctx.viewer {
        Some(v) => {
            let person = v.account.kind == govhall_identity::AccountKind::Person;
            let memberships = if person { state.identity.memberships_of(v.account.id).await? } else { Vec::new() };
            let active =
                memberships.into_iter().filter(|m| m.status == "active").map(|m| (m.enterprise_id, m.enterprise_name));
            (true, person, active.collect())
        }
        None => (false, false, Vec::new()),
    };
    render(StartPage {
        page: Page::new(state, &format!("在线申报：{}", guide.item.name)).with(ctx),
        code: guide.item.code.clone(),
        name: guide.item.name.clone(),
        online_apply: guide.content.online_apply,
        signed_in,
        is_person,
        enterprises,
        materials: guide.content.materials.iter().map(|m| m.name.clone()).collect(),
        error,
        draft,
    })
}

pub(crate) async fn start_form(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    start_page(&state, &ctx, &code, String::new()).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct StartForm {
    #[serde(default)]
    enterprise: String,
}

pub(crate) async fn start(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
    axum::Form(form): axum::Form<StartForm>,
) -> Result<Response, AppError> {
    let enterprise = match form.enterprise.trim() {
        "" => None,
        e => Some(
            e.parse::<EnterpriseId>()
                .map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input", "企业选择有误"))?,
        ),
    };
    match state.applications.start(me(&viewer), &code, enterprise).await {
        Ok((id, _)) => Ok(Redirect::to(&format!("/applications/{id}")).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, start_page(&state, &ctx, &code, error).await?))
        }
    }
}

// ---- The task list ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "applications/tasks.html")]
struct TasksPage {
    page: Page,
    w: Workspace,
    done: usize,
    total: usize,
    links: Vec<String>,
    purge_on: String,
    notice: String,
}

pub(crate) async fn tasks(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let w = state.applications.workspace(me(&viewer), id).await?;
    if !w.application.is_draft() {
        return Ok(Redirect::to(&format!("/applications/{id}/done")).into_response());
    }
    let (done, total) = w.progress();
    let links = w
        .tasks
        .iter()
        .map(|t| match t.key.strip_prefix("section:") {
            Some(key) => format!("/applications/{id}/sections/{key}"),
            None => format!("/applications/{id}/materials"),
        })
        .collect();
    let purge_on = w.application.updated_at + chrono::Duration::days(state.applications.settings().draft_days);
    let notice = match q.get("saved").map(String::as_str) {
        Some("1") => "已暂存。您可以随时从“我的办件”继续填写。".to_owned(),
        _ => String::new(),
    };
    Ok(render(TasksPage {
        page: Page::new(&state, &format!("在线申报：{}", w.application.item_name)).with(&ctx),
        done,
        total,
        links,
        purge_on: govhall_core::clock::china_date(purge_on).format("%Y年%m月%d日").to_string(),
        notice,
        w,
    })?
    .into_response())
}

// ---- A section of the form -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "applications/section.html")]
struct SectionPage {
    page: Page,
    id: ApplicationId,
    item_name: String,
    section_key: String,
    title: String,
    fields: Vec<FieldView>,
    errors: Vec<(String, String)>,
    brought_from: String,
    step: String,
    /// The applicant's address book (id, how it reads), offered in the delivery section.
    addresses: Vec<(String, String)>,
}

/// The applicant's addresses, when `key` is the delivery section.
async fn address_choices(state: &AppState, applicant: AccountId, key: &str) -> Result<Vec<(String, String)>, AppError> {
    if key != delivery::SECTION {
        return Ok(Vec::new());
    }
    Ok(state
        .identity
        .addresses(applicant)
        .await?
        .into_iter()
        .map(|a| {
            let name = if a.input.label.is_empty() { String::new() } else { format!("【{}】", a.input.label) };
            (a.id.to_string(), format!("{name}{} {}", a.input.recipient, a.line()))
        })
        .collect())
}

/// The delivery answers taken from one of the applicant's addresses (another's: not found).
async fn from_address_book(
    state: &AppState,
    applicant: AccountId,
    pairs: &[(String, String)],
    answers: &mut govhall_catalog::form::Answers,
) -> Result<(), AppError> {
    let chosen = pairs.iter().find(|(k, _)| k == "address_book").map(|(_, v)| v.as_str()).unwrap_or_default();
    let id = Uuid::parse_str(chosen).map_err(|_| AppError::not_found())?;
    let a = state.identity.address(applicant, id).await?.input;
    let text = |v: &str| serde_json::Value::String(v.to_owned());
    answers.insert(delivery::METHOD.into(), text(delivery::COURIER));
    answers.insert(delivery::RECIPIENT.into(), text(&a.recipient));
    answers.insert(delivery::PHONE.into(), text(&a.phone));
    answers.insert(
        delivery::ADDRESS.into(),
        serde_json::json!({ "province": a.province, "city": a.city, "county": a.county, "street": a.street }),
    );
    Ok(())
}

fn section_page(
    state: &AppState,
    ctx: &RequestContext,
    w: &Workspace,
    key: &str,
    errors: Vec<FieldError>,
    addresses: Vec<(String, String)>,
) -> Result<Html<String>, AppError> {
    let section = w.form.section(key).ok_or_else(AppError::not_found)?;
    let position = w.form.sections.iter().position(|s| s.key == key).unwrap_or(0);
    let fields =
        fields::views(&w.form, section, &w.application.answers, &errors, &w.locked, state.applications.regions());
    render(SectionPage {
        page: Page::new(state, &format!("{}：{}", section.title, w.application.item_name))
            .with(ctx)
            .with_forms_script(),
        id: w.application.id,
        item_name: w.application.item_name.clone(),
        section_key: key.to_owned(),
        title: section.title.clone(),
        fields,
        errors: errors
            .iter()
            .map(|e| {
                (
                    format!("field-f-{}", e.key.split('.').next().unwrap_or_default()),
                    format!("{}：{}", e.label, e.message),
                )
            })
            .collect(),
        brought_from: w.application.brought_from.clone().unwrap_or_default(),
        step: format!("第 {} 部分，共 {} 部分", position + 1, w.form.sections.len()),
        addresses,
    })
}

pub(crate) async fn section_form(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let w = state.applications.workspace(me(&viewer), id_of(&id)?).await?;
    if !w.application.is_draft() {
        // Submitted: its confirmation, where the printouts are.
        return Ok(Redirect::to(&format!("/applications/{}/done", w.application.id)).into_response());
    }
    let addresses = address_choices(&state, me(&viewer), &key).await?;
    Ok(section_page(&state, &ctx, &w, &key, Vec::new(), addresses)?.into_response())
}

pub(crate) async fn section_save(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path((id, key)): Path<(String, String)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let id = id_of(&id)?;
    let applicant = me(&viewer);
    let before = state.applications.workspace(applicant, id).await?;
    let section = before.form.section(&key).ok_or_else(AppError::not_found)?.clone();
    let mut answers = fields::parse_section(&section, &pairs);
    let action = pairs.iter().find(|(k, _)| k == "action").map_or("continue", |(_, v)| v.as_str());
    if action == "use_address" && key == delivery::SECTION {
        from_address_book(&state, applicant, &pairs, &mut answers).await?;
    }
    fields::tidy_addresses(&section, &mut answers, state.applications.regions());
    let errors = state.applications.save(applicant, id, Scope::Section(&key), &answers).await?;
    match action {
        // Saved as it is: back to the task list.
        "save" => Ok(Redirect::to(&format!("/applications/{id}?saved=1")).into_response()),
        // The address's choices under a newly chosen province or city; or an address filled in
        // from the address book, to check before going on.
        "refresh" | "use_address" => {
            let w = state.applications.workspace(applicant, id).await?;
            let addresses = address_choices(&state, applicant, &key).await?;
            Ok(section_page(&state, &ctx, &w, &key, Vec::new(), addresses)?.into_response())
        }
        _ if !errors.is_empty() => {
            let w = state.applications.workspace(applicant, id).await?;
            let addresses = address_choices(&state, applicant, &key).await?;
            Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, section_page(&state, &ctx, &w, &key, errors, addresses)?))
        }
        _ => {
            let next = before
                .form
                .sections
                .iter()
                .skip_while(|s| s.key != key)
                .nth(1)
                .map(|s| format!("/applications/{id}/sections/{}", s.key));
            let to = next.unwrap_or_else(|| {
                if before.slots.is_empty() {
                    format!("/applications/{id}/check")
                } else {
                    format!("/applications/{id}/materials")
                }
            });
            Ok(Redirect::to(&to).into_response())
        }
    }
}
