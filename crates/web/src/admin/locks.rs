//! Sign-in locks in force, and lifting an account's (the security administrator's page).

use crate::AppError;
use crate::auth::SignedIn;
use crate::html::{render, time};
use crate::layout::Page;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use govhall_identity::AccountId;
use uuid::Uuid;

struct LockRow {
    account: String,
    name: String,
    kind: &'static str,
    client_ip: String,
    locks: i32,
    until: String,
}

#[derive(Template)]
#[template(path = "admin/locks.html")]
struct LocksPage {
    page: Page,
    rows: Vec<LockRow>,
}

pub(crate) async fn list(State(state): State<AppState>, SignedIn(_, ctx): SignedIn) -> Result<Html<String>, AppError> {
    let mut rows = Vec::new();
    for lock in state.identity.login_locks().await? {
        let (account, name, kind) = match lock.account {
            Some(id) => match state.identity.account(id).await {
                Ok(a) => (id.to_string(), a.real_name.clone(), a.kind.label()),
                Err(_) => (id.to_string(), String::new(), ""),
            },
            None => (String::new(), "（未注册的登录名）".to_owned(), ""),
        };
        rows.push(LockRow {
            account,
            name,
            kind,
            client_ip: lock.client_ip,
            locks: lock.locks,
            until: time(lock.locked_until),
        });
    }
    render(LocksPage { page: Page::new(&state, "登录锁定").with(&ctx), rows })
}

pub(crate) async fn unlock(
    State(state): State<AppState>,
    SignedIn(_, ctx): SignedIn,
    Path(id): Path<Uuid>,
) -> Result<Response, AppError> {
    state.identity.unlock_account(&ctx.actor(), AccountId::from_uuid(id)).await?;
    Ok(Redirect::to("/admin/locks").into_response())
}
