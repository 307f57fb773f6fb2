//! Tracking: the courier's events arrive by signed push (`POST /api/v1/logistics/notifications`)
//! and by the hall's own query (a job per parcel on its way, every `poll_minutes`, and staff's
//! 刷新物流), and both go through [`Logistics::apply`]. An event is kept once by its id, so a
//! replayed push changes nothing; events may arrive in any order, so the state is worked out
//! from all of them — the first final event (签收, 退回, 遗失) ends the shipment, otherwise the
//! latest event by when it happened says where the parcel is —, and an ended shipment never
//! goes back. The delivery takes the case's 送达 step in the same transaction.

use crate::courier::protocol::{EventStatus, Tracking};
use crate::model::ShipmentState;
use crate::queries::{COLUMNS, Row};
use crate::{Logistics, LogisticsError, ShipmentId, notify, ship};
use chrono::{DateTime, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_cases::CaseError;
use govhall_cases::transition::Action;
use govhall_db::jobs::{self, JobContext, JobError, JobRegistry, NewJob};
use govhall_db::{Tx, exec, run, sqlx};
use govhall_messaging::signed::Signed;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The job that asks the courier about one parcel.
pub const TRACK_JOB: &str = "logistics.track";
/// Most events one message may carry.
pub const MAX_EVENTS: usize = 200;
/// Days after sending the hall stops asking about a parcel that never ended.
pub const GIVE_UP_DAYS: i64 = 60;

/// What a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    /// Nothing new (a replay, or events already known).
    Duplicate,
    /// New events recorded; the state is as it was.
    Recorded,
    /// New events changed the state.
    Changed(ShipmentState),
}

#[derive(Debug, Serialize, Deserialize)]
struct TrackPayload {
    shipment: ShipmentId,
}

/// Enqueues a query of `shipment` at `at`, in `tx`.
pub(crate) async fn schedule(tx: &mut Tx, shipment: ShipmentId, at: DateTime<Utc>) -> Result<(), LogisticsError> {
    let key = format!("{TRACK_JOB}:{}:{}", shipment.as_uuid(), at.timestamp());
    jobs::enqueue(tx, NewJob::new(TRACK_JOB, &TrackPayload { shipment })?.idempotency_key(key).run_at(at)).await?;
    Ok(())
}

pub(crate) fn register(l: &Logistics, registry: &mut JobRegistry) {
    let logistics = l.clone();
    registry.register(TRACK_JOB, move |ctx: JobContext| {
        let logistics = logistics.clone();
        async move {
            let payload: TrackPayload = serde_json::from_value(ctx.payload.clone()).map_err(JobError::permanent)?;
            logistics.poll(payload.shipment).await.map_err(JobError::retry)
        }
    });
}

fn courier_actor() -> Actor {
    Actor::system("快递公司")
}

/// Checks a message's events; the error says which is wrong.
fn check(tracking: &Tracking, now: DateTime<Utc>) -> Result<(), LogisticsError> {
    if tracking.events.len() > MAX_EVENTS {
        return Err(LogisticsError::BadMessage(format!("一次最多推送 {MAX_EVENTS} 条物流事件")));
    }
    for (i, e) in tracking.events.iter().enumerate() {
        let n = i + 1;
        let id_ok =
            !e.event_id.is_empty() && e.event_id.len() <= 64 && e.event_id.bytes().all(|b| b.is_ascii_graphic());
        if !id_ok {
            return Err(LogisticsError::BadMessage(format!("第 {n} 条事件的 event_id 应为 1 到 64 位可见字符")));
        }
        if e.description.chars().count() > 200 || e.location.chars().count() > 100 {
            return Err(LogisticsError::BadMessage(format!("第 {n} 条事件的描述或地点过长")));
        }
        if e.occurred_at > now + chrono::Duration::minutes(10) {
            return Err(LogisticsError::BadMessage(format!("第 {n} 条事件的发生时间晚于当前时间")));
        }
    }
    Ok(())
}

/// Where a shipment stands after `events` (status, when), given where it stood.
fn state_after(current: ShipmentState, events: &[(EventStatus, DateTime<Utc>)]) -> ShipmentState {
    if current.is_final() {
        return current;
    }
    let first_final = events.iter().filter(|(s, _)| s.is_final()).min_by_key(|(s, at)| (*at, *s));
    if let Some((s, _)) = first_final {
        return ShipmentState::Tracked(*s);
    }
    match events.iter().max_by_key(|(s, at)| (*at, *s)) {
        Some((s, _)) => ShipmentState::Tracked(*s),
        None => current,
    }
}

impl Logistics {
    /// A push from the courier: refused unless its signature verifies; then applied.
    pub async fn receive_push(&self, signed: &Signed, body: &[u8]) -> Result<Applied, LogisticsError> {
        let tracking = self.courier().verify_push(signed, body, Utc::now())?;
        self.apply(&tracking, "push").await
    }

    /// Asks the courier about `shipment` now and applies the answer (staff's 刷新物流).
    pub async fn refresh(&self, shipment: ShipmentId) -> Result<Applied, LogisticsError> {
        let row = self.row(&mut self.db().conn().await?, shipment).await?;
        let Some(waybill) = row.waybill_no.filter(|_| row.state != "ordering") else {
            return Err(LogisticsError::WrongState("快件尚未下单成功，没有物流信息".into()));
        };
        let tracking = self.courier().query(&self.settings().customer, &waybill).await?;
        self.apply(&tracking, "query").await
    }

    /// The job: asks about a parcel on its way and schedules the next question, until it ends
    /// or [`GIVE_UP_DAYS`] pass.
    async fn poll(&self, shipment: ShipmentId) -> Result<(), LogisticsError> {
        let row = self.row(&mut self.db().conn().await?, shipment).await?;
        let state = ShipmentState::parse(&row.state).unwrap_or(ShipmentState::Ordering);
        if state.is_final() || state == ShipmentState::Ordering {
            return Ok(());
        }
        if let Err(e) = self.refresh(shipment).await {
            // The next question may get through; the push may arrive meanwhile.
            tracing::warn!(shipment = %shipment.as_uuid(), error = %e, "courier query failed");
        }
        let row = self.row(&mut self.db().conn().await?, shipment).await?;
        let now = self.db().now();
        let ended = ShipmentState::parse(&row.state).is_some_and(ShipmentState::is_final);
        if !ended && now - row.created_at < chrono::Duration::days(GIVE_UP_DAYS) {
            let mut tx = self.db().begin().await?;
            schedule(&mut tx, shipment, now + chrono::Duration::minutes(i64::from(self.settings().poll_minutes)))
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Records the events of `tracking` and what they change, in one transaction.
    pub async fn apply(&self, tracking: &Tracking, source: &str) -> Result<Applied, LogisticsError> {
        let now = self.db().now();
        if tracking.customer != self.settings().customer {
            return Err(LogisticsError::BadMessage("客户编码与本大厅不符".into()));
        }
        check(tracking, now)?;
        let sql = format!("SELECT {COLUMNS} WHERE waybill_no = $1");
        let row: Option<Row> = {
            let mut conn = self.db().conn().await?;
            run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&tracking.waybill_no)
                .fetch_optional(&mut *c)
                .await)?
        };
        let row = row.ok_or(LogisticsError::UnknownWaybill)?;
        let id = ShipmentId::from_uuid(row.id);
        // What the transaction needs from other domains, read before it begins.
        let case = self.cases().for_reckoning(govhall_cases::CaseId::from_uuid(row.case_id)).await?.0;
        let mut tx = self.db().begin().await?;
        // Take the shipment's row first, so that two messages for it apply one after the other.
        exec!(tx, sqlx::query("UPDATE shipments SET updated_at = $1 WHERE id = $2").bind(now).bind(row.id))?;
        let row = self.row(&mut tx, id).await?;
        let current =
            ShipmentState::parse(&row.state).ok_or_else(|| LogisticsError::Internal("快件状态无效".into()))?;
        let mut added = 0;
        for e in &tracking.events {
            added += exec!(
                tx,
                sqlx::query(
                    "INSERT INTO shipment_events (shipment_id, event_id, status, description, location, occurred_at,
                         received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (shipment_id, event_id) DO NOTHING"
                )
                .bind(row.id)
                .bind(&e.event_id)
                .bind(e.status.as_str())
                .bind(govhall_core::text::clean(e.description.trim()).as_ref())
                .bind(govhall_core::text::clean(e.location.trim()).as_ref())
                .bind(e.occurred_at)
                .bind(now)
            )?;
        }
        if added == 0 {
            tx.commit().await?;
            return Ok(Applied::Duplicate);
        }
        let all: Vec<(String, DateTime<Utc>)> =
            run!(tx, |c| sqlx::query_as("SELECT status, occurred_at FROM shipment_events WHERE shipment_id = $1")
                .bind(row.id)
                .fetch_all(&mut *c)
                .await)?;
        let all: Vec<(EventStatus, DateTime<Utc>)> =
            all.into_iter().filter_map(|(s, at)| Some((EventStatus::parse(&s)?, at))).collect();
        let next = state_after(current, &all);
        if next == current {
            tx.commit().await?;
            return Ok(Applied::Recorded);
        }
        let delivered_at = match next {
            ShipmentState::Tracked(EventStatus::Delivered) => {
                all.iter().filter(|(s, _)| *s == EventStatus::Delivered).map(|(_, at)| *at).min()
            }
            _ => None,
        };
        exec!(
            tx,
            sqlx::query("UPDATE shipments SET state = $1, delivered_at = $2 WHERE id = $3")
                .bind(next.as_str())
                .bind(delivered_at)
                .bind(row.id)
        )?;
        let waybill = row.waybill_no.clone().unwrap_or_default();
        let actor = courier_actor();
        audit::record(
            &mut tx,
            &actor,
            Event::success("shipment.track", "shipment", row.id).detail(format!(
                "运单号 {waybill}：{} → {}（{source}）",
                current.label(),
                next.label()
            )),
        )
        .await?;
        let recipient: crate::courier::protocol::Party =
            serde_json::from_str(&self.identity().keys().decrypt(&row.recipient_enc)?).unwrap_or_else(|_| {
                crate::courier::protocol::Party {
                    name: String::new(),
                    phone: String::new(),
                    division_code: String::new(),
                    address: String::new(),
                }
            });
        let phone = govhall_core::Phone::parse(&recipient.phone).ok();
        let at = delivered_at.map(|t| govhall_core::clock::china_time(t).format("%Y-%m-%d %H:%M").to_string());
        let params = json!({
            "serial": case.serial_number,
            "item": case.item_name,
            "department": case.department_name,
            "waybill": waybill,
            "state": next.label(),
            "what": crate::model::Direction::parse(&row.direction).what(),
            "at": at.clone().unwrap_or_default(),
        });
        let key = format!("shipment:{}:{}", row.id, next.as_str());
        match next {
            ShipmentState::Tracked(EventStatus::Delivered) => {
                // A result delivered takes the case's 送达 step; materials reaching the
                // department move nothing (staff take them in as the workflow says).
                if crate::model::Direction::parse(&row.direction) == crate::model::Direction::Result {
                    self.deliver_case(&mut tx, &case, &row, at.as_deref().unwrap_or_default()).await?;
                }
                // A person without an account has no inbox (their contact number was told, if any).
                if let Some(account) = case.applicant_id {
                    govhall_messaging::tell_person(
                        &mut tx,
                        self.messaging(),
                        notify::DELIVERED,
                        account.as_uuid(),
                        phone.as_ref(),
                        params,
                        &key,
                    )
                    .await?;
                }
            }
            ShipmentState::Tracked(EventStatus::Returned | EventStatus::Lost) => {
                // A person without an account has no inbox (their contact number was told, if any).
                if let Some(account) = case.applicant_id {
                    govhall_messaging::tell_person(
                        &mut tx,
                        self.messaging(),
                        notify::FAILED,
                        account.as_uuid(),
                        phone.as_ref(),
                        params,
                        &key,
                    )
                    .await?;
                }
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(Applied::Changed(next))
    }

    /// Takes the case's 送达 step for a delivered result (unless staff took it meanwhile).
    async fn deliver_case(
        &self,
        tx: &mut Tx,
        case: &govhall_cases::Case,
        row: &Row,
        at: &str,
    ) -> Result<(), LogisticsError> {
        let Some(action) = ship::deliver_action(case) else { return Ok(()) };
        let note =
            format!("快递送达：{} 运单号 {}，{at} 签收", row.carrier, row.waybill_no.as_deref().unwrap_or_default());
        let action = Action { case: case.id, action, note, quiet: true, ..Action::default() };
        match self.cases().act_in(tx, &courier_actor(), action).await {
            Ok(_) => Ok(()),
            // Staff took 送达 by hand meanwhile, or the case ended otherwise.
            Err(CaseError::IllegalTransition(_) | CaseError::Forbidden(_)) => {
                tracing::warn!(case = %case.serial_number, "delivered result of a case no longer at 送达");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventStatus::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap_or_default()
    }

    #[test]
    fn the_state_comes_from_all_events_whatever_their_order_and_an_end_is_final() {
        let created = ShipmentState::Created;
        assert_eq!(state_after(created, &[(InTransit, at(2)), (PickedUp, at(1))]), ShipmentState::Tracked(InTransit));
        // Delivered arrived before the older transit event: still delivered.
        assert_eq!(
            state_after(created, &[(Delivered, at(5)), (InTransit, at(2)), (OutForDelivery, at(4))]),
            ShipmentState::Tracked(Delivered)
        );
        // An ended shipment never changes, even with a later event.
        assert_eq!(
            state_after(ShipmentState::Tracked(Delivered), &[(Returned, at(9))]),
            ShipmentState::Tracked(Delivered)
        );
        // The first end counts.
        assert_eq!(state_after(created, &[(Returned, at(9)), (Delivered, at(5))]), ShipmentState::Tracked(Delivered));
        // An exception is not an end; a later event moves on.
        assert_eq!(
            state_after(created, &[(Exception, at(3)), (OutForDelivery, at(4))]),
            ShipmentState::Tracked(OutForDelivery)
        );
        assert_eq!(state_after(created, &[]), created);
    }
}
