//! The message center on the web: the provider's receipt callback and the admin pages.

mod admin;
pub(crate) mod receipts;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};

/// Routes of the message center.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/messaging/sms-receipts", post(receipts::sms_receipts))
        .route("/admin/login", get(admin::login_page).post(admin::login))
        .route("/admin/logout", post(admin::logout))
        .route("/admin/messages", get(admin::messages))
        .route("/admin/messages/{id}", get(admin::message))
        .route("/admin/messages/{id}/retry", post(admin::retry))
        .route("/admin/messages/{id}/cancel", post(admin::cancel))
        .route("/admin/templates", get(admin::templates).post(admin::save_template))
        .route("/admin/templates/new", get(admin::template_form))
}
