//! 投诉 for people: making a complaint (signed in, or with a mobile number and an SMS code), the
//! number and query password shown once, following it (我的投诉, or by number and password),
//! adding information, reopening, rating the answer; the published complaints. The API is in
//! [`super::complaints_api`].

use super::upload::form_with_files;
use crate::AppError;
use crate::auth::{RequestContext, SignedIn};
use crate::html::{form_error, render, time, with_status};
use crate::identity::register::code_request;
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, Request, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_cases::files::NewFile;
use govhall_feedback::FeedbackError;
use govhall_feedback::attachments::{Attachment, Owner};
use govhall_feedback::complaints::publish::Published;
use govhall_feedback::complaints::{CATEGORIES, Complainant, Complaint, FollowUp, NewComplaint, Subject, Via};
use govhall_identity::codes::Challenge;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ComplaintForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    subject_ref: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    publishable: Option<String>,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    proof: String,
}

pub(crate) fn subject_of(s: &str) -> Subject {
    match s {
        "department" => Subject::Department,
        "case" => Subject::Case,
        "hall" => Subject::Hall,
        _ => Subject::Item,
    }
}

#[derive(Template)]
#[template(path = "feedback/complaint_new.html")]
struct NewPage {
    page: Page,
    form: ComplaintForm,
    subjects: Vec<(&'static str, &'static str, bool)>,
    categories: Vec<(&'static str, bool)>,
    signed_in: bool,
    challenge: Option<Challenge>,
    error: String,
    notice: &'static str,
}

fn new_page(
    state: &AppState,
    ctx: &RequestContext,
    form: ComplaintForm,
    challenge: Option<Challenge>,
    error: String,
    notice: &'static str,
) -> Result<Html<String>, AppError> {
    let mut page = Page::new(state, "投诉").with(ctx);
    if challenge.is_some() {
        page = page.with_challenge_script();
    }
    let chosen = if form.subject.is_empty() { "item" } else { form.subject.as_str() };
    render(NewPage {
        page,
        subjects: [("item", "事项"), ("department", "部门"), ("case", "我的办件"), ("hall", "服务大厅")]
            .into_iter()
            .map(|(k, l)| (k, l, k == chosen))
            .collect(),
        categories: CATEGORIES.iter().map(|c| (*c, form.category == *c)).collect(),
        signed_in: ctx.viewer.is_some(),
        form,
        challenge,
        error,
        notice,
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewQuery {
    #[serde(default)]
    subject: String,
    #[serde(default, rename = "ref")]
    reference: String,
}

pub(crate) async fn new(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<NewQuery>,
) -> Result<Html<String>, AppError> {
    let form = ComplaintForm { subject: q.subject, subject_ref: q.reference, ..ComplaintForm::default() };
    new_page(&state, &ctx, form, None, String::new(), "")
}

#[derive(Template)]
#[template(path = "feedback/complaint_made.html")]
struct MadePage {
    page: Page,
    number: String,
    password: String,
    department: String,
    signed_in: bool,
}

/// 提交投诉 (or 获取验证码): a plain form, or multipart with files (its CSRF token in its address).
pub(crate) async fn create(
    State(state): State<AppState>,
    ctx: RequestContext,
    request: Request,
) -> Result<Response, AppError> {
    let (mut form, files) = form_with_files::<ComplaintForm>(&state, request).await?;
    let had_files = !files.is_empty();
    let result = if form.action == "send_code" {
        let request = code_request(&ctx, &form.proof);
        state.feedback.send_complaint_code(&form.phone, &request).await.map(|()| None)
    } else {
        let who = match &ctx.viewer {
            Some(v) => Complainant::Account(v.account.id),
            None => Complainant::Phone { phone: form.phone.clone(), code: form.code.clone() },
        };
        let new = NewComplaint {
            subject: subject_of(&form.subject),
            subject_ref: form.subject_ref.clone(),
            category: form.category.clone(),
            body: form.body.clone(),
            publishable: form.publishable.is_some(),
            files,
        };
        state.feedback.complain(&ctx.actor(), &who, Via::Web, &new).await.map(Some)
    };
    match result {
        Ok(Some(made)) => render(MadePage {
            page: Page::new(&state, "投诉已提交").with(&ctx),
            number: made.number,
            password: made.query_password,
            department: made.department_name,
            signed_in: ctx.viewer.is_some(),
        })
        .map(IntoResponse::into_response),
        Ok(None) => {
            Ok(new_page(&state, &ctx, form, None, String::new(), "验证码已发送，5 分钟内有效")?.into_response())
        }
        Err(e) => {
            let challenged = matches!(e, FeedbackError::ChallengeRequired(_));
            let (status, mut error) = form_error(e)?;
            if had_files {
                error.push_str("（所选附件未保存，请重新选择）");
            }
            form.proof.clear();
            let challenge = challenged.then(|| state.identity.challenge());
            Ok(with_status(status, new_page(&state, &ctx, form, challenge, error, "")?))
        }
    }
}

/// A complaint as its complainant sees it.
#[derive(Template)]
#[template(path = "feedback/complaint.html")]
struct ComplaintPage {
    page: Page,
    c: Complaint,
    steps: Vec<(String, &'static str, String, String)>,
    created: String,
    answered: String,
    /// Where its follow-up forms post, and the hidden fields they carry (number and password
    /// when followed without signing in).
    act: String,
    number: String,
    password: String,
    may_reopen: bool,
    /// What the complainant attached.
    files: Vec<Attachment>,
    files_base: String,
    error: String,
    notice: &'static str,
}

async fn complaint_page(
    state: &AppState,
    ctx: &RequestContext,
    c: Complaint,
    act: String,
    password: String,
    error: String,
    notice: &'static str,
) -> Result<Html<String>, AppError> {
    let steps = state
        .feedback
        .complaint_steps(c.id, false)
        .await?
        .iter()
        .map(|s| (time(s.at), s.label(), s.actor_name.clone(), s.note.clone()))
        .collect();
    let reopen = chrono::Duration::days(i64::from(state.feedback.settings().complaint_reopen_days));
    let may_reopen = c.state == "answered" && c.answered_at.is_some_and(|at| state.db.now() <= at + reopen);
    let files = state.feedback.attachments(Owner::Complaint(c.id)).await?;
    render(ComplaintPage {
        files,
        files_base: format!("/account/complaints/{}/files", c.number),
        page: Page::new(state, &format!("投诉 {}", c.number)).with(ctx),
        steps,
        created: time(c.created_at),
        answered: c.answered_at.map(time).unwrap_or_default(),
        act,
        number: c.number.clone(),
        password,
        may_reopen,
        c,
        error,
        notice,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FollowForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    level: String,
}

fn follow_up_of(form: &FollowForm, files: Vec<NewFile>) -> Option<FollowUp> {
    match form.action.as_str() {
        "info" => Some(FollowUp::Info(form.note.clone(), files)),
        "reopen" => Some(FollowUp::Reopen(form.note.clone())),
        "rate" => Some(FollowUp::Rate(form.level.trim().parse().unwrap_or(0))),
        _ => None,
    }
}

fn done_notice(action: &str) -> &'static str {
    match action {
        "info" => "已补充，承办部门会看到",
        "reopen" => "已申请重新办理",
        "rate" => "感谢您的评价，投诉已办结",
        _ => "",
    }
}

#[derive(Template)]
#[template(path = "feedback/complaint_query.html")]
struct QueryPage {
    page: Page,
    number: String,
    error: String,
}

pub(crate) async fn query_page(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    render(QueryPage {
        page: Page::new(&state, "投诉查询").with(&ctx), number: String::new(), error: String::new()
    })
}

/// 投诉查询: by number and password; the follow-up forms post here too (the password with them;
/// information added with files as multipart, its CSRF token in its address).
pub(crate) async fn query(
    State(state): State<AppState>,
    ctx: RequestContext,
    request: Request,
) -> Result<Response, AppError> {
    let (form, files) = form_with_files::<FollowForm>(&state, request).await?;
    let found = state.feedback.complaint_by_password(&form.number, &form.password, &ctx.client_ip).await;
    let c = match found {
        Ok(c) => c,
        Err(e) => {
            let (status, error) = form_error(e)?;
            let page =
                QueryPage { page: Page::new(&state, "投诉查询").with(&ctx), number: form.number.clone(), error };
            return Ok(with_status(status, render(page)?));
        }
    };
    let (error, notice, c) = match follow_up_of(&form, files) {
        None => (String::new(), "", c),
        Some(action) => {
            let actor = govhall_audit::Actor { id: None, label: "投诉人".into(), client_ip: ctx.client_ip.clone() };
            match state.feedback.follow_up(&actor, &c, action).await {
                Ok(()) => (String::new(), done_notice(&form.action), state.feedback.complaint_now(&c).await?),
                Err(e) => (form_error(e)?.1, "", c),
            }
        }
    };
    let html =
        complaint_page(&state, &ctx, c, "/complaints/query".into(), form.password.clone(), error, notice).await?;
    Ok(html.into_response())
}

#[derive(Template)]
#[template(path = "feedback/complaints_mine.html")]
struct MinePage {
    page: Page,
    complaints: Vec<Complaint>,
}

pub(crate) async fn mine(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
) -> Result<Html<String>, AppError> {
    let complaints = state.feedback.my_complaints(viewer.account.id).await?;
    render(MinePage { page: Page::new(&state, "我的投诉").with(&ctx), complaints })
}

#[derive(Debug, Deserialize)]
pub(crate) struct Done {
    done: Option<String>,
}

pub(crate) async fn my_one(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(number): Path<String>,
    Query(q): Query<Done>,
) -> Result<Html<String>, AppError> {
    let c = state.feedback.my_complaint(viewer.account.id, &number).await?;
    let notice = done_notice(q.done.as_deref().unwrap_or_default());
    complaint_page(&state, &ctx, c, format!("/account/complaints/{number}/act"), String::new(), String::new(), notice)
        .await
}

pub(crate) async fn my_act(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(number): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let c = state.feedback.my_complaint(viewer.account.id, &number).await?;
    let (form, files) = form_with_files::<FollowForm>(&state, request).await?;
    let action = follow_up_of(&form, files).ok_or_else(AppError::not_found)?;
    match state.feedback.follow_up(&ctx.actor(), &c, action).await {
        Ok(()) => Ok(Redirect::to(&format!("/account/complaints/{number}?done={}", form.action)).into_response()),
        Err(e) => {
            let (status, error) = form_error(e)?;
            let act = format!("/account/complaints/{number}/act");
            Ok(with_status(status, complaint_page(&state, &ctx, c, act, String::new(), error, "").await?))
        }
    }
}

/// A file of one of `viewer`'s complaints.
pub(crate) async fn my_file(
    State(state): State<AppState>,
    SignedIn(viewer, _): SignedIn,
    Path((number, file)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let c = state.feedback.my_complaint(viewer.account.id, &number).await?;
    let file = uuid::Uuid::parse_str(&file).map_err(|_| AppError::not_found())?;
    let (name, kind, bytes) = state.feedback.attachment(Owner::Complaint(c.id), file).await?;
    Ok(crate::download::attachment(&name, &kind, bytes))
}

/// A file of a complaint followed by its number and query password (posted with them, and
/// counted like every look-up).
pub(crate) async fn query_file(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(file): Path<String>,
    Form(form): Form<FollowForm>,
) -> Result<Response, AppError> {
    let c = state.feedback.complaint_by_password(&form.number, &form.password, &ctx.client_ip).await?;
    let file = uuid::Uuid::parse_str(&file).map_err(|_| AppError::not_found())?;
    let (name, kind, bytes) = state.feedback.attachment(Owner::Complaint(c.id), file).await?;
    Ok(crate::download::attachment(&name, &kind, bytes))
}

#[derive(Template)]
#[template(path = "feedback/complaints_published.html")]
struct PublishedPage {
    page: Page,
    q: String,
    items: Vec<(Published, String)>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PublishedQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    department: Option<uuid::Uuid>,
    #[serde(default)]
    page: u32,
}

pub(crate) async fn published(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(p): Query<PublishedQuery>,
) -> Result<Html<String>, AppError> {
    const PER_PAGE: i64 = 20;
    let found =
        state.feedback.published_complaints(p.department, &p.q, PER_PAGE + 1, i64::from(p.page) * PER_PAGE).await?;
    let more = found.len() as i64 > PER_PAGE;
    let next = more.then(|| {
        let mut query = vec![format!("page={}", p.page + 1)];
        if !p.q.is_empty() {
            query.push(format!("q={}", urlencoding(&p.q)));
        }
        if let Some(d) = p.department {
            query.push(format!("department={d}"));
        }
        format!("/complaints/published?{}", query.join("&"))
    });
    render(PublishedPage {
        page: Page::new(&state, "投诉答复公开").with(&ctx),
        q: p.q,
        items: found
            .into_iter()
            .take(PER_PAGE as usize)
            .map(|c| {
                let at = time(c.published_at);
                (c, at)
            })
            .collect(),
        next,
    })
}

fn urlencoding(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap_or_default().trim_start_matches('=').to_owned()
}
