//! 好差评 over HTTP: the applicant rates a finished case (page and API) and rates the
//! department's answer to a 差评; a hall terminal rates a case by its number and query password;
//! staff answer 差评 tasks and appeal; supervisors decide appeals; the statistics page. 投诉:
//! making and following complaints (`complaints.rs`, the API in `complaints_api.rs`), handling and
//! publishing them
//! (`complaints_admin.rs`).

pub(crate) mod admin;
pub(crate) mod api;
pub(crate) mod complaints;
pub(crate) mod complaints_admin;
pub(crate) mod complaints_api;
pub(crate) mod kiosk;
pub(crate) mod rate;
pub(crate) mod upload;

use crate::AppError;
use axum::http::StatusCode;
use govhall_feedback::FeedbackError;
use govhall_feedback::model::{INDICATORS, LEVEL_LABELS, REASONS, Rating};

impl From<FeedbackError> for AppError {
    fn from(e: FeedbackError) -> Self {
        let e = match e {
            FeedbackError::Case(c) => return AppError::from(c),
            other => other,
        };
        let status = match &e {
            FeedbackError::Db(db) if govhall_core::Coded::code(db) == "database_busy" => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            FeedbackError::Db(_) | FeedbackError::Internal(_) | FeedbackError::Case(_) => return AppError::internal(e),
            FeedbackError::NotFound(_) => StatusCode::NOT_FOUND,
            FeedbackError::AlreadyRated(_) | FeedbackError::WrongState(_) => StatusCode::CONFLICT,
            FeedbackError::Expired(_) => StatusCode::GONE,
            FeedbackError::Invalid(_) | FeedbackError::TooManyFiles(_) => StatusCode::UNPROCESSABLE_ENTITY,
            FeedbackError::Forbidden(_) => StatusCode::FORBIDDEN,
            FeedbackError::TooMany(_) | FeedbackError::ChallengeRequired(_) => StatusCode::TOO_MANY_REQUESTS,
        };
        AppError::coded(status, &e)
    }
}

/// The levels a question offers: (value, label, chosen).
type Levels = Vec<(u8, &'static str, bool)>;

/// The rating form's choices: levels, indicators (key, name, levels), reasons (code, text,
/// chosen).
#[derive(Debug, Clone, Default)]
pub(crate) struct RatingForm {
    pub overall: Levels,
    pub indicators: Vec<(&'static str, &'static str, Levels)>,
    pub reasons: Vec<(&'static str, &'static str, bool)>,
    pub comment: String,
}

fn levels(chosen: Option<i64>) -> Levels {
    (1..=5u8).rev().map(|n| (n, LEVEL_LABELS[usize::from(n) - 1], chosen == Some(i64::from(n)))).collect()
}

impl RatingForm {
    /// The form showing `r` (indicators only when `online`).
    pub(crate) fn of(r: &Rating, online: bool) -> RatingForm {
        let indicator = |key: &str| match key {
            "efficiency" => r.efficiency,
            "guide_accuracy" => r.guide_accuracy,
            "convenience" => r.convenience,
            _ => r.usability,
        };
        RatingForm {
            overall: levels((r.overall > 0).then_some(r.overall)),
            indicators: if online {
                INDICATORS.iter().map(|(k, name)| (*k, *name, levels(indicator(k)))).collect()
            } else {
                Vec::new()
            },
            reasons: REASONS.iter().map(|(c, t)| (*c, *t, r.reasons.iter().any(|x| x == c))).collect(),
            comment: r.comment.clone(),
        }
    }
}

/// A rating from a posted form's pairs (`overall`, the indicators, `reason` repeated, `comment`).
pub(crate) fn rating_from(pairs: &[(String, String)]) -> Rating {
    let number = |key: &str| pairs.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.trim().parse::<i64>().ok());
    Rating {
        overall: number("overall").unwrap_or(0),
        efficiency: number("efficiency"),
        guide_accuracy: number("guide_accuracy"),
        convenience: number("convenience"),
        usability: number("usability"),
        reasons: pairs.iter().filter(|(k, _)| k == "reason").map(|(_, v)| v.clone()).collect(),
        comment: pairs.iter().find(|(k, _)| k == "comment").map(|(_, v)| v.clone()).unwrap_or_default(),
    }
}

/// The routes of 好差评, each with who may call it (see [`crate::routes`]).
pub(crate) fn routes() -> Vec<crate::routes::Entry> {
    use crate::auth::Guard::{AnyOf, Permission as Needs, Public, SignedIn};
    use crate::routes::r;
    use axum::http::Method as M;
    use axum::routing::{get, post};
    use govhall_identity::Permission as P;
    const STAFF: &[P] = &[P::EvaluationHandle, P::EvaluationSupervise];
    const COMPLAINT_STAFF: &[P] = &[P::ComplaintHandle, P::ComplaintSupervise];
    vec![
        r(M::GET, "/account/cases/{serial}/evaluation", SignedIn, get(rate::show)),
        r(M::POST, "/account/cases/{serial}/evaluation", SignedIn, post(rate::submit)),
        r(M::POST, "/account/cases/{serial}/evaluation/rectification", SignedIn, post(rate::rate_answer)),
        r(M::GET, "/api/v1/me/cases/{serial}/evaluation", SignedIn, get(api::show)),
        r(M::POST, "/api/v1/me/cases/{serial}/evaluation", SignedIn, post(api::submit)),
        r(M::POST, "/api/v1/me/cases/{serial}/evaluation/rectification", SignedIn, post(api::rate_answer)),
        r(M::GET, "/api/v1/me/evaluations/pending", SignedIn, get(api::pending)),
        r(M::GET, "/kiosk/evaluate", Public, get(kiosk::show)),
        r(M::POST, "/kiosk/evaluate", Public, post(kiosk::submit)),
        r(M::GET, "/admin/evaluations", AnyOf(STAFF), get(admin::list)),
        r(M::GET, "/admin/evaluations/tasks/{id}", AnyOf(STAFF), get(admin::task)),
        r(M::POST, "/admin/evaluations/tasks/{id}", Needs(P::EvaluationHandle), post(admin::answer)),
        r(M::POST, "/admin/evaluations/tasks/{id}/appeal", Needs(P::EvaluationHandle), post(admin::appeal)),
        r(M::GET, "/admin/evaluations/tasks/{id}/files/{file}", AnyOf(STAFF), get(admin::file)),
        r(M::POST, "/admin/evaluations/appeals/{id}", Needs(P::EvaluationSupervise), post(admin::decide)),
        r(M::GET, "/admin/evaluations/statistics", AnyOf(STAFF), get(admin::statistics)),
        // 投诉.
        r(M::GET, "/complaints/new", Public, get(complaints::new)),
        r(M::POST, "/complaints", Public, post(complaints::create)),
        r(M::GET, "/complaints/query", Public, get(complaints::query_page)),
        r(M::POST, "/complaints/query", Public, post(complaints::query)),
        r(M::POST, "/complaints/query/files/{file}", Public, post(complaints::query_file)),
        r(M::GET, "/complaints/published", Public, get(complaints::published)),
        r(M::GET, "/account/complaints", SignedIn, get(complaints::mine)),
        r(M::GET, "/account/complaints/{number}", SignedIn, get(complaints::my_one)),
        r(M::POST, "/account/complaints/{number}/act", SignedIn, post(complaints::my_act)),
        r(M::GET, "/account/complaints/{number}/files/{file}", SignedIn, get(complaints::my_file)),
        r(M::POST, "/api/v1/me/complaints", SignedIn, post(complaints_api::api_create)),
        r(M::GET, "/api/v1/me/complaints", SignedIn, get(complaints_api::api_mine)),
        r(M::GET, "/api/v1/me/complaints/{number}", SignedIn, get(complaints_api::api_one)),
        r(M::POST, "/api/v1/me/complaints/{number}/actions", SignedIn, post(complaints_api::api_act)),
        r(M::GET, "/api/v1/me/complaints/{number}/files/{file}", SignedIn, get(complaints_api::api_file)),
        r(M::GET, "/api/v1/challenge", Public, get(complaints_api::api_challenge)),
        r(M::POST, "/api/v1/complaints/code", Public, post(complaints_api::api_code)),
        r(M::POST, "/api/v1/complaints", Public, post(complaints_api::api_create_anonymous)),
        r(M::POST, "/api/v1/complaints/{number}/lookup", Public, post(complaints_api::api_lookup)),
        r(M::POST, "/api/v1/complaints/{number}/actions", Public, post(complaints_api::api_act_by_password)),
        r(M::POST, "/api/v1/complaints/{number}/files/{file}", Public, post(complaints_api::api_file_by_password)),
        r(M::GET, "/admin/complaints", AnyOf(COMPLAINT_STAFF), get(complaints_admin::list)),
        r(M::GET, "/admin/complaints/routes", Needs(P::ComplaintSupervise), get(complaints_admin::routes)),
        r(M::POST, "/admin/complaints/routes", Needs(P::ComplaintSupervise), post(complaints_admin::add_route)),
        r(
            M::POST,
            "/admin/complaints/routes/{id}/delete",
            Needs(P::ComplaintSupervise),
            post(complaints_admin::remove_route),
        ),
        r(M::GET, "/admin/complaints/{id}", AnyOf(COMPLAINT_STAFF), get(complaints_admin::one)),
        r(M::POST, "/admin/complaints/{id}", Needs(P::ComplaintHandle), post(complaints_admin::decide)),
        r(M::POST, "/admin/complaints/{id}/phone", Needs(P::ComplaintHandle), post(complaints_admin::phone)),
        r(M::POST, "/admin/complaints/{id}/publish", Needs(P::ComplaintHandle), post(complaints_admin::publish)),
        r(M::GET, "/admin/complaints/{id}/files/{file}", AnyOf(COMPLAINT_STAFF), get(complaints_admin::file)),
    ]
}
