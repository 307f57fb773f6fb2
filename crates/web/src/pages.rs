//! The portal's own pages (domains add theirs in their own modules).

use crate::AppError;
use crate::auth::RequestContext;
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::State;
use axum::response::Html;

#[derive(Template)]
#[template(path = "index.html")]
struct HomePage {
    page: Page,
}

/// `GET /`: the home page.
pub(crate) async fn home(State(state): State<AppState>, ctx: RequestContext) -> Result<Html<String>, AppError> {
    let page = HomePage { page: Page::new(&state, "首页").in_section("home").with(&ctx) };
    Ok(Html(page.render().map_err(AppError::internal)?))
}
