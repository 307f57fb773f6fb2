//! Service halls (服务大厅), the services each offers (which items, at which counters) and the
//! slot rules of each service, set up by staff holding `booking.manage` over the hall's region.

use crate::ids::{HallId, RuleId, ServiceId};
use crate::{Booking, BookingError};
use chrono::{NaiveDate, NaiveTime, Weekday};
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{exec, run, sqlx};
use govhall_identity::{Access, Permission, Target};
use serde::Serialize;
use uuid::Uuid;

/// A service hall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hall {
    /// Id.
    pub id: HallId,
    /// Name (济南市政务服务中心).
    pub name: String,
    /// Region's division code.
    pub region_code: String,
    /// Address.
    pub address: String,
    /// Opening hours, as people read them.
    pub opening_hours: String,
    /// Phone.
    pub phone: String,
}

/// A hall as stored (columns [`HALL_COLUMNS`]).
#[derive(Debug, sqlx::FromRow)]
struct HallRow {
    id: Uuid,
    name: String,
    region_code: String,
    address: String,
    opening_hours: String,
    phone: String,
}

impl From<HallRow> for Hall {
    fn from(r: HallRow) -> Self {
        Hall {
            id: HallId::from_uuid(r.id),
            name: r.name,
            region_code: r.region_code,
            address: r.address,
            opening_hours: r.opening_hours,
            phone: r.phone,
        }
    }
}

const HALL_COLUMNS: &str = "id, name, region_code, address, opening_hours, phone";

/// A hall to create.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct NewHall {
    /// Its region's division code.
    #[serde(default)]
    pub region_code: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Address.
    #[serde(default)]
    pub address: String,
    /// Opening hours.
    #[serde(default)]
    pub opening_hours: String,
    /// Phone.
    #[serde(default)]
    pub phone: String,
}

/// What a hall offers to book: some items, at some counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// Id.
    pub id: ServiceId,
    /// Its hall.
    pub hall_id: HallId,
    /// Name (不动产登记).
    pub name: String,
    /// The items it serves.
    pub item_codes: Vec<String>,
    /// Its counters (窗口).
    pub counters: Vec<String>,
}

/// A slot rule: on these weekdays (and on make-up working days), from `start` to `end`, slots of
/// `slot_minutes` with `capacity` places, between `valid_from` and `valid_until`, except
/// `exclusions`. Never on holidays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Weekdays.
    pub weekdays: Vec<Weekday>,
    /// First slot starts (China time).
    pub start: NaiveTime,
    /// Last slot ends.
    pub end: NaiveTime,
    /// Minutes per slot.
    pub slot_minutes: u32,
    /// Places per slot.
    pub capacity: u32,
    /// From.
    pub valid_from: NaiveDate,
    /// Until (inclusive), if limited.
    pub valid_until: Option<NaiveDate>,
    /// Days without slots.
    pub exclusions: Vec<NaiveDate>,
}

pub(crate) fn weekday_bits(days: &[Weekday]) -> i32 {
    days.iter().fold(0, |bits, d| bits | (1 << d.num_days_from_monday()))
}

pub(crate) fn has_weekday(bits: i32, day: Weekday) -> bool {
    bits & (1 << day.num_days_from_monday()) != 0
}

fn text(what: &str, value: &str, max: usize) -> Result<String, BookingError> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max {
        return Err(BookingError::Invalid(format!("{what}不能为空，且不超过 {max} 个字")));
    }
    Ok(v.to_owned())
}

/// A stored rule: service, weekday bits, start, end, minutes, places, from, until.
type RuleRow = (Uuid, i32, String, String, i32, i32, NaiveDate, Option<NaiveDate>);

impl Booking {
    fn may_manage(&self, access: &Access, region: &str) -> Result<(), BookingError> {
        let target = Target { owner: None, department: None, region: Some(region.to_owned()) };
        if access.covers(Permission::BookingManage, &target) {
            Ok(())
        } else {
            Err(BookingError::Forbidden("您没有管理该地区服务大厅预约的权限".into()))
        }
    }

    /// Creates a hall.
    pub async fn create_hall(&self, access: &Access, actor: &Actor, new: &NewHall) -> Result<Hall, BookingError> {
        self.may_manage(access, new.region_code.trim())?;
        let hall = Hall {
            id: HallId::new(),
            name: text("大厅名称", &new.name, 60)?,
            region_code: new.region_code.trim().to_owned(),
            address: text("地址", &new.address, 120)?,
            opening_hours: text("办公时间", &new.opening_hours, 120)?,
            phone: new.phone.trim().chars().take(40).collect(),
        };
        let mut tx = self.db().begin().await?;
        let known: i64 = run!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM regions WHERE code = $1")
            .bind(&hall.region_code)
            .fetch_one(&mut *c)
            .await)?;
        if known == 0 {
            return Err(BookingError::Invalid(format!("行政区划代码“{}”不存在", hall.region_code)));
        }
        let inserted = exec!(
            tx,
            sqlx::query(
                "INSERT INTO halls (id, name, region_code, address, opening_hours, phone, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (region_code, name) DO NOTHING"
            )
            .bind(hall.id.as_uuid())
            .bind(&hall.name)
            .bind(&hall.region_code)
            .bind(&hall.address)
            .bind(&hall.opening_hours)
            .bind(&hall.phone)
            .bind(self.db().now())
        )?;
        if inserted == 0 {
            return Err(BookingError::Invalid(format!("该地区已有名为“{}”的大厅", hall.name)));
        }
        audit::record(&mut tx, actor, Event::success("booking.hall.create", "hall", hall.id).detail(&hall.name))
            .await?;
        tx.commit().await?;
        Ok(hall)
    }

    /// Every hall, by region and name.
    pub async fn halls(&self) -> Result<Vec<Hall>, BookingError> {
        let mut conn = self.db().conn().await?;
        let sql = format!("SELECT {HALL_COLUMNS} FROM halls ORDER BY region_code, name");
        let rows: Vec<HallRow> =
            run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(&mut *c).await)?;
        Ok(rows.into_iter().map(Hall::from).collect())
    }

    /// One hall.
    pub async fn hall(&self, id: HallId) -> Result<Hall, BookingError> {
        let mut conn = self.db().conn().await?;
        let sql = format!("SELECT {HALL_COLUMNS} FROM halls WHERE id = $1");
        let row: Option<HallRow> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.map(Hall::from).ok_or(BookingError::NotFound("服务大厅"))
    }

    /// Adds a service to a hall: the items it serves (each must exist) and its counters.
    pub async fn create_service(
        &self,
        access: &Access,
        actor: &Actor,
        hall_id: HallId,
        name: &str,
        item_codes: &[String],
        counters: &[String],
    ) -> Result<Service, BookingError> {
        let hall = self.hall(hall_id).await?;
        self.may_manage(access, &hall.region_code)?;
        let name = text("预约业务名称", name, 60)?;
        if item_codes.is_empty() {
            return Err(BookingError::Invalid("请至少选择一个可预约的事项".into()));
        }
        for code in item_codes {
            let found = govhall_catalog::store::summary(self.db(), code)
                .await
                .map_err(|e| BookingError::Internal(e.to_string()))?;
            if found.is_none() {
                return Err(BookingError::Invalid(format!("事项编码“{code}”不存在")));
            }
        }
        let service = Service {
            id: ServiceId::new(),
            hall_id,
            name,
            item_codes: item_codes.to_vec(),
            counters: counters.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect(),
        };
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO hall_services (id, hall_id, name, item_codes, counters, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)"
            )
            .bind(service.id.as_uuid())
            .bind(hall_id.as_uuid())
            .bind(&service.name)
            .bind(json(&service.item_codes))
            .bind(json(&service.counters))
            .bind(self.db().now())
        )
        .map_err(|e| {
            let e = govhall_db::DbError::from(e);
            if e.is_unique_violation() {
                BookingError::Invalid(format!("该大厅已有名为“{}”的预约业务", service.name))
            } else {
                BookingError::Db(e)
            }
        })?;
        let event = Event::success("booking.service.create", "hall_service", service.id).detail(&service.name);
        audit::record(&mut tx, actor, event).await?;
        tx.commit().await?;
        Ok(service)
    }

    /// The services of a hall, or offering an item (`item_code`), with their halls.
    pub async fn services(&self, item_code: Option<&str>) -> Result<Vec<(Hall, Service)>, BookingError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<(Uuid, Uuid, String, String, String)> = run!(conn, |c| sqlx::query_as(
            "SELECT id, hall_id, name, item_codes, counters FROM hall_services ORDER BY name"
        )
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        let mut out = Vec::new();
        for (id, hall_id, name, items, counters) in rows {
            let item_codes: Vec<String> = serde_json::from_str(&items).unwrap_or_default();
            if item_code.is_some_and(|code| !item_codes.iter().any(|c| c == code)) {
                continue;
            }
            let counters = serde_json::from_str(&counters).unwrap_or_default();
            let (id, hall_id) = (ServiceId::from_uuid(id), HallId::from_uuid(hall_id));
            out.push((self.hall(hall_id).await?, Service { id, hall_id, name, item_codes, counters }));
        }
        Ok(out)
    }

    /// The services offering `item_code` that have slot rules (something to book), with their halls.
    pub async fn services_with_rules(&self, item_code: &str) -> Result<Vec<(Hall, Service)>, BookingError> {
        let mut conn = self.db().conn().await?;
        let ruled: Vec<Uuid> =
            run!(conn, |c| sqlx::query_scalar("SELECT DISTINCT service_id FROM slot_rules").fetch_all(&mut *c).await)?;
        drop(conn);
        let services = self.services(Some(item_code)).await?;
        Ok(services.into_iter().filter(|(_, s)| ruled.contains(&s.id.as_uuid())).collect())
    }

    /// One service with its hall.
    pub async fn service(&self, id: ServiceId) -> Result<(Hall, Service), BookingError> {
        let mut conn = self.db().conn().await?;
        let row: Option<(Uuid, String, String, String)> = run!(conn, |c| sqlx::query_as(
            "SELECT hall_id, name, item_codes, counters FROM hall_services WHERE id = $1"
        )
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await)?;
        drop(conn);
        let (hall_id, name, items, counters) = row.ok_or(BookingError::NotFound("预约业务"))?;
        let hall_id = HallId::from_uuid(hall_id);
        let service = Service {
            id,
            hall_id,
            name,
            item_codes: serde_json::from_str(&items).unwrap_or_default(),
            counters: serde_json::from_str(&counters).unwrap_or_default(),
        };
        Ok((self.hall(hall_id).await?, service))
    }

    /// The slot rules of every service, described in Chinese for the set-up page:
    /// (service id, 周一至周五 09:00-12:00，每 30 分钟 10 人，2026-01-01 起).
    pub async fn rule_lines(&self) -> Result<Vec<(ServiceId, String)>, BookingError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<RuleRow> = run!(conn, |c| sqlx::query_as(
            "SELECT service_id, weekdays, start_time, end_time, slot_minutes, capacity, valid_from, valid_until
             FROM slot_rules ORDER BY created_at, id"
        )
        .fetch_all(&mut *c)
        .await)?;
        let names = ["一", "二", "三", "四", "五", "六", "日"];
        Ok(rows
            .into_iter()
            .map(|(service, bits, start, end, minutes, capacity, from, until)| {
                let days: String =
                    (0..7).filter(|d| bits & (1 << d) != 0).map(|d| names[d]).collect::<Vec<_>>().join("、");
                let until = until.map(|u| format!("至 {u}")).unwrap_or_else(|| "起".to_owned());
                (
                    ServiceId::from_uuid(service),
                    format!("周{days} {start}-{end}，每 {minutes} 分钟 {capacity} 人，{from} {until}"),
                )
            })
            .collect())
    }

    /// Adds a slot rule to a service.
    pub async fn add_rule(
        &self,
        access: &Access,
        actor: &Actor,
        service_id: ServiceId,
        rule: &Rule,
    ) -> Result<RuleId, BookingError> {
        let (hall, _) = self.service(service_id).await?;
        self.may_manage(access, &hall.region_code)?;
        if rule.weekdays.is_empty() {
            return Err(BookingError::Invalid("请至少选择一个星期几".into()));
        }
        if rule.end <= rule.start {
            return Err(BookingError::Invalid("结束时间应晚于开始时间".into()));
        }
        if !(5..=480).contains(&rule.slot_minutes) {
            return Err(BookingError::Invalid("每个时段应为 5 到 480 分钟".into()));
        }
        if !(1..=10_000).contains(&rule.capacity) {
            return Err(BookingError::Invalid("每个时段可约人数应为 1 到 10000".into()));
        }
        if rule.valid_until.is_some_and(|u| u < rule.valid_from) {
            return Err(BookingError::Invalid("有效期结束日期应不早于开始日期".into()));
        }
        let id = RuleId::new();
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO slot_rules (id, service_id, weekdays, start_time, end_time, slot_minutes, capacity,
                    valid_from, valid_until, exclusions, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            )
            .bind(id.as_uuid())
            .bind(service_id.as_uuid())
            .bind(weekday_bits(&rule.weekdays))
            .bind(rule.start.format("%H:%M").to_string())
            .bind(rule.end.format("%H:%M").to_string())
            .bind(i32::try_from(rule.slot_minutes).unwrap_or(60))
            .bind(i32::try_from(rule.capacity).unwrap_or(1))
            .bind(rule.valid_from)
            .bind(rule.valid_until)
            .bind(serde_json::to_string(&rule.exclusions).unwrap_or_else(|_| "[]".into()))
            .bind(self.db().now())
        )?;
        // The slots are made again with the new rule.
        exec!(tx, sqlx::query("UPDATE hall_services SET made_until = NULL WHERE id = $1").bind(service_id.as_uuid()))?;
        audit::record(&mut tx, actor, Event::success("booking.rule.create", "hall_service", service_id)).await?;
        tx.commit().await?;
        // Its slots exist at once for the bookable days (a table being read at this moment
        // cannot leave them out).
        let (first, last) = self.bookable_days(self.db().now());
        self.make_slots(service_id, first, last).await?;
        Ok(id)
    }
}
