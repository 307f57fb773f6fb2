//! Rating a finished case: by its applicant (or an active member of the enterprise it was made
//! for) on the web, in the app or on WeChat, or at a hall terminal by the case's number and query
//! password; within the rating period; once, changed at most once within the change period. In
//! the same transaction: the daily counts the statistics read, the 差评 task of the department,
//! the report to the upstream system, the audit entry.

use crate::model::{COLUMNS, Channel, Checked, Evaluation, Level, Rating, Row};
use crate::{EvaluationId, Feedback, FeedbackError, rectify, report};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_cases::CaseId;
use govhall_cases::model::{Case, Outcome};
use govhall_core::clock::china_date;
use govhall_db::{Tx, exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::AccountId;

/// Who rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rater {
    /// A signed-in person (the case's applicant, or a member of its enterprise).
    Person(AccountId),
    /// A hall terminal, which proved the case's number and query password.
    Terminal,
}

/// What an evaluation counts as in the daily counts.
pub(crate) struct Counted<'a> {
    pub day: NaiveDate,
    pub item_code: &'a str,
    pub department_id: uuid::Uuid,
    pub region_code: &'a str,
    pub channel: Channel,
    pub level: Level,
}

/// Shards of each count row (see the migration): evaluations at once spread over them.
const SHARDS: i16 = 8;

/// Adds `by` (1 or -1) to the day's and the month's count of `c`, in a shard chosen at random:
/// one statement on PostgreSQL (the month's upsert after the day's, in one round trip), two on
/// SQLite.
pub(crate) async fn count(tx: &mut Tx, c: &Counted<'_>, by: i64) -> Result<(), FeedbackError> {
    let shard = rand::random_range(0..SHARDS);
    let month = c.day.with_day(1).unwrap_or(c.day);
    if tx.db().backend() == govhall_db::Backend::Postgres {
        let both = format!("WITH day_counted AS ({ADD_DAILY}) {}", ADD_MONTHLY.replace("VALUES ($1,", "VALUES ($9,"));
        exec!(
            tx,
            sqlx::query(AssertSqlSafe(both))
                .bind(c.day)
                .bind(c.item_code)
                .bind(c.department_id)
                .bind(c.region_code)
                .bind(c.channel.as_str())
                .bind(i16::from(c.level))
                .bind(shard)
                .bind(by)
                .bind(month)
        )?;
        return Ok(());
    }
    for (sql, at) in [(ADD_DAILY, c.day), (ADD_MONTHLY, month)] {
        exec!(
            tx,
            sqlx::query(sql)
                .bind(at)
                .bind(c.item_code)
                .bind(c.department_id)
                .bind(c.region_code)
                .bind(c.channel.as_str())
                .bind(i16::from(c.level))
                .bind(shard)
                .bind(by)
        )?;
    }
    Ok(())
}

const ADD_DAILY: &str =
    "INSERT INTO evaluation_daily (day, item_code, department_id, region_code, channel, level, shard, n)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (day, item_code, department_id, region_code, channel, level, shard)
     DO UPDATE SET n = evaluation_daily.n + $8";

const ADD_MONTHLY: &str =
    "INSERT INTO evaluation_monthly (month, item_code, department_id, region_code, channel, level, shard, n)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (month, item_code, department_id, region_code, channel, level, shard)
     DO UPDATE SET n = evaluation_monthly.n + $8";

impl Evaluation {
    /// Whether this evaluation says what `checked` says (levels, reasons, comment).
    pub(crate) fn says(&self, checked: &Checked) -> bool {
        self.overall == checked.overall
            && self.indicators == checked.indicators
            && self.reasons == checked.reasons
            && self.comment == checked.comment
    }

    pub(crate) fn counted(&self) -> Counted<'_> {
        Counted {
            day: self.rated_on,
            item_code: &self.item_code,
            department_id: self.department_id,
            region_code: &self.region_code,
            channel: self.channel,
            level: self.overall,
        }
    }
}

impl Feedback {
    /// The evaluation of `case`, if any.
    pub(crate) async fn of_case(&self, case: CaseId) -> Result<Option<Evaluation>, FeedbackError> {
        let sql = format!("SELECT {COLUMNS} FROM evaluations WHERE case_id = $1");
        let mut conn = self.db().conn().await?;
        let row: Option<Row> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(case.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.map(Row::open).transpose()
    }

    /// An evaluation by id.
    pub(crate) async fn evaluation(&self, id: EvaluationId) -> Result<Evaluation, FeedbackError> {
        let sql = format!("SELECT {COLUMNS} FROM evaluations WHERE id = $1");
        let mut conn = self.db().conn().await?;
        let row: Option<Row> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        row.ok_or(FeedbackError::NotFound("评价"))?.open()
    }

    /// When `case` can be rated until (its end plus the rating period).
    pub fn rating_deadline(&self, case: &Case) -> Option<DateTime<Utc>> {
        case.closed_at.map(|at| at + Duration::days(i64::from(self.settings().rate_days)))
    }

    /// Whether evaluation `e` can still be changed (once, within the change period, by the
    /// person; not a default or voided one).
    pub fn changeable(&self, e: &Evaluation, now: DateTime<Utc>) -> bool {
        !e.is_default
            && e.voided_at.is_none()
            && e.changed_at.is_none()
            && now <= e.created_at + Duration::days(i64::from(self.settings().change_days))
    }

    /// Whether `case` can be rated now, and if not, why.
    pub fn ratable(&self, case: &Case, now: DateTime<Utc>) -> Result<(), FeedbackError> {
        if case.is_open {
            return Err(FeedbackError::WrongState("办件办结后才能评价".into()));
        }
        if case.outcome == Some(Outcome::Withdrawn) {
            return Err(FeedbackError::WrongState("已撤回的办件不需要评价".into()));
        }
        match self.rating_deadline(case) {
            Some(until) if now <= until => Ok(()),
            _ => {
                Err(FeedbackError::Expired(format!("评价期限已过：办结后 {} 天内可以评价", self.settings().rate_days)))
            }
        }
    }

    /// The case `viewer` asks about by its serial number, if they may rate it (theirs, or their
    /// enterprise's while an active member); others: not found.
    pub async fn case_for(&self, viewer: AccountId, serial: &str) -> Result<Case, FeedbackError> {
        Ok(self.cases().mine_by_serial(viewer, serial).await?)
    }

    /// `viewer`'s evaluation of the case numbered `serial`, if any (the case must be theirs).
    pub async fn mine(&self, viewer: AccountId, serial: &str) -> Result<(Case, Option<Evaluation>), FeedbackError> {
        let case = self.case_for(viewer, serial).await?;
        let evaluation = self.of_case(case.id).await?;
        Ok((case, evaluation))
    }

    /// Rates `case` for `rater` through `channel`; a second rating of the same case changes the
    /// first, once, within the change period. Returns the evaluation as kept.
    pub async fn evaluate(
        &self,
        actor: &Actor,
        rater: Rater,
        case: &Case,
        channel: Channel,
        rating: &Rating,
    ) -> Result<Evaluation, FeedbackError> {
        if let Rater::Person(viewer) = rater
            && !self.cases().applicant_may_see(viewer, case).await?
        {
            return Err(FeedbackError::NotFound("办件"));
        }
        let checked = rating.check(channel)?;
        let now = self.db().now();
        self.ratable(case, now)?;
        // The first rating is the usual one: tried first, and only when the case has one already
        // is that one read (to change it, or to say why not).
        if let Some(e) = self.record_first(actor, rater, case, channel, &checked, false, now).await? {
            return Ok(e);
        }
        match self.of_case(case.id).await? {
            // The same rating again (a second click, an app's retry): the one kept is the answer,
            // and the one change allowed is not spent on it.
            Some(old) if !old.is_default && old.voided_at.is_none() && old.says(&checked) => Ok(old),
            Some(old) if !old.is_default => self.change(actor, rater, case, &old, channel, &checked, now).await,
            Some(_) => Err(FeedbackError::AlreadyRated("该办件已按规定记为默认评价，不能再评价".into())),
            // Rated and gone at once cannot happen (evaluations are never deleted); say so plainly.
            None => Err(FeedbackError::AlreadyRated("该办件已评价".into())),
        }
    }

    /// Records the first evaluation of `case` (a default one with `is_default`); refused when
    /// the case has one.
    #[expect(clippy::too_many_arguments, reason = "one evaluation's parts")]
    pub(crate) async fn record(
        &self,
        actor: &Actor,
        rater: Rater,
        case: &Case,
        channel: Channel,
        checked: &Checked,
        is_default: bool,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, FeedbackError> {
        self.record_first(actor, rater, case, channel, checked, is_default, now)
            .await?
            .ok_or_else(|| FeedbackError::AlreadyRated("该办件已评价".into()))
    }

    /// Records the first evaluation of `case`; `None` (nothing written) when it has one.
    #[expect(clippy::too_many_arguments, reason = "one evaluation's parts")]
    async fn record_first(
        &self,
        actor: &Actor,
        rater: Rater,
        case: &Case,
        channel: Channel,
        checked: &Checked,
        is_default: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Evaluation>, FeedbackError> {
        let id = EvaluationId::new();
        let rater_id = match rater {
            Rater::Person(a) => Some(a.as_uuid()),
            Rater::Terminal => None,
        };
        let day = china_date(now);
        let [efficiency, guide_accuracy, convenience, usability] = checked.indicators.map(|l| l.map(i16::from));
        let mut tx = self.db().begin().await?;
        let inserted = exec!(
            tx,
            sqlx::query(INSERT)
                .bind(id.as_uuid())
                .bind(case.id.as_uuid())
                .bind(&case.serial_number)
                .bind(&case.item_code)
                .bind(&case.item_name)
                .bind(case.department_id.as_uuid())
                .bind(&case.region_code)
                .bind(rater_id)
                .bind(channel.as_str())
                .bind(i16::from(checked.overall))
                .bind(efficiency)
                .bind(guide_accuracy)
                .bind(convenience)
                .bind(usability)
                .bind(serde_json::to_string(&checked.reasons)?)
                .bind(&checked.comment)
                .bind(is_default)
                .bind(day)
                .bind(now)
        )?;
        if inserted == 0 {
            // Rated before, or at the same moment from elsewhere: that one counts.
            return Ok(None);
        }
        let counted = Counted {
            day,
            item_code: &case.item_code,
            department_id: case.department_id.as_uuid(),
            region_code: &case.region_code,
            channel,
            level: checked.overall,
        };
        count(&mut tx, &counted, 1).await?;
        if checked.overall.is_bad() && !is_default {
            rectify::open_in(self, &mut tx, id, case, checked, now).await?;
        }
        report::enqueue(self, &mut tx, id, report::Kind::Evaluation).await?;
        let detail = format!("{}（{}）", checked.overall.label(), channel.label());
        audit::record(&mut tx, actor, Event::success("evaluation.create", "case", &case.serial_number).detail(detail))
            .await?;
        tx.commit().await?;
        Ok(Some(Evaluation {
            id,
            case_id: case.id.as_uuid(),
            serial_number: case.serial_number.clone(),
            item_code: case.item_code.clone(),
            item_name: case.item_name.clone(),
            department_id: case.department_id.as_uuid(),
            region_code: case.region_code.clone(),
            channel,
            overall: checked.overall,
            indicators: checked.indicators,
            reasons: checked.reasons.clone(),
            comment: checked.comment.clone(),
            is_default,
            voided_at: None,
            void_reason: String::new(),
            rated_on: day,
            created_at: now,
            changed_at: None,
        }))
    }

    #[expect(clippy::too_many_arguments, reason = "the change's parts")]
    async fn change(
        &self,
        actor: &Actor,
        rater: Rater,
        case: &Case,
        old: &Evaluation,
        channel: Channel,
        checked: &Checked,
        now: DateTime<Utc>,
    ) -> Result<Evaluation, FeedbackError> {
        if rater == Rater::Terminal {
            return Err(FeedbackError::AlreadyRated("该办件已评价；如需修改，请登录后在办件详情中修改".into()));
        }
        if old.voided_at.is_some() {
            return Err(FeedbackError::AlreadyRated("该办件的评价已作废，不能修改".into()));
        }
        if old.changed_at.is_some() {
            return Err(FeedbackError::AlreadyRated("评价只能修改一次".into()));
        }
        let days = i64::from(self.settings().change_days);
        if now > old.created_at + Duration::days(days) {
            return Err(FeedbackError::Expired(format!("评价后 {days} 天内可以修改一次，现已超过")));
        }
        let [efficiency, guide_accuracy, convenience, usability] = checked.indicators.map(|l| l.map(i16::from));
        let mut tx = self.db().begin().await?;
        // Only once: two changes at the same moment, one of them counts.
        let changed = exec!(
            tx,
            sqlx::query(
                "UPDATE evaluations SET channel = $1, overall = $2, efficiency = $3, guide_accuracy = $4,
                    convenience = $5, usability = $6, reasons = $7, comment = $8, changed_at = $9
                 WHERE id = $10 AND changed_at IS NULL AND voided_at IS NULL"
            )
            .bind(channel.as_str())
            .bind(i16::from(checked.overall))
            .bind(efficiency)
            .bind(guide_accuracy)
            .bind(convenience)
            .bind(usability)
            .bind(serde_json::to_string(&checked.reasons)?)
            .bind(&checked.comment)
            .bind(now)
            .bind(old.id.as_uuid())
        )?;
        if changed == 0 {
            return Err(FeedbackError::AlreadyRated("评价只能修改一次".into()));
        }
        // The count moves from the old level (and channel) to the new, on the day first rated.
        count(&mut tx, &old.counted(), -1).await?;
        let new = Counted { channel, level: checked.overall, ..old.counted() };
        count(&mut tx, &new, 1).await?;
        if checked.overall.is_bad() {
            rectify::open_in(self, &mut tx, old.id, case, checked, now).await?;
        }
        report::enqueue(self, &mut tx, old.id, report::Kind::Evaluation).await?;
        let detail = format!("{} → {}（{}）", old.overall.label(), checked.overall.label(), channel.label());
        audit::record(&mut tx, actor, Event::success("evaluation.change", "case", &case.serial_number).detail(detail))
            .await?;
        tx.commit().await?;
        Ok(Evaluation {
            channel,
            overall: checked.overall,
            indicators: checked.indicators,
            reasons: checked.reasons.clone(),
            comment: checked.comment.clone(),
            changed_at: Some(now),
            ..old.clone()
        })
    }
}

const INSERT: &str = "INSERT INTO evaluations (id, case_id, serial_number, item_code, item_name, department_id,
        region_code, rater_id, channel, overall, efficiency, guide_accuracy, convenience, usability, reasons, comment,
        is_default, rated_on, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
     ON CONFLICT (case_id) DO NOTHING";

impl Feedback {
    /// Rates a case at a hall terminal, without signing in: the case's number and query password
    /// prove it (checked and throttled as progress queries are, per number and per `client`).
    pub async fn evaluate_at_terminal(
        &self,
        actor: &Actor,
        serial: &str,
        query_password: &str,
        client: &str,
        rating: &Rating,
    ) -> Result<Evaluation, FeedbackError> {
        let timeline = self.cases().progress(serial, query_password, client).await?;
        let id = self.cases().id_by_serial(&timeline.serial_number).await?;
        let (case, _) = self.cases().for_reckoning(id).await?;
        self.evaluate(actor, Rater::Terminal, &case, Channel::Kiosk, rating).await
    }
}
