//! Registered people, shown masked; their full numbers only to a viewer whose grant reaches
//! them, and every such view is audited.

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Html;
use govhall_identity::{AccountId, Permission};
use serde::Deserialize;
use uuid::Uuid;

struct PersonRow {
    id: String,
    name: String,
    phone: String,
    id_number: String,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/people.html")]
struct PeoplePage {
    page: Page,
    rows: Vec<PersonRow>,
    can_reveal: bool,
    offset: i64,
    next: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Paging {
    #[serde(default)]
    offset: i64,
}

const PAGE: i64 = 50;

pub(crate) async fn people(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Query(q): Query<Paging>,
) -> Result<Html<String>, AppError> {
    let offset = q.offset.max(0);
    let accounts = state.identity.list_accounts("person", None, PAGE + 1, offset).await?;
    let next = (accounts.len() as i64 > PAGE).then_some(offset + PAGE);
    render(PeoplePage {
        page: Page::new(&state, "注册用户").with(&ctx),
        rows: accounts
            .iter()
            .take(PAGE as usize)
            .map(|a| PersonRow {
                id: a.id.to_string(),
                name: a.real_name.clone(),
                phone: a.phone_masked(),
                id_number: a.id_number_masked(),
                created: time(a.created_at),
            })
            .collect(),
        can_reveal: viewer.access.has(Permission::PersonViewPersonalData),
        offset,
        next,
    })
}

#[derive(Template)]
#[template(path = "admin/person.html")]
struct PersonPage {
    page: Page,
    name: String,
    phone: String,
    id_number: String,
}

/// The full numbers of one person: a POST, so that a link or a crawler never reveals them, and
/// audited whether allowed or refused.
pub(crate) async fn reveal(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Html<String>, AppError> {
    let account = state.identity.reveal_personal_data(&ctx.actor(), &viewer.access, AccountId::from_uuid(id)).await?;
    render(PersonPage {
        page: Page::new(&state, "用户完整信息").with(&ctx),
        name: account.real_name.clone(),
        phone: account.phone.as_str().to_owned(),
        id_number: account.id_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
    })
}
