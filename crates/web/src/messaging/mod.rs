//! The message center on the web: the provider's receipt callback, the admin pages, and the
//! account's inbox (我的消息).

pub(crate) mod admin;
pub(crate) mod inbox;
pub(crate) mod receipts;

/// The routes of the message center, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Permission as Needs, Public, SignedIn};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    vec![
        r(M::GET, "/account/messages", SignedIn, get(crate::messaging::inbox::show)),
        r(M::POST, "/account/messages/read-all", SignedIn, post(crate::messaging::inbox::read_all)),
        r(M::POST, "/account/messages/{id}/read", SignedIn, post(crate::messaging::inbox::read_one)),
        r(M::GET, "/api/v1/me/messages", SignedIn, get(crate::messaging::inbox::api_list)),
        r(M::POST, "/api/v1/me/messages/read-all", SignedIn, post(crate::messaging::inbox::api_read_all)),
        r(M::POST, "/api/v1/me/messages/{id}/read", SignedIn, post(crate::messaging::inbox::api_read_one)),
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
