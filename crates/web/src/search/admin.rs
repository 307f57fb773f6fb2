//! The catalogue administrators' page for search: synonym groups, best bets, the queries that
//! found nothing (to fix the catalogue or add synonyms for), and the index's state with a way
//! to rebuild it on every node.

use crate::AppError;
use crate::auth::RequestContext;
use crate::html::{after_post, render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{Html, Redirect, Response};
use chrono::Duration;
use govhall_search::store;
use serde::Deserialize;
use uuid::Uuid;

#[derive(Template)]
#[template(path = "admin/search.html")]
struct SearchAdminPage {
    page: Page,
    error: String,
    form: BetForm,
    synonyms: Vec<(Uuid, String, String, String)>,
    bets: Vec<(String, String, i32, String, String)>,
    misses: Vec<(String, i64, String, String)>,
    size: (u64, u64, u64),
}

async fn admin_page(
    state: &AppState,
    ctx: &RequestContext,
    error: String,
    form: BetForm,
) -> Result<Html<String>, AppError> {
    let synonyms = store::synonyms(&state.db)
        .await?
        .into_iter()
        .map(|g| (g.id, g.words().join("、"), g.created_by.clone(), time(g.created_at)))
        .collect();
    let bets = store::best_bets(&state.db)
        .await?
        .into_iter()
        .map(|b| (b.query, b.item_code, b.position, b.created_by, time(b.created_at)))
        .collect();
    let since = state.db.now() - Duration::days(30);
    let misses = store::misses(&state.db, since, 50)
        .await?
        .into_iter()
        .map(|m| (m.query, m.count, time(m.first_at), time(m.last_at)))
        .collect();
    render(SearchAdminPage {
        page: Page::new(state, "搜索管理").with(ctx),
        error,
        form,
        synonyms,
        bets,
        misses,
        size: state.search.size(),
    })
}

pub(crate) async fn show(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    admin_page(&state, &ctx, String::new(), BetForm::default()).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct SynonymForm {
    #[serde(default)]
    terms: String,
}

pub(crate) async fn add_synonyms(
    State(state): State<AppState>,
    ctx: RequestContext,
    Form(form): Form<SynonymForm>,
) -> Result<Response, AppError> {
    let result = store::add_synonyms(&state.db, &ctx.actor(), &form.terms).await;
    after_post(result, "/admin/search", async |error| admin_page(&state, &ctx, error, BetForm::default()).await).await
}

pub(crate) async fn delete_synonyms(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(id): Path<Uuid>,
) -> Result<Redirect, AppError> {
    store::delete_synonyms(&state.db, &ctx.actor(), id).await?;
    Ok(Redirect::to("/admin/search"))
}

#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct BetForm {
    #[serde(default)]
    query: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    position: String,
}

pub(crate) async fn add_best_bet(
    State(state): State<AppState>,
    ctx: RequestContext,
    Form(form): Form<BetForm>,
) -> Result<Response, AppError> {
    let position = match form.position.trim() {
        "" => Ok(1),
        p => p.parse::<i32>().map_err(|_| govhall_search::SearchError::invalid("invalid_best_bet", "位置应为 1 到 10")),
    };
    let result = match position {
        Ok(position) => store::add_best_bet(&state.db, &ctx.actor(), &form.query, &form.code, position).await,
        Err(e) => Err(e),
    };
    let kept = form.clone();
    after_post(result, "/admin/search", async |error| admin_page(&state, &ctx, error, kept).await).await
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BetKey {
    #[serde(default)]
    query: String,
    #[serde(default)]
    code: String,
}

pub(crate) async fn delete_best_bet(
    State(state): State<AppState>,
    ctx: RequestContext,
    Form(key): Form<BetKey>,
) -> Result<Redirect, AppError> {
    store::delete_best_bet(&state.db, &ctx.actor(), &key.query, &key.code).await?;
    Ok(Redirect::to("/admin/search"))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct MissForm {
    #[serde(default)]
    query: String,
}

pub(crate) async fn dismiss_miss(
    State(state): State<AppState>,
    ctx: RequestContext,
    Form(form): Form<MissForm>,
) -> Result<Redirect, AppError> {
    store::dismiss_miss(&state.db, &ctx.actor(), &form.query).await?;
    Ok(Redirect::to("/admin/search"))
}

/// Asks every node to rebuild its index from the database (through the change feed).
pub(crate) async fn rebuild(State(state): State<AppState>, ctx: RequestContext) -> Result<Redirect, AppError> {
    store::request_rebuild(&state.db, &ctx.actor()).await?;
    Ok(Redirect::to("/admin/search"))
}
