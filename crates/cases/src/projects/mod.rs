//! 项目档案 (design 2.5.2): an enterprise's investment project groups the cases of several items
//! across departments by stage (立项 → 用地 → 规划 → 施工 …, `[cases] project_stages`), with the
//! approvals (批文) it got before the hall, added by hand with their files. The dossier shows each
//! stage's cases with their elapsed and remaining working days and what comes next. The
//! enterprise's active members keep it; staff see the dossiers that hold a case they may see, and
//! of the others only how many there are.
//!
//! Here: the model and what members write. [`dossier`]: reading a dossier.

use crate::files::{NewFile, check, clean_name};
use crate::ids::{AccountId, CaseId, EnterpriseId};
use crate::model::Outcome;
use crate::{CaseError, Cases};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::clock::china_date;
use govhall_db::{exec, run, sqlx};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

mod dossier;

govhall_core::define_id!(
    /// An investment project's dossier (项目档案).
    ProjectId
);
govhall_core::define_id!(
    /// An approval (批文) added to a dossier by hand.
    ApprovalId
);

/// A project as its enterprise describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Project {
    /// Id.
    pub id: Uuid,
    /// The enterprise.
    pub enterprise_id: Uuid,
    /// Its name.
    pub name: String,
    /// Its code on the investment project platform (投资项目代码), if it has one.
    pub code: String,
    /// Investment scale in yuan, if given.
    pub scale_yuan: Option<i64>,
    /// Land area in hundredths of a square metre, if given.
    pub land_centi_m2: Option<i64>,
    /// The stage it is at.
    pub stage: String,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl Project {
    /// The scale as people read it (万元).
    pub fn scale_label(&self) -> String {
        self.scale_yuan.map_or_else(|| "未填写".into(), |y| format!("{} 万元", trim(y as f64 / 10_000.0)))
    }

    /// The scale as typed in the form (万元), empty when not given.
    pub fn scale_wan_text(&self) -> String {
        self.scale_yuan.map(|y| trim(y as f64 / 10_000.0)).unwrap_or_default()
    }

    /// The land area as typed in the form (平方米), empty when not given.
    pub fn land_m2_text(&self) -> String {
        self.land_centi_m2.map(|c| trim(c as f64 / 100.0)).unwrap_or_default()
    }

    /// The land area as people read it (平方米).
    pub fn land_label(&self) -> String {
        self.land_centi_m2.map_or_else(|| "未填写".into(), |c| format!("{} 平方米", trim(c as f64 / 100.0)))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// What a member types for a project.
#[derive(Debug, Clone, Default)]
pub struct ProjectInput {
    /// Name (1–100 characters).
    pub name: String,
    /// 投资项目代码 (may be empty): digits and dashes, as the platform gives it.
    pub code: String,
    /// Investment scale in 万元 as typed (may be empty).
    pub scale_wan: String,
    /// Land area in 平方米 as typed (may be empty).
    pub land_m2: String,
    /// The stage (one of the configured ones; the first when empty).
    pub stage: String,
}

/// An approval (批文) given before the hall.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Approval {
    /// Id.
    pub id: Uuid,
    /// The stage.
    pub stage: String,
    /// Its title (xx 项目立项批复).
    pub title: String,
    /// Its document number (文号).
    pub number: String,
    /// Who issued it.
    pub issuer: String,
    /// When.
    pub issued_on: NaiveDate,
    /// Its file's name, if a file was given.
    pub file_name: Option<String>,
}

/// A case in a dossier: what its enterprise and staff read of it (no handler, no supervision).
#[derive(Debug, Clone, Serialize)]
pub struct CaseLine {
    /// The case.
    pub case_id: CaseId,
    /// Its serial number.
    pub serial_number: String,
    /// The item.
    pub item_name: String,
    /// The handling department.
    pub department_name: String,
    /// The step it is at.
    pub step_name: String,
    /// How it ended or was decided, if it was.
    pub outcome: Option<Outcome>,
    /// Whether it is still being handled (not decided, not ended).
    pub pending: bool,
    /// Working days since 受理 (to the decision, or today).
    pub elapsed_days: Option<u32>,
    /// Working days left to its limit while it is being handled.
    pub remaining_days: Option<i64>,
}

/// One stage of a dossier.
#[derive(Debug, Clone, Serialize)]
pub struct StageView {
    /// Its name.
    pub name: String,
    /// Its cases.
    pub cases: Vec<CaseLine>,
    /// Cases of other departments the viewer may not see (staff).
    pub hidden: usize,
    /// Its approvals.
    pub approvals: Vec<Approval>,
    /// Whether it is done: an approval, or a granted case, and no case still being handled.
    pub done: bool,
}

/// A dossier.
#[derive(Debug, Clone, Serialize)]
pub struct Dossier {
    /// The project.
    pub project: Project,
    /// Its enterprise's name.
    pub enterprise_name: String,
    /// Its stages in order.
    pub stages: Vec<StageView>,
    /// The first stage not done, if any.
    pub next_stage: Option<String>,
}

/// A decimal typed by a person, scaled by 10^`places` to an integer (`"1200.5"`, 4 → 12005000).
fn decimal(field: &str, text: &str, places: u32) -> Result<Option<i64>, CaseError> {
    let text = text.trim().replace(',', "");
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || CaseError::InvalidInput(format!("{field}应为不小于 0 的数字，最多 {places} 位小数"));
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || whole.len() > 12 {
        return Err(bad());
    }
    if frac.len() > places as usize || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let scale = 10_i64.pow(places);
    let frac_value = format!("{frac:0<width$}", width = places as usize).parse::<i64>().unwrap_or(0);
    whole
        .parse::<i64>()
        .ok()
        .and_then(|w| w.checked_mul(scale))
        .and_then(|w| w.checked_add(frac_value))
        .map(Some)
        .ok_or_else(bad)
}

fn text(field: &str, value: &str, max: usize, required: bool) -> Result<String, CaseError> {
    let value = value.trim();
    if value.is_empty() && !required {
        return Ok(String::new());
    }
    if value.is_empty() || value.chars().count() > max || value.chars().any(|c| c.is_control() || "<>".contains(c)) {
        return Err(CaseError::InvalidInput(format!("{field}不能为空，不超过 {max} 个字，且不含尖括号")));
    }
    Ok(value.to_owned())
}

/// An approval's file as stored: name, type, bytes (none when no file was given).
type StoredFile = (Option<String>, Option<String>, Option<Vec<u8>>);

const PROJECTS_OF_CASE: &str =
    "SELECT p.id, p.name FROM project_cases pc JOIN projects p ON p.id = pc.project_id WHERE pc.case_id = $1";

const PROJECT_COLUMNS: &str = "id, enterprise_id, name, code, scale_yuan, land_centi_m2, stage, created_at";

impl Cases {
    /// The configured stages.
    pub fn project_stages(&self) -> &[String] {
        &self.settings().project_stages
    }

    async fn member(&self, viewer: AccountId, enterprise: Uuid) -> Result<(), CaseError> {
        match self.identity().membership(EnterpriseId::from_uuid(enterprise), viewer).await? {
            Some(m) if m.status == "active" => Ok(()),
            _ => Err(CaseError::NotFound),
        }
    }

    fn check_input(&self, input: &ProjectInput) -> Result<ProjectInput, CaseError> {
        let code = input.code.trim();
        if !code.is_empty() && (code.len() > 30 || !code.bytes().all(|b| b.is_ascii_digit() || b == b'-')) {
            return Err(CaseError::InvalidInput(
                "投资项目代码应为投资项目在线审批监管平台赋予的代码（数字和短横线）".into(),
            ));
        }
        let stage = match input.stage.trim() {
            "" => self.project_stages().first().cloned().unwrap_or_default(),
            s if self.project_stages().iter().any(|x| x == s) => s.to_owned(),
            s => return Err(CaseError::InvalidInput(format!("项目阶段“{s}”不在可选阶段中"))),
        };
        Ok(ProjectInput {
            name: text("项目名称", &input.name, 100, true)?,
            code: code.to_owned(),
            scale_wan: input.scale_wan.clone(),
            land_m2: input.land_m2.clone(),
            stage,
        })
    }

    /// The projects of an enterprise, for its active members.
    pub async fn projects(&self, viewer: AccountId, enterprise: EnterpriseId) -> Result<Vec<Project>, CaseError> {
        self.member(viewer, enterprise.as_uuid()).await?;
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE enterprise_id = $1 ORDER BY created_at DESC");
        let mut conn = self.db().conn().await?;
        Ok(run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(enterprise.as_uuid())
            .fetch_all(&mut *c)
            .await)?)
    }

    async fn project_row(&self, id: ProjectId) -> Result<Project, CaseError> {
        let sql = format!("SELECT {PROJECT_COLUMNS} FROM projects WHERE id = $1");
        let mut conn = self.db().conn().await?;
        let found: Option<Project> = run!(conn, |c| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await)?;
        found.ok_or(CaseError::NotFound)
    }

    /// One project, for its enterprise's active members (others: not found).
    pub async fn project(&self, viewer: AccountId, id: ProjectId) -> Result<Project, CaseError> {
        let p = self.project_row(id).await?;
        self.member(viewer, p.enterprise_id).await?;
        Ok(p)
    }

    /// Creates a project for an enterprise (any active member), audited.
    pub async fn create_project(
        &self,
        actor: &Actor,
        viewer: AccountId,
        enterprise: EnterpriseId,
        input: &ProjectInput,
    ) -> Result<ProjectId, CaseError> {
        self.member(viewer, enterprise.as_uuid()).await?;
        let i = self.check_input(input)?;
        let scale = decimal("投资规模（万元）", &i.scale_wan, 4)?;
        let land = decimal("用地面积（平方米）", &i.land_m2, 2)?;
        let id = ProjectId::new();
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO projects (id, enterprise_id, name, code, scale_yuan, land_centi_m2, stage, created_by,
                    created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)"
            )
            .bind(id.as_uuid())
            .bind(enterprise.as_uuid())
            .bind(&i.name)
            .bind(&i.code)
            .bind(scale)
            .bind(land)
            .bind(&i.stage)
            .bind(viewer.as_uuid())
            .bind(now)
        )?;
        audit::record(&mut tx, actor, Event::success("project.create", "project", id).detail(i.name.clone())).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a project's description and stage (any active member), audited.
    pub async fn update_project(
        &self,
        actor: &Actor,
        viewer: AccountId,
        id: ProjectId,
        input: &ProjectInput,
    ) -> Result<(), CaseError> {
        self.project(viewer, id).await?;
        let i = self.check_input(input)?;
        let scale = decimal("投资规模（万元）", &i.scale_wan, 4)?;
        let land = decimal("用地面积（平方米）", &i.land_m2, 2)?;
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(
                "UPDATE projects SET name = $1, code = $2, scale_yuan = $3, land_centi_m2 = $4, stage = $5, updated_at = $6
                 WHERE id = $7"
            )
            .bind(&i.name)
            .bind(&i.code)
            .bind(scale)
            .bind(land)
            .bind(&i.stage)
            .bind(self.db().now())
            .bind(id.as_uuid())
        )?;
        audit::record(&mut tx, actor, Event::success("project.update", "project", id).detail(i.name.clone())).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Puts one of the enterprise's cases, by serial number, into a stage of the dossier (a case
    /// belongs to one dossier at most).
    pub async fn add_project_case(
        &self,
        actor: &Actor,
        viewer: AccountId,
        id: ProjectId,
        serial: &str,
        stage: &str,
    ) -> Result<(), CaseError> {
        let p = self.project(viewer, id).await?;
        if !self.project_stages().iter().any(|s| s == stage) {
            return Err(CaseError::InvalidInput(format!("项目阶段“{stage}”不在可选阶段中")));
        }
        let case = self.mine_by_serial(viewer, serial.trim()).await.map_err(|_| {
            CaseError::InvalidInput(format!(
                "没有找到本企业申办编号为“{}”的办件",
                serial.trim().chars().take(30).collect::<String>()
            ))
        })?;
        if case.enterprise_id.map(|e| e.as_uuid()) != Some(p.enterprise_id) {
            return Err(CaseError::InvalidInput("只能加入以本企业名义申报的办件".into()));
        }
        let mut tx = self.db().begin().await?;
        let n = exec!(
            tx,
            sqlx::query(
                "INSERT INTO project_cases (project_id, case_id, stage, added_by, added_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (case_id) DO NOTHING"
            )
            .bind(id.as_uuid())
            .bind(case.id.as_uuid())
            .bind(stage)
            .bind(viewer.as_uuid())
            .bind(self.db().now())
        )?;
        if n == 0 {
            return Err(CaseError::InvalidInput(format!("办件 {} 已在一个项目档案中", case.serial_number)));
        }
        let event =
            Event::success("project.add_case", "project", id).detail(format!("{stage}：{}", case.serial_number));
        audit::record(&mut tx, actor, event).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds an approval (批文) given before the hall, with its file when given (PDF, OFD, PNG or
    /// JPG, checked by content).
    pub async fn add_approval(
        &self,
        actor: &Actor,
        viewer: AccountId,
        id: ProjectId,
        approval: &Approval,
        file: Option<NewFile>,
    ) -> Result<ApprovalId, CaseError> {
        self.project(viewer, id).await?;
        if !self.project_stages().contains(&approval.stage) {
            return Err(CaseError::InvalidInput(format!("项目阶段“{}”不在可选阶段中", approval.stage)));
        }
        let title = text("批文名称", &approval.title, 100, true)?;
        let number = text("文号", &approval.number, 50, false)?;
        let issuer = text("发文机关", &approval.issuer, 100, true)?;
        if approval.issued_on > china_date(self.db().now()) {
            return Err(CaseError::InvalidInput("发文日期不能晚于今天".into()));
        }
        let stored = match &file {
            Some(f) => Some((check(f, self.settings().max_file_bytes)?, clean_name(&f.file_name))),
            None => None,
        };
        let approval_id = ApprovalId::new();
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO project_approvals (id, project_id, stage, title, number, issuer, issued_on, file_name,
                    content_type, sha256, content, added_by, added_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            )
            .bind(approval_id.as_uuid())
            .bind(id.as_uuid())
            .bind(&approval.stage)
            .bind(&title)
            .bind(&number)
            .bind(&issuer)
            .bind(approval.issued_on)
            .bind(stored.as_ref().map(|(_, name)| name.clone()))
            .bind(stored.as_ref().map(|(kind, _)| (*kind).to_owned()))
            .bind(file.as_ref().map(|f| hex::encode(Sha256::digest(&f.bytes))))
            .bind(file.as_ref().map(|f| f.bytes.clone()))
            .bind(viewer.as_uuid())
            .bind(self.db().now())
        )?;
        audit::record(&mut tx, actor, Event::success("project.add_approval", "project", id).detail(title)).await?;
        tx.commit().await?;
        Ok(approval_id)
    }

    /// An approval's file, for the enterprise's members: name, type, bytes.
    pub async fn approval_file(
        &self,
        viewer: AccountId,
        id: ProjectId,
        approval: ApprovalId,
    ) -> Result<(String, String, Vec<u8>), CaseError> {
        self.project(viewer, id).await?;
        let mut conn = self.db().conn().await?;
        let found: Option<StoredFile> = run!(conn, |c| sqlx::query_as(
            "SELECT file_name, content_type, content FROM project_approvals WHERE id = $1 AND project_id = $2"
        )
        .bind(approval.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await)?;
        match found {
            Some((Some(name), Some(kind), Some(bytes))) => Ok((name, kind, bytes)),
            _ => Err(CaseError::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimals_are_read_exactly_or_refused() {
        assert_eq!(decimal("x", "1200.5", 4).unwrap(), Some(12_005_000));
        assert_eq!(decimal("x", " 3,000 ", 2).unwrap(), Some(300_000));
        assert_eq!(decimal("x", "", 2).unwrap(), None);
        for bad in ["-1", "1.234", "abc", ".5", "1e9", "9999999999999"] {
            assert!(decimal("x", bad, 2).is_err(), "{bad}");
        }
    }
}
