//! Sending a result by courier (送达 by post): staff who may take the case's 送达 step now send
//! it to the address the applicant chose. The shipment is first recorded as `ordering` — it
//! holds the case's one live shipment while the courier is asked —, then booked under its own
//! id as order number (a retry after a lost answer books the same order, and the courier
//! answers with the same waybill), then marked `created` with the waybill number, the
//! applicant told and the first tracking query scheduled, in one transaction. The case stays
//! at its 送达 step until the courier reports the parcel delivered.

use crate::courier::protocol::{CreateShipment, Party};
use crate::model::{Direction, Shipment};
use crate::queries::{COLUMNS, Row};
use crate::{Logistics, LogisticsError, ShipmentId, notify, track};
use govhall_audit::{self as audit, Actor, Event};
use govhall_cases::transition::{Action, By};
use govhall_cases::workflow::Effect;
use govhall_cases::{Case, CaseId};
use govhall_catalog::form::delivery;
use govhall_db::{exec, run, sqlx};
use govhall_identity::{Access, AccountId};
use serde_json::{Map, Value, json};

/// What the applicant chose for receiving the result.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Choice {
    /// Collect it at the window (or nothing was asked: the item does not courier results).
    Pickup,
    /// By courier to this address.
    Courier(Party),
}

/// The action that takes `case`'s 送达 step now, if it is at one.
pub fn deliver_action(case: &Case) -> Option<String> {
    case.workflow
        .transitions
        .iter()
        .find(|t| t.from == case.step && t.effect == Some(Effect::Deliver))
        .map(|t| t.action.clone())
}

fn text<'a>(form: &'a Map<String, Value>, key: &str) -> &'a str {
    form.get(key).and_then(Value::as_str).map(str::trim).unwrap_or_default()
}

impl Logistics {
    /// What the applicant chose, from the case's answers (the division names read from the
    /// division codes).
    pub(crate) async fn choice_of(&self, form: &Map<String, Value>) -> Result<Choice, LogisticsError> {
        if text(form, delivery::METHOD) != delivery::COURIER {
            return Ok(Choice::Pickup);
        }
        let address = form.get(delivery::ADDRESS).cloned().unwrap_or_default();
        let part = |k: &str| address.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut names = String::new();
        let mut division_code = String::new();
        for code in [part("province"), part("city"), part("county")] {
            if code.is_empty() {
                continue;
            }
            if let Some(r) = govhall_identity::regions::get(self.db(), &code).await? {
                names.push_str(&r.full_name);
                division_code = code;
            }
        }
        Ok(Choice::Courier(Party {
            name: text(form, delivery::RECIPIENT).to_owned(),
            phone: text(form, delivery::PHONE).to_owned(),
            division_code,
            address: format!("{names}{}", part("street").trim()),
        }))
    }

    /// What the applicant of case `case` chose, for staff whose `case.view` reaches it (the
    /// address is the applicant's personal data: shown masked unless they may see it).
    pub async fn choice_for_staff(&self, access: &Access, case: CaseId) -> Result<Choice, LogisticsError> {
        let c = self.cases().get(access, case).await?;
        let (_, form) = self.cases().for_reckoning(c.id).await?;
        let choice = self.choice_of(&form).await?;
        let may_see =
            access.covers(govhall_identity::Permission::CaseViewPersonalData, &govhall_cases::queries::target(&c));
        Ok(match choice {
            Choice::Courier(p) if !may_see => Choice::Courier(crate::queries::masked(&p)),
            other => other,
        })
    }

    /// Sends the result of `case` by courier, for staff who may take its 送达 step now.
    pub async fn send_result(&self, access: &Access, actor: &Actor, case: CaseId) -> Result<Shipment, LogisticsError> {
        let (c, form) = self.cases().for_reckoning(case).await?;
        let Some(action) = deliver_action(&c).filter(|_| c.is_open) else {
            return Err(LogisticsError::WrongState("办件尚未到“送达”环节，不能寄出结果".into()));
        };
        // The same checks as taking 送达 by hand: permission over the case, the assignee.
        self.cases().check_move(By::Staff(access, actor), &Action { case, action, ..Action::default() }).await?;
        let Choice::Courier(recipient) = self.choice_of(&form).await? else {
            return Err(LogisticsError::WrongState("申请人选择了窗口领取，请在其领取后办理“送达”".into()));
        };
        if recipient.name.is_empty() || recipient.phone.is_empty() || recipient.division_code.is_empty() {
            return Err(LogisticsError::WrongState("申请人填写的收件信息不完整，请联系申请人".into()));
        }
        let department = self.sender(&c).await?;
        self.book(&c, actor, Direction::Result, recipient, department).await
    }

    /// The applicant books a courier to pick up their paper materials at the address they gave
    /// and take them to the department (纸质材料寄送): their own open case, whose answers chose
    /// 快递上门取件.
    pub async fn send_materials(
        &self,
        account: AccountId,
        actor: &Actor,
        serial: &str,
    ) -> Result<Shipment, LogisticsError> {
        let c = self.cases().mine_by_serial(account, serial).await?;
        if !c.is_open || c.outcome.is_some() {
            return Err(LogisticsError::WrongState("办件已办结，无需再寄送材料".into()));
        }
        let (_, form) = self.cases().for_reckoning(c.id).await?;
        let Choice::Courier(applicant) = self.choice_of(&form).await? else {
            return Err(LogisticsError::WrongState("申请时未选择快递，不能预约上门取件".into()));
        };
        if text(&form, delivery::MATERIALS) != delivery::PICK_UP {
            return Err(LogisticsError::WrongState("申请时选择了自行递交纸质材料".into()));
        }
        if applicant.name.is_empty() || applicant.phone.is_empty() || applicant.division_code.is_empty() {
            return Err(LogisticsError::WrongState("申请时填写的地址信息不完整，不能预约上门取件".into()));
        }
        let department = self.sender(&c).await?;
        self.book(&c, actor, Direction::Materials, applicant, department).await
    }

    /// Whether the applicant of `c` may book a pickup of paper materials now: they chose it, the
    /// case is still being handled, and no parcel of materials is on its way.
    pub async fn offers_pickup(&self, c: &Case) -> Result<bool, LogisticsError> {
        if !c.is_open || c.outcome.is_some() {
            return Ok(false);
        }
        let (_, form) = self.cases().for_reckoning(c.id).await?;
        if text(&form, delivery::MATERIALS) != delivery::PICK_UP || text(&form, delivery::METHOD) != delivery::COURIER {
            return Ok(false);
        }
        let shipments = self.of_case(c.id).await?;
        Ok(!shipments
            .iter()
            .any(|s| s.direction == Direction::Materials && !s.state.is_final() && s.waybill_no.is_some()))
    }

    /// Books a parcel of `direction` between the applicant and the department and records it.
    async fn book(
        &self,
        c: &Case,
        actor: &Actor,
        direction: Direction,
        applicant: Party,
        department: Party,
    ) -> Result<Shipment, LogisticsError> {
        let id = self.hold(c, actor, direction, &applicant, &department).await?;
        let phone = govhall_core::Phone::parse(&applicant.phone).ok();
        let (sender, recipient) = match direction {
            Direction::Result => (department, applicant),
            Direction::Materials => (applicant, department),
        };
        let request = CreateShipment {
            customer: self.settings().customer.clone(),
            order_no: id.as_uuid().simple().to_string(),
            sender,
            recipient,
            cargo: format!("政务文件：{}{}", c.item_name, direction.what()),
            notify_url: self.notify_url(),
        };
        let created = self.courier().create(&request).await?;
        let mut tx = self.db().begin().await?;
        let now = tx.db().now();
        let changed = exec!(
            tx,
            sqlx::query(
                "UPDATE shipments SET state = 'created', waybill_no = $1, carrier = $2, updated_at = $3
                 WHERE id = $4 AND state = 'ordering'"
            )
            .bind(&created.waybill_no)
            .bind(&created.carrier)
            .bind(now)
            .bind(id.as_uuid())
        )?;
        if changed == 0 {
            // Booked by a click at the same time: that one recorded it.
            drop(tx);
            let row = self.row(&mut self.db().conn().await?, id).await?;
            return self.open(&mut self.db().conn().await?, row).await;
        }
        let params = json!({
            "serial": c.serial_number,
            "item": c.item_name,
            "department": c.department_name,
            "carrier": created.carrier,
            "what": direction.what(),
            "waybill": created.waybill_no,
        });
        let key = format!("shipment:{}:sent", id.as_uuid());
        // A person without an account has no inbox (their contact number was told, if any).
        if let Some(account) = c.applicant_id {
            govhall_messaging::tell_person(
                &mut tx,
                self.messaging(),
                notify::SENT,
                account.as_uuid(),
                phone.as_ref(),
                params,
                &key,
            )
            .await?;
        }
        audit::record(
            &mut tx,
            actor,
            Event::success("shipment.create", "shipment", id.as_uuid()).detail(format!(
                "办件 {}，{}，{} 运单号 {}",
                c.serial_number,
                direction.what(),
                created.carrier,
                created.waybill_no
            )),
        )
        .await?;
        track::schedule(&mut tx, id, now + chrono::Duration::minutes(i64::from(self.settings().poll_minutes))).await?;
        let row = self.row(&mut tx, id).await?;
        let shipment = self.open(&mut tx, row).await?;
        tx.commit().await?;
        Ok(shipment)
    }

    /// The department as sender: its name, and the guide's place and phone.
    async fn sender(&self, c: &Case) -> Result<Party, LogisticsError> {
        let guide = self.catalog().guide(&c.item_code).await?;
        let (place, phone) =
            guide.as_ref().map(|g| (g.content.place.clone(), g.content.consult_phone.clone())).unwrap_or_default();
        Ok(Party {
            name: c.department_name.clone(),
            phone,
            division_code: c.region_code.clone(),
            address: if place.is_empty() { c.department_name.clone() } else { place },
        })
    }

    /// Holds the case's one live shipment of `direction`: a new `ordering` one, or the one a
    /// failed attempt left (booked again under the same number). A shipment already booked
    /// refuses.
    async fn hold(
        &self,
        c: &Case,
        actor: &Actor,
        direction: Direction,
        applicant: &Party,
        department: &Party,
    ) -> Result<ShipmentId, LogisticsError> {
        let sql =
            format!("SELECT {COLUMNS} WHERE case_id = $1 AND direction = $2 AND state NOT IN ('returned', 'lost')");
        let mut tx = self.db().begin().await?;
        let live: Option<Row> = run!(tx, |c2| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(c.id.as_uuid())
            .bind(direction.as_str())
            .fetch_optional(&mut *c2)
            .await)?;
        if let Some(row) = live {
            if row.state == "ordering" {
                return Ok(ShipmentId::from_uuid(row.id));
            }
            return Err(LogisticsError::WrongState(format!(
                "{}已交快递寄送（运单号 {}），快件退回或遗失后才能重新寄送",
                direction.what(),
                row.waybill_no.unwrap_or_default()
            )));
        }
        let id = ShipmentId::new();
        let now = tx.db().now();
        // The applicant's end sealed, the department's public, whichever way the parcel goes.
        let sealed = self.identity().keys().encrypt(&serde_json::to_string(applicant).unwrap_or_default());
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO shipments (id, case_id, state, recipient_enc, sender, created_by, created_by_name,
                     created_at, updated_at, direction)
                 VALUES ($1, $2, 'ordering', $3, $4, $5, $6, $7, $7, $8)"
            )
            .bind(id.as_uuid())
            .bind(c.id.as_uuid())
            .bind(&sealed)
            .bind(serde_json::to_string(department).unwrap_or_default())
            .bind(actor.id.map(|a| a.as_uuid()))
            .bind(&actor.label)
            .bind(now)
            .bind(direction.as_str())
        )
        .map_err(govhall_db::DbError::from)
        .map_err(|e| match e {
            e if e.is_unique_violation() => LogisticsError::WrongState("该办件的结果正在寄出，请稍候刷新".into()),
            e => e.into(),
        })?;
        tx.commit().await?;
        Ok(id)
    }
}
