//! The workbench's and the applicant's views of cases, always narrowed by the viewer's data
//! scope in the query itself.

use crate::ids::CaseId;
use crate::model::{CASE_COLUMNS, CASE_FROM, Case, CaseRow};
use crate::{CaseError, Cases, store};
use chrono::NaiveDate;
use govhall_audit::{self as audit, Actor, Event};
use govhall_db::{Backend, run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::{Access, AccountId, DepartmentId, Permission, ScopeFilter, Target};
use serde::Serialize;
use uuid::Uuid;

/// What a scope check needs of a case: the handler owns it, the department and region hold it.
pub fn target(case: &Case) -> Target {
    Target { owner: case.assignee_id, department: Some(case.department_id), region: Some(case.region_code.clone()) }
}

/// The SQL condition a scope filter makes over the cases table.
fn scope_sql(backend: Backend, filter: &ScopeFilter) -> Option<String> {
    filter.sql(backend, Some("c.assignee_id"), "c.department_id", "c.region_code")
}

/// Which warning lights the inbox shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningFilter {
    /// Yellow and red.
    Warned,
    /// Red only.
    Red,
}

impl WarningFilter {
    /// The name in a query string.
    pub fn as_str(self) -> &'static str {
        match self {
            WarningFilter::Warned => "warned",
            WarningFilter::Red => "red",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            WarningFilter::Warned => "黄牌及红牌",
            WarningFilter::Red => "仅超期（红牌）",
        }
    }

    /// Parses the name in a query string.
    pub fn parse(s: &str) -> Option<WarningFilter> {
        [WarningFilter::Warned, WarningFilter::Red].into_iter().find(|w| w.as_str() == s)
    }
}

/// Whose cases the inbox shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// The viewer's own.
    Mine,
    /// Nobody's yet.
    Unassigned,
}

impl AssigneeFilter {
    /// The name in a query string.
    pub fn as_str(self) -> &'static str {
        match self {
            AssigneeFilter::Mine => "mine",
            AssigneeFilter::Unassigned => "unassigned",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            AssigneeFilter::Mine => "我经办的",
            AssigneeFilter::Unassigned => "未认领",
        }
    }

    /// Parses the name in a query string.
    pub fn parse(s: &str) -> Option<AssigneeFilter> {
        [AssigneeFilter::Mine, AssigneeFilter::Unassigned].into_iter().find(|a| a.as_str() == s)
    }
}

/// Open cases, closed ones, or all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateFilter {
    /// Still being handled (the default).
    #[default]
    Open,
    /// Ended.
    Closed,
    /// Both.
    All,
}

impl StateFilter {
    /// The name in a query string.
    pub fn as_str(self) -> &'static str {
        match self {
            StateFilter::Open => "open",
            StateFilter::Closed => "closed",
            StateFilter::All => "all",
        }
    }

    /// Its Chinese name.
    pub fn label(self) -> &'static str {
        match self {
            StateFilter::Open => "办理中",
            StateFilter::Closed => "已办结",
            StateFilter::All => "全部",
        }
    }

    /// Parses the name in a query string.
    pub fn parse(s: &str) -> Option<StateFilter> {
        [StateFilter::Open, StateFilter::Closed, StateFilter::All].into_iter().find(|f| f.as_str() == s)
    }
}

/// What the inbox is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// In this step (a code of the case's workflow).
    pub step: Option<String>,
    /// Of this item.
    pub item_code: Option<String>,
    /// Due on or before this day.
    pub due_by: Option<NaiveDate>,
    /// Only some warning lights.
    pub warning: Option<WarningFilter>,
    /// Only the viewer's, or only unassigned ones.
    pub assignee: Option<AssigneeFilter>,
    /// Open (default), closed, or all.
    pub state: StateFilter,
    /// A serial number or part of one.
    pub serial: Option<String>,
}

/// One page of the inbox.
#[derive(Debug, Clone, Serialize)]
pub struct CasePage {
    /// How many match.
    pub total: i64,
    /// This page.
    pub cases: Vec<Case>,
}

/// A department's line in the supervision view.
#[derive(Debug, Clone, Serialize)]
pub struct DepartmentLoad {
    /// The department.
    pub department_id: DepartmentId,
    /// Its name.
    pub department_name: String,
    /// Open cases.
    pub open: i64,
    /// Yellow.
    pub yellow: i64,
    /// Red.
    pub red: i64,
    /// Waiting for the applicant (clock paused).
    pub paused: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct LoadRow {
    department_id: Uuid,
    department_name: String,
    open: i64,
    yellow: i64,
    red: i64,
    paused: i64,
}

impl From<LoadRow> for DepartmentLoad {
    fn from(r: LoadRow) -> Self {
        DepartmentLoad {
            department_id: DepartmentId::from_uuid(r.department_id),
            department_name: r.department_name,
            open: r.open,
            yellow: r.yellow,
            red: r.red,
            paused: r.paused,
        }
    }
}

/// A case's personal data, for those allowed to open it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonalData {
    /// The applicant's (or enterprise's) name.
    pub applicant_name: String,
    /// Resident ID or credit code.
    pub applicant_number: String,
    /// Contact mobile.
    pub contact_phone: String,
    /// The form as submitted.
    pub form: serde_json::Value,
}

impl Cases {
    /// The inbox of `access` (cases its `case.view` scope reaches), newest limit first.
    pub async fn list(
        &self,
        access: &Access,
        filter: &CaseFilter,
        limit: i64,
        offset: i64,
    ) -> Result<CasePage, CaseError> {
        let Some(scope) = scope_sql(self.db().backend(), &access.filter(Permission::CaseView)) else {
            return Ok(CasePage { total: 0, cases: Vec::new() });
        };
        let me = access.account.map(|a| a.as_uuid());
        let state = filter.state.as_str();
        let conditions = format!(
            "{scope}
             AND ($1 IS NULL OR c.step = $1)
             AND ($2 IS NULL OR c.item_code = $2)
             AND ($3 IS NULL OR c.due_on <= $3)
             AND ($4 IS NULL OR ($4 = 'red' AND c.warning = 'red') OR ($4 = 'warned' AND c.warning <> 'none'))
             AND ($5 IS NULL OR ($5 = 'mine' AND c.assignee_id = $6) OR ($5 = 'unassigned' AND c.assignee_id IS NULL))
             AND ($7 = 'all' OR ($7 = 'open' AND c.is_open) OR ($7 = 'closed' AND NOT c.is_open))
             AND ($8 IS NULL OR c.serial_number LIKE $8)"
        );
        let warning = filter.warning.map(WarningFilter::as_str);
        let mine = filter.assignee.map(AssigneeFilter::as_str);
        let serial = filter
            .serial
            .as_deref()
            .map(|s| s.chars().filter(char::is_ascii_digit).take(15).collect::<String>())
            .filter(|s| !s.is_empty())
            .map(|s| format!("%{s}%"));
        let count_sql = format!("SELECT COUNT(*) FROM cases c WHERE {conditions}");
        let list_sql = format!(
            "SELECT {CASE_COLUMNS} {CASE_FROM} WHERE {conditions}
             ORDER BY CASE WHEN c.due_on IS NULL THEN 1 ELSE 0 END, c.due_on, c.submitted_at LIMIT $9 OFFSET $10"
        );
        macro_rules! bound {
            ($q:expr) => {
                $q.bind(&filter.step)
                    .bind(&filter.item_code)
                    .bind(filter.due_by)
                    .bind(warning)
                    .bind(mine)
                    .bind(me)
                    .bind(state)
                    .bind(&serial)
            };
        }
        let mut conn = self.db().conn().await?;
        let total: i64 =
            run!(conn, |c| bound!(sqlx::query_scalar(AssertSqlSafe(count_sql.clone()))).fetch_one(&mut *c).await)?;
        let rows: Vec<CaseRow> = run!(conn, |c| bound!(sqlx::query_as(AssertSqlSafe(list_sql.clone())))
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *c)
            .await)?;
        let cases = store::readable(rows);
        Ok(CasePage { total, cases })
    }

    /// A case for staff whose `case.view` reaches it (otherwise: not found).
    pub async fn get(&self, access: &Access, id: CaseId) -> Result<Case, CaseError> {
        let (case, _) = self.load(id).await?;
        if !access.covers(Permission::CaseView, &target(&case)) {
            return Err(CaseError::NotFound);
        }
        Ok(case)
    }

    /// Opens a case's personal data (name, number, mobile, form): needs
    /// `case.view_personal_data` over the case, and every opening is audited.
    pub async fn personal_data(&self, access: &Access, actor: &Actor, id: CaseId) -> Result<PersonalData, CaseError> {
        let (case, row) = self.load(id).await?;
        if !access.covers(Permission::CaseView, &target(&case)) {
            return Err(CaseError::NotFound);
        }
        if !access.covers(Permission::CaseViewPersonalData, &target(&case)) {
            audit::record_alone(
                self.db(),
                actor,
                Event::success("case.view_personal_data", "case", &case.serial_number).outcome(audit::Outcome::Denied),
            )
            .await?;
            return Err(CaseError::Forbidden("您没有“查看办件中的个人信息”权限".into()));
        }
        let data = self.open_personal(&row)?;
        audit::record_alone(self.db(), actor, Event::success("case.view_personal_data", "case", &case.serial_number))
            .await?;
        Ok(data)
    }

    /// A case with its personal data, handed to a department's system whose `access` reaches
    /// it (the exchange audits each hand-over with its own log).
    pub async fn handed_over(&self, access: &Access, id: CaseId) -> Result<(Case, PersonalData), CaseError> {
        let (case, row) = self.load(id).await?;
        if !access.covers(Permission::CaseViewPersonalData, &target(&case)) {
            return Err(CaseError::NotFound);
        }
        let data = self.open_personal(&row)?;
        Ok((case, data))
    }

    /// The applicant's name and ID number as the case registered them, for a domain acting on
    /// the case of a person without an account (a licence's holder).
    pub async fn registered_applicant(&self, id: CaseId) -> Result<(String, String), CaseError> {
        let (_, row) = self.load(id).await?;
        let data = self.open_personal(&row)?;
        Ok((data.applicant_name, data.applicant_number))
    }

    fn open_personal(&self, row: &crate::model::CaseRow) -> Result<PersonalData, CaseError> {
        let keys = self.identity().keys();
        let open = |sealed: &str| keys.decrypt(sealed).map_err(|e| CaseError::Internal(e.to_string()));
        let form = serde_json::from_str(&open(&row.form_enc)?).unwrap_or(serde_json::Value::Null);
        Ok(PersonalData {
            applicant_name: row.applicant_name.clone(),
            applicant_number: open(&row.applicant_number_enc)?,
            contact_phone: open(&row.contact_phone_enc)?,
            form,
        })
    }

    /// The serial number of case `id` (for pages of other domains that link to it).
    pub async fn serial_of(&self, id: CaseId) -> Result<String, CaseError> {
        let mut conn = self.db().conn().await?;
        let serial: Option<String> =
            run!(conn, |c| sqlx::query_scalar("SELECT serial_number FROM cases WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&mut *c)
                .await)?;
        serial.ok_or(CaseError::NotFound)
    }

    /// A case with its form's answers, for GovHall's own reckoning (the fees a payment step
    /// collects); never for showing: people read forms through [`Cases::personal_data`].
    pub async fn for_reckoning(
        &self,
        id: CaseId,
    ) -> Result<(Case, serde_json::Map<String, serde_json::Value>), CaseError> {
        let (case, row) = self.load(id).await?;
        let text = self.identity().keys().decrypt(&row.form_enc).map_err(|e| CaseError::Internal(e.to_string()))?;
        let form = match serde_json::from_str(&text) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        Ok((case, form))
    }

    /// Whether `account` may follow `case` as its applicant: their own case, or, for a case made
    /// for an enterprise, an active member of it (whoever submitted it: an agent removed from the
    /// enterprise no longer follows its cases).
    pub async fn applicant_may_see(&self, account: AccountId, case: &Case) -> Result<bool, CaseError> {
        let Some(enterprise) = case.enterprise_id else { return Ok(case.applicant_id == Some(account)) };
        let m = self.identity().membership(enterprise, account).await?;
        Ok(m.is_some_and(|m| m.status == "active"))
    }

    /// 我的办件: the cases `account` submitted, or submitted for an enterprise it is an active
    /// member of, newest first.
    pub async fn mine(&self, account: AccountId, limit: i64, offset: i64) -> Result<Vec<Case>, CaseError> {
        if offset == 0 {
            // Cases taken in for them at a counter or by a department's system, before they had
            // an account (or before its ID number was known), join it now.
            self.join_to_account(account).await?;
        }
        let sql = format!(
            "SELECT {CASE_COLUMNS} {CASE_FROM} WHERE (c.applicant_id = $1 AND c.enterprise_id IS NULL) OR c.enterprise_id IN
               (SELECT enterprise_id FROM enterprise_members WHERE account_id = $1 AND status = 'active')
             ORDER BY c.submitted_at DESC LIMIT $2 OFFSET $3"
        );
        let mut conn = self.db().conn().await?;
        let rows: Vec<CaseRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone()))
            .bind(account.as_uuid())
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *c)
            .await)?;
        Ok(store::readable(rows))
    }

    /// The id of the case numbered `serial` (for a domain that proved the case otherwise: a
    /// progress query's password).
    pub async fn id_by_serial(&self, serial: &str) -> Result<CaseId, CaseError> {
        let mut conn = self.db().conn().await?;
        let id: Option<Uuid> = run!(conn, |c| sqlx::query_scalar("SELECT id FROM cases WHERE serial_number = $1")
            .bind(serial)
            .fetch_optional(&mut *c)
            .await)?;
        id.map(CaseId::from_uuid).ok_or(CaseError::NotFound)
    }

    /// One of the applicant's cases, by serial number (otherwise: not found).
    pub async fn mine_by_serial(&self, account: AccountId, serial: &str) -> Result<Case, CaseError> {
        let (case, _) = self.load_by_serial(serial).await?.ok_or(CaseError::NotFound)?;
        if !self.applicant_may_see(account, &case).await? {
            return Err(CaseError::NotFound);
        }
        Ok(case)
    }

    /// Open cases per department that `access`'s `case.supervise` reaches, worst first.
    pub async fn supervision(&self, access: &Access) -> Result<Vec<DepartmentLoad>, CaseError> {
        let Some(scope) = scope_sql(self.db().backend(), &access.filter(Permission::CaseSupervise)) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT c.department_id, d.name AS department_name, COUNT(*) AS open,
                    SUM(CASE WHEN c.warning = 'yellow' THEN 1 ELSE 0 END) AS yellow,
                    SUM(CASE WHEN c.warning = 'red' THEN 1 ELSE 0 END) AS red,
                    SUM(CASE WHEN c.paused_on IS NOT NULL THEN 1 ELSE 0 END) AS paused
             FROM cases c JOIN departments d ON d.id = c.department_id
             WHERE c.is_open AND {scope}
             GROUP BY c.department_id, d.name ORDER BY red DESC, yellow DESC, d.name"
        );
        let mut conn = self.db().conn().await?;
        let rows: Vec<LoadRow> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).fetch_all(&mut *c).await)?;
        Ok(rows.into_iter().map(DepartmentLoad::from).collect())
    }

    /// Open yellow and red cases `access`'s `case.supervise` reaches, most overdue first.
    pub async fn warned(&self, access: &Access, limit: i64) -> Result<Vec<Case>, CaseError> {
        let Some(scope) = scope_sql(self.db().backend(), &access.filter(Permission::CaseSupervise)) else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {CASE_COLUMNS} {CASE_FROM} WHERE c.is_open AND c.warning <> 'none' AND {scope}
             ORDER BY CASE WHEN c.warning = 'red' THEN 0 ELSE 1 END, c.due_on LIMIT $1"
        );
        let mut conn = self.db().conn().await?;
        let rows: Vec<CaseRow> =
            run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(limit).fetch_all(&mut *c).await)?;
        Ok(store::readable(rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_back_their_names() {
        for f in [StateFilter::Open, StateFilter::Closed, StateFilter::All] {
            assert_eq!(StateFilter::parse(f.as_str()), Some(f));
        }
        for f in [WarningFilter::Warned, WarningFilter::Red] {
            assert_eq!(WarningFilter::parse(f.as_str()), Some(f));
        }
        for f in [AssigneeFilter::Mine, AssigneeFilter::Unassigned] {
            assert_eq!(AssigneeFilter::parse(f.as_str()), Some(f));
        }
        assert_eq!(StateFilter::default(), StateFilter::Open);
        assert_eq!(StateFilter::parse("everything"), None);
    }
}
