//! Every route of the portal and the API in one table, each with the [`Guard`] it requires.
//! The router is built from this table, and the authorization test walks it, so a route
//! cannot exist without saying who may use it.

use crate::auth::Guard;
use crate::state::AppState;
use crate::{
    admin, applications, assets, booking, calendar, cases, catalog, health, identity, messaging, metrics, openapi,
    pages, search,
};
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post};
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

type Entry = (RouteSpec, MethodRouter<AppState>);

fn r(method: Method, path: &'static str, guard: Guard, handler: MethodRouter<AppState>) -> Entry {
    let method = match method {
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        _ => "GET",
    };
    (RouteSpec { method, path, guard }, handler)
}

pub(crate) fn table() -> Vec<Entry> {
    use Guard::{AnyOf as Needs2, Permission as Needs, Public, SignedIn};
    const EDITORS: &[P] = &[P::ItemEdit, P::ItemPublish];
    use Method as M;
    vec![
        r(M::GET, "/", Public, get(pages::home)),
        r(M::GET, "/healthz", Public, get(health::healthz)),
        r(M::GET, "/readyz", Public, get(health::readyz)),
        r(M::GET, "/metrics", Public, get(metrics::serve)),
        r(M::GET, "/static/{file}", Public, get(assets::serve)),
        r(M::GET, "/docs/api", Public, get(openapi::docs_page)),
        r(M::GET, "/api/v1/openapi.json", Public, get(openapi::openapi_json)),
        r(M::GET, "/api/v1/calendar/days/{date}", Public, get(calendar::day)),
        r(M::GET, "/api/v1/calendar/deadline", Public, get(calendar::deadline)),
        // Signed with the provider's key, not a session.
        r(M::POST, "/api/v1/messaging/sms-receipts", Public, post(messaging::receipts::sms_receipts)),
        // Other systems, each with its own API key (checked by the handler, not a session).
        r(M::POST, "/api/v1/serial-numbers", Public, post(cases::serials::issue)),
        r(M::GET, "/api/v1/serial-numbers/{number}", Public, get(cases::serials::parse)),
        // Following a case by its number and query password (throttled by the engine).
        r(M::GET, "/progress", Public, get(cases::progress::page)),
        r(M::POST, "/progress", Public, post(cases::progress::query)),
        r(M::POST, "/api/v1/progress-queries", Public, post(cases::progress::api_query)),
        // The catalogue.
        r(M::GET, "/personal", Public, get(catalog::navigation::personal)),
        r(M::GET, "/enterprise", Public, get(catalog::navigation::enterprise)),
        r(M::GET, "/departments", Public, get(catalog::navigation::departments)),
        r(M::GET, "/departments/{id}", Public, get(catalog::navigation::department)),
        r(M::GET, "/tags/{id}", Public, get(catalog::navigation::tag)),
        r(M::GET, "/search", Public, get(search::page::search)),
        r(M::GET, "/api/v1/search", Public, get(search::api::search)),
        r(M::GET, "/api/v1/search/suggest", Public, get(search::api::suggest)),
        r(M::GET, "/items/{code}", Public, get(catalog::guide::guide)),
        r(M::GET, "/items/{code}/print", Public, get(catalog::guide::print)),
        // Appointments: the table is public, booking needs an account.
        r(M::GET, "/items/{code}/book", Public, get(booking::pages::book_form)),
        r(M::POST, "/items/{code}/book", SignedIn, post(booking::pages::book)),
        r(M::GET, "/account/bookings", SignedIn, get(booking::pages::mine)),
        r(M::GET, "/account/bookings/{code}", SignedIn, get(booking::pages::one)),
        r(M::GET, "/account/bookings/{code}/qr.svg", SignedIn, get(booking::pages::qr)),
        r(M::POST, "/account/bookings/{code}/cancel", SignedIn, post(booking::pages::cancel)),
        // Online applications: the self-check and the form are public, applying needs an account.
        r(M::GET, "/items/{code}/check", Public, get(applications::pages::self_check_form)),
        r(M::POST, "/items/{code}/check", Public, post(applications::pages::self_check)),
        r(M::GET, "/items/{code}/apply", Public, get(applications::pages::start_form)),
        r(M::POST, "/items/{code}/apply", SignedIn, post(applications::pages::start)),
        r(M::GET, "/applications/{id}", SignedIn, get(applications::pages::tasks)),
        r(M::GET, "/applications/{id}/sections/{key}", SignedIn, get(applications::pages::section_form)),
        r(M::POST, "/applications/{id}/sections/{key}", SignedIn, post(applications::pages::section_save)),
        r(M::GET, "/applications/{id}/materials", SignedIn, get(applications::uploads::materials)),
        r(M::POST, "/applications/{id}/materials/{slot}", SignedIn, post(applications::uploads::upload)),
        r(M::POST, "/applications/{id}/files/{file}/delete", SignedIn, post(applications::uploads::delete_file)),
        r(M::GET, "/applications/{id}/files/{file}", SignedIn, get(applications::uploads::download)),
        r(M::GET, "/applications/{id}/check", SignedIn, get(applications::confirm::check)),
        r(M::POST, "/applications/{id}/submit", SignedIn, post(applications::confirm::submit)),
        r(M::GET, "/applications/{id}/done", SignedIn, get(applications::confirm::done)),
        r(M::POST, "/applications/{id}/discard", SignedIn, post(applications::confirm::discard)),
        r(M::GET, "/applications/{id}/print.pdf", SignedIn, get(applications::confirm::print_form)),
        r(M::GET, "/applications/{id}/receipt.pdf", SignedIn, get(applications::confirm::receipt)),
        r(M::POST, "/applications/{id}/receipt.pdf", SignedIn, post(applications::confirm::receipt)),
        r(M::GET, "/api/v1/items/{code}/application-form", Public, get(applications::api::item_form)),
        r(M::POST, "/api/v1/items/{code}/self-checks", Public, post(applications::api::self_check)),
        r(M::POST, "/api/v1/applications", SignedIn, post(applications::api::start)),
        r(M::GET, "/api/v1/applications", SignedIn, get(applications::api::drafts)),
        r(M::GET, "/api/v1/applications/{id}", SignedIn, get(applications::api::one)),
        r(M::DELETE, "/api/v1/applications/{id}", SignedIn, delete(applications::api::discard)),
        r(M::POST, "/api/v1/applications/{id}/answers", SignedIn, post(applications::api::save)),
        r(M::POST, "/api/v1/applications/{id}/materials/{slot}/files", SignedIn, post(applications::api::upload)),
        r(M::GET, "/api/v1/applications/{id}/files/{file}", SignedIn, get(applications::api::download)),
        r(M::DELETE, "/api/v1/applications/{id}/files/{file}", SignedIn, delete(applications::api::delete_file)),
        r(M::POST, "/api/v1/applications/{id}/submission", SignedIn, post(applications::api::submit)),
        r(M::GET, "/api/v1/booking/services", Public, get(booking::api::services)),
        r(M::GET, "/api/v1/booking/services/{id}/availability", Public, get(booking::api::availability)),
        r(M::POST, "/api/v1/bookings", SignedIn, post(booking::api::book)),
        r(M::POST, "/api/v1/bookings/{code}/cancel", SignedIn, post(booking::api::cancel)),
        r(M::GET, "/api/v1/me/bookings", SignedIn, get(booking::api::mine)),
        r(M::GET, "/api/v1/items", Public, get(catalog::api::items)),
        r(M::GET, "/api/v1/items/{code}", Public, get(catalog::api::item)),
        r(M::GET, "/api/v1/departments", Public, get(catalog::api::departments)),
        r(M::GET, "/api/v1/taxonomies", Public, get(catalog::api::taxonomies)),
        // People.
        r(M::GET, "/login", Public, get(identity::sign_in::login_page)),
        r(M::POST, "/login", Public, post(identity::sign_in::login)),
        r(M::POST, "/logout", SignedIn, post(identity::sign_in::logout)),
        r(M::GET, "/register", Public, get(identity::register::register_page)),
        r(M::POST, "/register", Public, post(identity::register::register)),
        r(M::GET, "/password/reset", Public, get(identity::sign_in::reset_page)),
        r(M::POST, "/password/reset", Public, post(identity::sign_in::reset)),
        r(M::GET, "/account", SignedIn, get(identity::account::show)),
        r(M::POST, "/account/password", SignedIn, post(identity::account::change_password)),
        r(M::POST, "/account/sessions/{id}/revoke", SignedIn, post(identity::account::revoke_session)),
        r(M::POST, "/account/sessions/revoke-others", SignedIn, post(identity::account::revoke_others)),
        r(M::GET, "/account/enterprises", SignedIn, get(identity::enterprises::show)),
        r(M::POST, "/account/enterprises", SignedIn, post(identity::enterprises::register)),
        r(M::POST, "/account/enterprises/{id}/invite", SignedIn, post(identity::enterprises::invite)),
        r(M::POST, "/account/enterprises/{id}/accept", SignedIn, post(identity::enterprises::accept)),
        r(M::POST, "/account/acting", SignedIn, post(identity::enterprises::act_for)),
        r(M::GET, "/account/cases", SignedIn, get(cases::progress::mine)),
        r(M::GET, "/account/cases/{serial}", SignedIn, get(cases::progress::my_case)),
        r(M::POST, "/account/cases/{serial}/act", SignedIn, post(cases::progress::my_act)),
        r(M::GET, "/account/cases/{serial}/files/{file}", SignedIn, get(cases::progress::my_file)),
        r(M::GET, "/api/v1/me/cases", SignedIn, get(cases::progress::api_mine)),
        r(M::GET, "/api/v1/me/cases/{serial}", SignedIn, get(cases::progress::api_my_case)),
        r(M::POST, "/api/v1/sessions", Public, post(identity::api::create_session)),
        r(M::GET, "/api/v1/me", SignedIn, get(identity::api::current)),
        r(M::DELETE, "/api/v1/sessions/current", SignedIn, delete(identity::api::delete_current)),
        // The back office.
        r(M::GET, "/admin", SignedIn, get(admin::home)),
        r(M::GET, "/admin/departments", Needs(P::DepartmentManage), get(admin::organisation::departments)),
        r(M::POST, "/admin/departments", Needs(P::DepartmentManage), post(admin::organisation::create_department)),
        r(M::GET, "/admin/staff", Needs(P::StaffManage), get(admin::organisation::staff)),
        r(M::POST, "/admin/staff", Needs(P::StaffManage), post(admin::organisation::create_staff)),
        r(M::POST, "/admin/staff/{id}/status", Needs(P::StaffManage), post(admin::organisation::set_staff_status)),
        r(M::GET, "/admin/groups", Needs(P::GroupManage), get(admin::organisation::groups)),
        r(M::POST, "/admin/groups", Needs(P::GroupManage), post(admin::organisation::create_group)),
        r(M::POST, "/admin/groups/{id}/members", Needs(P::GroupManage), post(admin::organisation::add_member)),
        r(M::GET, "/admin/people", Needs(P::PersonView), get(admin::people::people)),
        r(M::POST, "/admin/people/{id}/reveal", Needs(P::PersonViewPersonalData), post(admin::people::reveal)),
        r(M::GET, "/admin/roles", Needs(P::RoleManage), get(admin::rights::roles)),
        r(M::POST, "/admin/roles", Needs(P::RoleManage), post(admin::rights::save_role)),
        r(M::GET, "/admin/grants", Needs(P::GrantManage), get(admin::rights::grants)),
        r(M::POST, "/admin/grants", Needs(P::GrantManage), post(admin::rights::create_grant)),
        r(M::POST, "/admin/grants/{id}/revoke", Needs(P::GrantManage), post(admin::rights::revoke_grant)),
        r(M::GET, "/admin/locks", Needs(P::AccountUnlock), get(admin::locks::list)),
        r(M::POST, "/admin/locks/{id}/unlock", Needs(P::AccountUnlock), post(admin::locks::unlock)),
        r(M::GET, "/admin/audit", Needs(P::AuditView), get(admin::audit::search)),
        // Editors and reviewers share the item pages; the catalogue's rules check each item's
        // department against the viewer's scope, and that the reviewer is not the editor.
        r(M::GET, "/admin/items", Needs2(EDITORS), get(admin::items::items)),
        r(M::GET, "/admin/items/export.csv", Needs(P::ItemEdit), get(admin::item_sheets::export_csv)),
        r(M::GET, "/admin/items/export.xlsx", Needs(P::ItemEdit), get(admin::item_sheets::export_xlsx)),
        r(M::POST, "/admin/items/import", Needs(P::ItemEdit), post(admin::item_sheets::upload)),
        r(M::POST, "/admin/items/import/{id}/apply", Needs(P::ItemEdit), post(admin::item_sheets::apply)),
        r(M::GET, "/admin/items/{code}", Needs2(EDITORS), get(admin::items::edit)),
        r(M::POST, "/admin/items/{code}", Needs(P::ItemEdit), post(admin::items::save)),
        r(M::POST, "/admin/items/{code}/{action}", Needs2(EDITORS), post(admin::items::act)),
        r(M::GET, "/admin/taxonomy", Needs(P::CatalogManage), get(admin::items::taxonomy_view)),
        r(M::POST, "/admin/taxonomy/mappings", Needs(P::CatalogManage), post(admin::items::add_mapping)),
        r(M::POST, "/admin/taxonomy/mappings/{id}/delete", Needs(P::CatalogManage), post(admin::items::remove_mapping)),
        r(M::GET, "/admin/search", Needs(P::CatalogManage), get(search::admin::show)),
        r(M::POST, "/admin/search/synonyms", Needs(P::CatalogManage), post(search::admin::add_synonyms)),
        r(M::POST, "/admin/search/synonyms/{id}/delete", Needs(P::CatalogManage), post(search::admin::delete_synonyms)),
        r(M::POST, "/admin/search/best-bets", Needs(P::CatalogManage), post(search::admin::add_best_bet)),
        r(M::POST, "/admin/search/best-bets/delete", Needs(P::CatalogManage), post(search::admin::delete_best_bet)),
        r(M::POST, "/admin/search/misses/dismiss", Needs(P::CatalogManage), post(search::admin::dismiss_miss)),
        r(M::POST, "/admin/search/rebuild", Needs(P::CatalogManage), post(search::admin::rebuild)),
        // The workbench: the route needs case.view; the engine checks each case's department
        // against the viewer's scope and each action against the step's permission.
        r(M::GET, "/admin/cases", Needs(P::CaseView), get(cases::workbench::list)),
        r(M::GET, "/admin/cases/export.xlsx", Needs(P::CaseView), get(cases::workbench::export)),
        r(M::GET, "/admin/cases/{id}", Needs(P::CaseView), get(cases::workbench::show)),
        r(M::POST, "/admin/cases/{id}/act", Needs(P::CaseView), post(cases::workbench::act)),
        r(M::POST, "/admin/cases/{id}/claim", Needs(P::CaseView), post(cases::workbench::claim)),
        r(M::POST, "/admin/cases/{id}/assign", Needs(P::CaseAssign), post(cases::workbench::assign)),
        r(M::POST, "/admin/cases/{id}/personal-data", Needs(P::CaseView), post(cases::workbench::reveal)),
        r(M::GET, "/admin/cases/{id}/files/{file}", Needs(P::CaseView), get(cases::workbench::file)),
        r(M::GET, "/admin/cases/{id}/materials/{file}", Needs(P::CaseView), get(applications::uploads::case_material)),
        r(M::GET, "/admin/cases/{id}/application.pdf", Needs(P::CaseView), get(applications::uploads::case_printout)),
        r(M::GET, "/admin/forms/{code}", Needs2(EDITORS), get(admin::forms::edit)),
        r(M::POST, "/admin/forms/{code}", Needs(P::ItemEdit), post(admin::forms::save)),
        r(M::GET, "/admin/supervision", Needs(P::CaseSupervise), get(cases::supervision::show)),
        r(M::GET, "/admin/workflows", Needs(P::WorkflowManage), get(cases::supervision::workflow)),
        r(M::POST, "/admin/workflows/{code}", Needs(P::WorkflowManage), post(cases::supervision::save_workflow)),
        r(M::POST, "/admin/workflows/{code}/reset", Needs(P::WorkflowManage), post(cases::supervision::reset_workflow)),
        // The halls' set-up and desk; the engine checks each hall's region against the scope.
        r(M::GET, "/admin/booking", Needs(P::BookingManage), get(booking::desk::setup)),
        r(M::POST, "/admin/booking/halls", Needs(P::BookingManage), post(booking::desk::create_hall)),
        r(M::POST, "/admin/booking/services", Needs(P::BookingManage), post(booking::desk::create_service)),
        r(M::POST, "/admin/booking/rules", Needs(P::BookingManage), post(booking::desk::add_rule)),
        r(M::GET, "/admin/booking/desk", Needs(P::BookingCheckin), get(booking::desk::desk)),
        r(M::POST, "/admin/booking/desk/checkin", Needs(P::BookingCheckin), post(booking::desk::check_in)),
        r(M::POST, "/admin/booking/desk/no-shows", Needs(P::BookingCheckin), post(booking::desk::no_shows)),
        r(M::POST, "/admin/booking/slots/{slot}/close", Needs(P::BookingManage), post(booking::desk::close_slot)),
        r(M::POST, "/admin/booking/slots/{slot}/capacity", Needs(P::BookingManage), post(booking::desk::set_capacity)),
        r(M::GET, "/admin/messages", Needs(P::MessageManage), get(messaging::admin::messages)),
        r(M::GET, "/admin/messages/{id}", Needs(P::MessageManage), get(messaging::admin::message)),
        r(M::POST, "/admin/messages/{id}/retry", Needs(P::MessageManage), post(messaging::admin::retry)),
        r(M::POST, "/admin/messages/{id}/cancel", Needs(P::MessageManage), post(messaging::admin::cancel)),
        r(M::GET, "/admin/templates", Needs(P::MessageManage), get(messaging::admin::templates)),
        r(M::POST, "/admin/templates", Needs(P::MessageManage), post(messaging::admin::save_template)),
        r(M::GET, "/admin/templates/new", Needs(P::MessageManage), get(messaging::admin::template_form)),
    ]
}

/// Every route with its guard, for tests and documentation.
pub fn route_table() -> Vec<RouteSpec> {
    table().into_iter().map(|(spec, _)| spec).collect()
}
