//! The message center on the web: the provider's receipt callback and the admin pages.

pub(crate) mod admin;
pub(crate) mod receipts;

/// The routes of the message center, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        // Signed with the provider's key, not a session.
        r(M::POST, "/api/v1/messaging/sms-receipts", Public, post(crate::messaging::receipts::sms_receipts)),
        r(M::GET, "/admin/messages", Needs(P::MessageManage), get(crate::messaging::admin::messages)),
        r(M::GET, "/admin/messages/{id}", Needs(P::MessageManage), get(crate::messaging::admin::message)),
        r(M::POST, "/admin/messages/{id}/retry", Needs(P::MessageManage), post(crate::messaging::admin::retry)),
        r(M::POST, "/admin/messages/{id}/cancel", Needs(P::MessageManage), post(crate::messaging::admin::cancel)),
        r(M::GET, "/admin/templates", Needs(P::MessageManage), get(crate::messaging::admin::templates)),
        r(M::POST, "/admin/templates", Needs(P::MessageManage), post(crate::messaging::admin::save_template)),
        r(M::GET, "/admin/templates/new", Needs(P::MessageManage), get(crate::messaging::admin::template_form)),
    ]
}
