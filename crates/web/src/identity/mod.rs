//! The people's side of identity: sign in and out, register, reset a password, the account
//! pages (profile, sessions, password, mobile number, address book, enterprises), and the API's
//! bearer tokens.

pub(crate) mod account;
pub(crate) mod addresses;
pub(crate) mod api;
pub(crate) mod enterprise_api;
pub(crate) mod enterprises;
pub(crate) mod phone;
pub(crate) mod register;
pub(crate) mod sign_in;

/// The routes of people: sign-in, registration, accounts, enterprises, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{Public, SignedIn};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{delete, get, post};
    vec![
        // People.
        r(M::GET, "/login", Public, get(crate::identity::sign_in::login_page)),
        r(M::POST, "/login", Public, post(crate::identity::sign_in::login)),
        r(M::POST, "/logout", SignedIn, post(crate::identity::sign_in::logout)),
        r(M::GET, "/register", Public, get(crate::identity::register::register_page)),
        r(M::POST, "/register", Public, post(crate::identity::register::register)),
        r(M::GET, "/password/reset", Public, get(crate::identity::sign_in::reset_page)),
        r(M::POST, "/password/reset", Public, post(crate::identity::sign_in::reset)),
        r(M::GET, "/account", SignedIn, get(crate::identity::account::show)),
        r(M::POST, "/account/password", SignedIn, post(crate::identity::account::change_password)),
        r(M::POST, "/account/sessions/{id}/revoke", SignedIn, post(crate::identity::account::revoke_session)),
        r(M::POST, "/account/sessions/revoke-others", SignedIn, post(crate::identity::account::revoke_others)),
        r(M::POST, "/account/phone", SignedIn, post(crate::identity::phone::change)),
        r(M::GET, "/account/addresses", SignedIn, get(crate::identity::addresses::show)),
        r(M::POST, "/account/addresses", SignedIn, post(crate::identity::addresses::create)),
        r(M::POST, "/account/addresses/{id}", SignedIn, post(crate::identity::addresses::update)),
        r(M::POST, "/account/addresses/{id}/delete", SignedIn, post(crate::identity::addresses::delete)),
        r(M::GET, "/account/enterprises", SignedIn, get(crate::identity::enterprises::show)),
        r(M::POST, "/account/enterprises", SignedIn, post(crate::identity::enterprises::register)),
        r(M::POST, "/account/enterprises/{id}/invite", SignedIn, post(crate::identity::enterprises::invite)),
        r(M::POST, "/account/enterprises/{id}/accept", SignedIn, post(crate::identity::enterprises::accept)),
        r(M::POST, "/account/enterprises/{id}/details", SignedIn, post(crate::identity::enterprises::update_details)),
        r(
            M::POST,
            "/account/enterprises/{id}/members/{member}/remove",
            SignedIn,
            post(crate::identity::enterprises::remove_member),
        ),
        r(M::POST, "/account/acting", SignedIn, post(crate::identity::enterprises::act_for)),
        r(M::POST, "/api/v1/sessions", Public, post(crate::identity::api::create_session)),
        r(M::GET, "/api/v1/me", SignedIn, get(crate::identity::api::current)),
        r(M::GET, "/api/v1/me/enterprises", SignedIn, get(crate::identity::enterprise_api::mine)),
        r(M::POST, "/api/v1/me/enterprises/{id}/details", SignedIn, post(crate::identity::enterprise_api::update)),
        r(M::DELETE, "/api/v1/sessions/current", SignedIn, delete(crate::identity::api::delete_current)),
        r(M::POST, "/api/v1/me/phone/code", SignedIn, post(crate::identity::phone::api_code)),
        r(M::POST, "/api/v1/me/phone", SignedIn, post(crate::identity::phone::api_change)),
        r(M::GET, "/api/v1/me/addresses", SignedIn, get(crate::identity::addresses::api_list)),
        r(M::POST, "/api/v1/me/addresses", SignedIn, post(crate::identity::addresses::api_create)),
        r(M::POST, "/api/v1/me/addresses/{id}", SignedIn, post(crate::identity::addresses::api_update)),
        r(M::DELETE, "/api/v1/me/addresses/{id}", SignedIn, delete(crate::identity::addresses::api_delete)),
    ]
}
