//! The form designer: an item's application form and self-check written as JSON, checked with
//! every problem named, previewed as applicants will see it, and saved into the item's open
//! draft, so that it is reviewed and published with the item (and versioned with it).

use crate::AppError;
use crate::applications::fields::{self, FieldView};
use crate::auth::{RequestContext, SignedIn, Viewer};
use crate::html::{form_error, render, with_status};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_catalog::editing;
use govhall_catalog::form::{Answers, Eligibility, FieldKind, FormSchema};
use std::collections::BTreeMap;

#[derive(Template)]
#[template(path = "admin/item_form.html")]
struct FormPage {
    page: Page,
    code: String,
    name: String,
    form_json: String,
    check_json: String,
    standard: bool,
    problems: Vec<String>,
    preview: Vec<(String, Vec<FieldView>)>,
    questions: Vec<(String, Vec<String>)>,
    kinds: Vec<(&'static str, &'static str)>,
    error: String,
    may_edit: bool,
}

struct Draft {
    form_json: String,
    check_json: String,
    standard: bool,
}

/// What is wrong with an editor's JSON, in Chinese, with where.
fn json_problem(what: &str, e: &serde_json::Error) -> String {
    let at = format!("{what}第 {} 行第 {} 列", e.line(), e.column());
    let text = e.to_string();
    let quoted =
        |after: &str| text.split(after).nth(1).and_then(|t| t.split('`').nth(1)).unwrap_or_default().to_owned();
    let detail = if text.starts_with("unknown variant") {
        let kinds: Vec<&str> = FieldKind::ALL.iter().map(|k| k.code()).collect();
        format!("类型“{}”不存在，可用的有：{}", quoted("unknown variant"), kinds.join("、"))
    } else if text.starts_with("unknown field") {
        format!("不认识的属性“{}”（注意 rules 写在最外层，不在 sections 里）", quoted("unknown field"))
    } else if text.starts_with("missing field") {
        format!("缺少属性“{}”", quoted("missing field"))
    } else if text.contains("expected a sequence") {
        "这里应为列表，用 [ ] 括起".to_owned()
    } else if text.contains("expected a string") {
        "这里应为文字，用英文双引号括起".to_owned()
    } else if text.contains("expected a boolean") {
        "这里应为 true 或 false".to_owned()
    } else if text.contains("expected i64") || text.contains("expected an integer") {
        "这里应为整数".to_owned()
    } else if text.contains("trailing comma") {
        "最后一项后面多了逗号".to_owned()
    } else if e.is_eof() {
        "内容不完整，缺少括号或引号".to_owned()
    } else if e.is_syntax() {
        "不是有效的 JSON（检查引号、逗号和括号，引号须为英文引号）".to_owned()
    } else {
        "内容与格式不符".to_owned()
    };
    format!("{at}：{detail}")
}

fn pretty<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

async fn page(
    state: &AppState,
    viewer: &Viewer,
    ctx: &RequestContext,
    code: &str,
    draft: Option<Draft>,
    error: String,
) -> Result<Html<String>, AppError> {
    let (item, versions) = editing::versions(&state.db, &viewer.access, code).await?;
    let content = versions.first().map(|v| v.content.clone()).unwrap_or_default();
    let draft = draft.unwrap_or_else(|| Draft {
        form_json: pretty(&content.application_form()),
        check_json: pretty(&content.self_check()),
        standard: content.form.is_none(),
    });
    let mut problems = Vec::new();
    let form = match serde_json::from_str::<FormSchema>(&draft.form_json) {
        Ok(f) => {
            if let Err(p) = f.check() {
                problems.extend(p.into_iter().map(|p| format!("申请表：{p}")));
            }
            Some(f)
        }
        Err(e) => {
            problems.push(json_problem("申请表", &e));
            None
        }
    };
    let check = match serde_json::from_str::<Eligibility>(&draft.check_json) {
        Ok(c) => {
            if let Err(p) = c.check() {
                problems.extend(p.into_iter().map(|p| format!("条件自检：{p}")));
            }
            Some(c)
        }
        Err(e) => {
            problems.push(json_problem("条件自检", &e));
            None
        }
    };
    let preview = form
        .map(|f| {
            f.sections
                .iter()
                .map(|s| {
                    let views =
                        fields::views(&f, s, &Answers::new(), &[], &BTreeMap::new(), state.applications.regions());
                    (s.title.clone(), views)
                })
                .collect()
        })
        .unwrap_or_default();
    let questions = check.map(|c| c.questions.into_iter().map(|q| (q.text, q.options)).collect()).unwrap_or_default();
    render(FormPage {
        page: Page::new(state, &format!("申请表设计：{}", item.name)).with(ctx).with_forms_script(),
        code: item.code.clone(),
        name: item.name.clone(),
        form_json: draft.form_json,
        check_json: draft.check_json,
        standard: draft.standard,
        problems,
        preview,
        questions,
        kinds: FieldKind::ALL.iter().map(|k| (k.code(), k.label())).collect(),
        error,
        may_edit: viewer.access.has(govhall_identity::Permission::ItemEdit),
    })
}

pub(crate) async fn edit(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
) -> Result<Html<String>, AppError> {
    page(&state, &viewer, &ctx, &code, None, String::new()).await
}

pub(crate) async fn save(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(code): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let draft = Draft { form_json: get("form"), check_json: get("self_check"), standard: get("standard") == "1" };
    // Only the save button saves; anything else (the preview button, a button inside the
    // preview such as the address's refresh) previews.
    if get("action") != "save" {
        return Ok(page(&state, &viewer, &ctx, &code, Some(draft), String::new()).await?.into_response());
    }
    let bad = |m: String| AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_form", m);
    let result = async {
        let form: FormSchema = serde_json::from_str(&draft.form_json).map_err(|e| bad(json_problem("申请表", &e)))?;
        let check: Eligibility =
            serde_json::from_str(&draft.check_json).map_err(|e| bad(json_problem("条件自检", &e)))?;
        let (_, versions) = editing::versions(&state.db, &viewer.access, &code).await?;
        let mut content = versions.first().map(|v| v.content.clone()).unwrap_or_default();
        content.form = (!draft.standard).then_some(form);
        // The self-check made from the conditions stays generated until an editor changes it.
        let generated = content.eligibility.is_none() && check == Eligibility::from_conditions(&content.conditions);
        content.eligibility = (!generated).then_some(check);
        editing::save_draft(&state.db, &ctx.actor(), &viewer.access, &code, &content, "修改申请表和条件自检").await?;
        Ok::<(), AppError>(())
    }
    .await;
    match result {
        Ok(()) => {
            Ok(Redirect::to(&format!("/admin/items/{}?done=saved", crate::auth::urlencode(&code))).into_response())
        }
        Err(e) => {
            let (status, error) = form_error(e)?;
            Ok(with_status(status, page(&state, &viewer, &ctx, &code, Some(draft), error).await?))
        }
    }
}
