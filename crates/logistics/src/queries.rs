//! Reading shipments: the stored rows opened (the recipient decrypted) into [`Shipment`]s, for
//! the applicant of the case and for staff whose `case.view` reaches it.

use crate::courier::protocol::{EventStatus, Party};
use crate::model::{Shipment, ShipmentState, TrackingEvent};
use crate::{Logistics, LogisticsError, ShipmentId};
use chrono::{DateTime, Utc};
use govhall_cases::{Case, CaseId};
use govhall_db::{Target, run, sqlx};
use govhall_identity::{Access, AccountId};
use uuid::Uuid;

pub(crate) const COLUMNS: &str = "id, case_id, direction, waybill_no, carrier, state, recipient_enc, sender, \
    created_by_name, created_at, delivered_at FROM shipments";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Row {
    pub id: Uuid,
    pub case_id: Uuid,
    pub direction: String,
    pub waybill_no: Option<String>,
    pub carrier: String,
    pub state: String,
    pub recipient_enc: String,
    pub sender: String,
    pub created_by_name: String,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

type EventRow = (String, String, String, String, DateTime<Utc>);

impl Logistics {
    /// A row opened, with its events.
    pub(crate) async fn open(&self, target: &mut impl Target, row: Row) -> Result<Shipment, LogisticsError> {
        let unreadable = || LogisticsError::Internal("快件数据无法读取".into());
        // The applicant's end is sealed (`recipient_enc`), the department's is public (`sender`),
        // whichever way the parcel goes.
        let applicant: Party =
            serde_json::from_str(&self.identity().keys().decrypt(&row.recipient_enc)?).map_err(|_| unreadable())?;
        let department: Party = serde_json::from_str(&row.sender).map_err(|_| unreadable())?;
        let direction = crate::model::Direction::parse(&row.direction);
        let (sender, recipient) = match direction {
            crate::model::Direction::Result => (department, applicant),
            crate::model::Direction::Materials => (applicant, department),
        };
        let state = ShipmentState::parse(&row.state).ok_or_else(unreadable)?;
        let events: Vec<EventRow> = run!(target, |c| sqlx::query_as(
            "SELECT event_id, status, description, location, occurred_at FROM shipment_events
             WHERE shipment_id = $1 ORDER BY occurred_at DESC, received_at DESC"
        )
        .bind(row.id)
        .fetch_all(&mut *c)
        .await)?;
        let events = events
            .into_iter()
            .filter_map(|(event_id, status, description, location, occurred_at)| {
                Some(TrackingEvent {
                    event_id,
                    status: EventStatus::parse(&status)?,
                    description,
                    location,
                    occurred_at,
                })
            })
            .collect();
        Ok(Shipment {
            id: ShipmentId::from_uuid(row.id),
            case_id: CaseId::from_uuid(row.case_id),
            direction,
            waybill_no: row.waybill_no,
            carrier: row.carrier,
            state,
            state_label: state.label(),
            recipient,
            sender,
            created_by_name: row.created_by_name,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
            events,
        })
    }

    /// The shipments of a case, newest first.
    pub(crate) async fn of_case(&self, case: CaseId) -> Result<Vec<Shipment>, LogisticsError> {
        let sql = format!("SELECT {COLUMNS} WHERE case_id = $1 ORDER BY created_at DESC");
        let mut conn = self.db().conn().await?;
        let rows: Vec<Row> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(case.as_uuid())
            .fetch_all(&mut *c)
            .await)?;
        let mut all = Vec::with_capacity(rows.len());
        for row in rows {
            all.push(self.open(&mut conn, row).await?);
        }
        Ok(all)
    }

    /// One shipment's row.
    pub(crate) async fn row(&self, target: &mut impl Target, id: ShipmentId) -> Result<Row, LogisticsError> {
        let sql = format!("SELECT {COLUMNS} WHERE id = $1");
        let row: Option<Row> = run!(target, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.ok_or(LogisticsError::NotFound)
    }

    /// The shipments of one of `account`'s cases (its applicant, or an active member of the
    /// enterprise it was submitted for), by the case's serial number; otherwise not found.
    pub async fn mine(&self, account: AccountId, serial: &str) -> Result<Vec<Shipment>, LogisticsError> {
        let case = self.cases().mine_by_serial(account, serial).await?;
        self.of_case(case.id).await
    }

    /// The shipments of `case`, which the caller has already read as its applicant.
    pub async fn of_applicants_case(&self, case: &Case) -> Result<Vec<Shipment>, LogisticsError> {
        self.of_case(case.id).await
    }

    /// The shipments of a case for staff whose `case.view` reaches it; the recipient masked
    /// unless they may view the case's personal data.
    pub async fn for_staff(&self, access: &Access, case: CaseId) -> Result<Vec<Shipment>, LogisticsError> {
        let c = self.cases().get(access, case).await?;
        let mut all = self.of_case(c.id).await?;
        if !access.covers(govhall_identity::Permission::CaseViewPersonalData, &govhall_cases::queries::target(&c)) {
            for s in &mut all {
                match s.direction {
                    crate::model::Direction::Result => s.recipient = masked(&s.recipient),
                    crate::model::Direction::Materials => s.sender = masked(&s.sender),
                }
            }
        }
        Ok(all)
    }
}

/// The recipient as staff without the right to personal data see them: 张*, 138****0000, the
/// address hidden.
pub fn masked(p: &Party) -> Party {
    let first: String = p.name.chars().take(1).collect();
    let phone = if p.phone.len() == 11 && p.phone.is_ascii() {
        format!("{}****{}", &p.phone[..3], &p.phone[7..])
    } else {
        "****".into()
    };
    Party {
        name: format!("{first}*"), phone, division_code: p.division_code.clone(), address: "（地址已隐藏）".into()
    }
}

impl Logistics {
    /// The case of `shipment`, for staff whose `case.view` reaches it (otherwise not found).
    pub async fn case_of(&self, access: &Access, shipment: ShipmentId) -> Result<CaseId, LogisticsError> {
        let row = self.row(&mut self.db().conn().await?, shipment).await?;
        let case = self.cases().get(access, CaseId::from_uuid(row.case_id)).await?;
        Ok(case.id)
    }
}
