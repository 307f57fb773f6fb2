//! Every route of the portal and the API in one table, each with the [`Guard`] it requires.
//! Each web domain module owns its routes (`booking::routes()`, `cases::routes()` …); this table
//! holds the site's own (health, assets, the API documentation, the calendar) and concatenates
//! the rest. The router is built from it, and the authorization test walks it, so a route cannot
//! exist without saying who may use it.

use crate::auth::Guard;
use crate::state::AppState;
use crate::{
    admin, applications, assets, booking, calendar, cases, catalog, exchange, feedback, health, identity, library,
    licences, logistics, messaging, metrics, openapi, pages, payments, search, space,
};
use axum::http::Method;
use axum::routing::{MethodRouter, get};
use govhall_identity::Permission as P;

/// One route: method, path pattern, who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSpec {
    /// The HTTP method.
    pub method: &'static str,
    /// The path pattern (`/admin/staff/{id}/status`).
    pub path: &'static str,
    /// Who may call it.
    pub guard: Guard,
}

/// Editors and reviewers share the item pages; the catalogue's rules check each item's
/// department against the viewer's scope, and that the reviewer is not the editor.
pub(crate) const EDITORS: &[P] = &[P::ItemEdit, P::ItemPublish];

/// A route and its handler: each web domain module lists its own (`routes()`), and the table
/// below concatenates them.
pub(crate) type Entry = (RouteSpec, MethodRouter<AppState>);

/// One route entry.
pub(crate) fn r(method: Method, path: &'static str, guard: Guard, handler: MethodRouter<AppState>) -> Entry {
    let method = match method {
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        _ => "GET",
    };
    (RouteSpec { method, path, guard }, handler)
}

pub(crate) fn table() -> Vec<Entry> {
    use Guard::Public;
    use Method as M;
    let mut routes = vec![
        r(M::GET, "/", Public, get(pages::home)),
        r(M::GET, "/healthz", Public, get(health::healthz)),
        r(M::GET, "/readyz", Public, get(health::readyz)),
        r(M::GET, "/metrics", Public, get(metrics::serve)),
        r(M::GET, "/static/{file}", Public, get(assets::serve)),
        r(M::GET, "/docs/api", Public, get(openapi::docs_page)),
        r(M::GET, "/api/v1/openapi.json", Public, get(openapi::openapi_json)),
        r(M::GET, "/api/v1/calendar/days/{date}", Public, get(calendar::day)),
        r(M::GET, "/api/v1/calendar/deadline", Public, get(calendar::deadline)),
    ];
    routes.extend(messaging::routes());
    routes.extend(cases::routes());
    routes.extend(catalog::routes());
    routes.extend(search::routes());
    routes.extend(booking::routes());
    routes.extend(applications::routes());
    routes.extend(library::routes());
    routes.extend(space::routes());
    routes.extend(feedback::routes());
    routes.extend(payments::routes());
    routes.extend(licences::routes());
    routes.extend(logistics::routes());
    routes.extend(exchange::routes());
    routes.extend(identity::routes());
    routes.extend(admin::routes());
    routes
}

/// Every route with its guard, for tests and documentation.
pub fn route_table() -> Vec<RouteSpec> {
    table().into_iter().map(|(spec, _)| spec).collect()
}
