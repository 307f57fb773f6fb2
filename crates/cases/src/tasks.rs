//! 待办: what the open cases of a person, or of an enterprise, wait for from them — materials to
//! give again (补齐补正), a fee to pay (待缴费), a result to collect (办结, 待送达) — with the
//! working days left where the step has a deadline; what they did lately (history); and the
//! reminders the hourly sweep sends once per waiting period.

use crate::ids::{AccountId, CaseId, EnterpriseId};
use crate::model::{CASE_COLUMNS, CASE_FROM, Case, CaseRow, Outcome};
use crate::workflow::{Effect, StepActor};
use crate::{CaseError, Cases, notify, store};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_core::clock::china_date;
use govhall_db::{run, sqlx, sqlx::AssertSqlSafe};
use serde::Serialize;
use serde_json::json;

const LAST_MOVE: &str = "SELECT at FROM case_events WHERE case_id = $1 ORDER BY seq DESC LIMIT 1";

/// What a case waits for from its applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// 补齐补正: materials asked for again.
    Supplement,
    /// 缴费: a payment order to pay.
    Pay,
    /// 领取结果: granted; the result waits to be collected or signed for.
    Collect,
}

impl TaskKind {
    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            TaskKind::Supplement => "补齐补正材料",
            TaskKind::Pay => "缴纳费用",
            TaskKind::Collect => "领取办理结果",
        }
    }

    /// What to do, in a sentence.
    pub fn hint(self) -> &'static str {
        match self {
            TaskKind::Supplement => "按要求补交材料后，办件继续办理（补正期间办理时限暂停计算）",
            TaskKind::Pay => "缴费成功后办件继续办理；缴款期限见缴款单",
            TaskKind::Collect => "办件已办结：按选择的方式到窗口领取，或签收快递",
        }
    }
}

/// One thing to do.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    /// The case.
    pub case_id: CaseId,
    /// Its serial number.
    pub serial_number: String,
    /// The item's name.
    pub item_name: String,
    /// The department handling it.
    pub department_name: String,
    /// The enterprise it is for, if any.
    pub enterprise_id: Option<EnterpriseId>,
    /// What to do.
    pub kind: TaskKind,
    /// The step it waits in.
    pub step_name: String,
    /// Waiting since.
    pub since: DateTime<Utc>,
    /// The step's deadline, if it has one.
    pub due_on: Option<NaiveDate>,
    /// Working days left until it (0 on the day; negative when past).
    pub working_days_left: Option<i64>,
}

/// Something done lately (history).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DoneTask {
    /// Its serial number.
    pub serial_number: String,
    /// The item's name.
    pub item_name: String,
    /// What was done (提交补正材料, 缴费成功 …).
    pub label: String,
    /// By whom.
    pub actor_name: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Whose tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whose {
    /// A person's own cases (not those made for an enterprise).
    Person(AccountId),
    /// An enterprise's cases, for one of its active members.
    Enterprise(EnterpriseId),
}

/// What `case` waits for from its applicant, if anything.
pub fn task_of(case: &Case) -> Option<TaskKind> {
    if !case.is_open {
        return None;
    }
    let step = case.current()?;
    match step.actor {
        StepActor::Applicant => Some(TaskKind::Supplement),
        StepActor::Payment => Some(TaskKind::Pay),
        _ if case.outcome == Some(Outcome::Granted)
            && case.workflow.transitions.iter().any(|t| t.from == case.step && t.effect == Some(Effect::Deliver)) =>
        {
            Some(TaskKind::Collect)
        }
        _ => None,
    }
}

impl Cases {
    /// Checks that `viewer` may see `whose`'s tasks; an enterprise they are not an active member
    /// of answers as not found.
    pub async fn check_whose(&self, viewer: AccountId, whose: Whose) -> Result<(), CaseError> {
        match whose {
            Whose::Person(a) if a == viewer => Ok(()),
            Whose::Person(_) => Err(CaseError::NotFound),
            Whose::Enterprise(e) => match self.identity().membership(e, viewer).await? {
                Some(m) if m.status == "active" => Ok(()),
                _ => Err(CaseError::NotFound),
            },
        }
    }

    pub(crate) fn whose_filter(whose: Whose) -> (&'static str, uuid::Uuid) {
        match whose {
            Whose::Person(a) => ("c.applicant_id = $1 AND c.enterprise_id IS NULL", a.as_uuid()),
            Whose::Enterprise(e) => ("c.enterprise_id = $1", e.as_uuid()),
        }
    }

    /// The tasks of `whose` for `viewer`: soonest deadline first, then oldest.
    pub async fn tasks(&self, viewer: AccountId, whose: Whose) -> Result<Vec<Task>, CaseError> {
        self.check_whose(viewer, whose).await?;
        let (filter, id) = Self::whose_filter(whose);
        let sql = format!("SELECT {CASE_COLUMNS} {CASE_FROM} WHERE c.is_open AND {filter} LIMIT 5000");
        let mut conn = self.db().conn().await?;
        let rows: Vec<CaseRow> =
            run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(id).fetch_all(&mut *c).await)?;
        drop(conn);
        let today = china_date(self.db().now());
        let mut tasks: Vec<Task> = store::readable(rows)
            .into_iter()
            .filter_map(|c| {
                let kind = task_of(&c)?;
                Some(self.task(c, kind, today))
            })
            .collect();
        let entered = self.entered_all(&tasks).await?;
        for t in &mut tasks {
            t.since = entered.get(&t.case_id.as_uuid()).copied().unwrap_or(t.since);
        }
        tasks.sort_by_key(|t| (t.due_on.is_none(), t.due_on, t.since));
        Ok(tasks)
    }

    /// When each task's case entered its current step, in one query (a page of cases at a time).
    async fn entered_all(
        &self,
        tasks: &[Task],
    ) -> Result<std::collections::HashMap<uuid::Uuid, DateTime<Utc>>, CaseError> {
        let mut out = std::collections::HashMap::with_capacity(tasks.len());
        let mut conn = self.db().conn().await?;
        for chunk in tasks.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT case_id, MAX(at) FROM case_events WHERE case_id IN ({}) GROUP BY case_id",
                marks.join(", ")
            );
            let rows: Vec<(uuid::Uuid, DateTime<Utc>)> = run!(conn, |c| {
                let mut q = sqlx::query_as(AssertSqlSafe(sql.clone()));
                for t in chunk {
                    q = q.bind(t.case_id.as_uuid());
                }
                q.fetch_all(&mut *c).await
            })?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// When the case entered its current step: its latest move (claiming or assigning it is not
    /// one).
    async fn entered(&self, case: CaseId) -> Result<Option<DateTime<Utc>>, CaseError> {
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_scalar(LAST_MOVE).bind(case.as_uuid()).fetch_optional(&mut *c).await)?)
    }

    fn task(&self, c: Case, kind: TaskKind, today: NaiveDate) -> Task {
        let working_days_left = c.step_due_on.map(|due| {
            let cal = self.calendar();
            if due >= today {
                i64::from(cal.working_days_between(today, due))
            } else {
                -i64::from(cal.working_days_between(due, today))
            }
        });
        Task {
            case_id: c.id,
            serial_number: c.serial_number,
            item_name: c.item_name,
            department_name: c.department_name,
            enterprise_id: c.enterprise_id,
            kind,
            step_name: c.step_name,
            since: c.updated_at,
            due_on: c.step_due_on,
            working_days_left,
        }
    }

    /// What was done lately on `whose`'s cases by their applicants (补正 given, fees paid), newest
    /// first.
    pub async fn task_history(&self, viewer: AccountId, whose: Whose, limit: i64) -> Result<Vec<DoneTask>, CaseError> {
        self.check_whose(viewer, whose).await?;
        let (filter, id) = Self::whose_filter(whose);
        let sql = format!(
            "SELECT c.serial_number, c.item_name, e.label, e.actor_name, e.at
             FROM case_events e JOIN cases c ON c.id = e.case_id
             WHERE {filter} AND ((e.actor_kind = 'applicant' AND e.seq > 1) OR e.action = 'paid')
             ORDER BY e.at DESC LIMIT $2"
        );
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(id).bind(limit).fetch_all(&mut *c).await)?)
    }

    /// Reminds applicants of materials asked for again (补齐补正), once per waiting period: when
    /// the step's deadline is `remind_days` working days away or nearer, or, for a step without
    /// one, when it has waited that many working days. Fees have their own reminders (the payment
    /// order's expiry). Returns how many were sent.
    pub async fn remind(&self, now: DateTime<Utc>) -> Result<usize, CaseError> {
        let today = china_date(now);
        let lead = self.settings().remind_days;
        let sql = format!("SELECT {CASE_COLUMNS} {CASE_FROM} WHERE c.is_open");
        let mut conn = self.db().conn().await?;
        let rows: Vec<CaseRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).fetch_all(&mut *c).await)?;
        drop(conn);
        let mut reminded = 0;
        for row in rows {
            let Ok((case, row)) = store::to_case(row) else { continue };
            if task_of(&case) != Some(TaskKind::Supplement) {
                continue;
            }
            let mut task = self.task(case, TaskKind::Supplement, today);
            task.since = self.entered(task.case_id).await?.unwrap_or(task.since);
            let waited = self.calendar().working_days_between(china_date(task.since), today);
            let due = match task.working_days_left {
                Some(left) => left <= i64::from(lead),
                None => waited >= lead,
            };
            if !due {
                continue;
            }
            let params = json!({
                "item": task.item_name, "serial": task.serial_number, "task": TaskKind::Supplement.label(),
                "due": task.due_on.map(|d| d.format("%Y年%m月%d日").to_string()).unwrap_or_default(),
            });
            // One reminder per waiting period: keyed by the case and when it began to wait.
            let key = format!("case:{}:remind:{}", task.case_id, task.since.timestamp_micros());
            let mut tx = self.db().begin().await?;
            notify::reminder(&mut tx, self.messaging(), self.identity().keys(), &row, &key, params).await?;
            tx.commit().await?;
            reminded += 1;
        }
        Ok(reminded)
    }
}
