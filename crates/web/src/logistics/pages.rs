//! Staff's part of logistics on the case page: send the result by courier, print the waybill,
//! ask the courier now (刷新物流).

use super::shipment_id;
use crate::AppError;
use crate::auth::SignedIn;
use crate::cases::workbench::{answer, case_id};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;

/// 快递寄送: books the shipment with the courier (the form carries only the CSRF token).
pub(crate) async fn send(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = case_id(&id)?;
    let result = state.logistics.send_result(&viewer.access, &ctx.actor(), id).await;
    answer(&state, &viewer, &ctx, id, result).await
}

/// 刷新物流: asks the courier about the shipment now.
pub(crate) async fn refresh(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = shipment_id(&id)?;
    // Only staff who can see the case learn anything about its shipment.
    let case = state.logistics.case_of(&viewer.access, id).await?;
    let result = state.logistics.refresh(id).await;
    answer(&state, &viewer, &ctx, case, result).await
}

/// The waybill (PDF) to put on the parcel.
pub(crate) async fn waybill(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = shipment_id(&id)?;
    let font = state.applications.font()?;
    let bytes = state.logistics.waybill_pdf(&viewer.access, &ctx.actor(), id, font).await?;
    Ok(crate::applications::confirm::pdf(bytes, &format!("快递运单-{id}")))
}

/// 预约快递上门取件: the applicant sends their paper materials to the department.
pub(crate) async fn book_pickup(
    State(state): State<AppState>,
    SignedIn(viewer, ctx): SignedIn,
    Path(serial): Path<String>,
) -> Result<Response, AppError> {
    use axum::response::IntoResponse;
    match state.logistics.send_materials(viewer.account.id, &ctx.actor(), &serial).await {
        Ok(_) => Ok(axum::response::Redirect::to(&format!("/account/cases/{serial}")).into_response()),
        Err(govhall_logistics::LogisticsError::NotFound) => Err(govhall_logistics::LogisticsError::NotFound.into()),
        Err(e) => {
            let (status, error) = crate::html::form_error(e)?;
            let page = crate::cases::progress::my_case_page(&state, &viewer, &ctx, &serial, error).await?;
            Ok(crate::html::with_status(status, page))
        }
    }
}
