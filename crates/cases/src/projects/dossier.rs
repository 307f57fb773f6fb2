//! Reading a dossier: its cases by stage with their working days, its approvals, what is done
//! and what comes next — for the enterprise's members, and for staff as their scope allows.

use super::{Approval, CaseLine, Dossier, PROJECTS_OF_CASE, Project, ProjectId, StageView};
use crate::ids::{AccountId, CaseId, EnterpriseId};
use crate::model::{Case, Outcome};
use crate::queries::target;
use crate::{CaseError, Cases};
use govhall_core::clock::china_date;
use govhall_db::{run, sqlx};
use govhall_identity::{Access, Permission};
use uuid::Uuid;

impl Cases {
    /// The dossier, for the enterprise's active members.
    pub async fn dossier(&self, viewer: AccountId, id: ProjectId) -> Result<Dossier, CaseError> {
        let p = self.project(viewer, id).await?;
        let ids = self.project_case_ids(id).await?;
        let mut cases = Vec::new();
        for (case_id, stage) in ids {
            let (case, _) = self.load(case_id).await?;
            cases.push((stage, Some(case)));
        }
        self.assemble(p, cases).await
    }

    /// The dossier for staff: allowed when it holds a case `access` may see; the cases it may not
    /// see are only counted.
    pub async fn staff_dossier(&self, access: &Access, id: ProjectId) -> Result<Dossier, CaseError> {
        let p = self.project_row(id).await?;
        let mut cases = Vec::new();
        let mut any = false;
        for (case_id, stage) in self.project_case_ids(id).await? {
            let (case, _) = self.load(case_id).await?;
            let visible = access.covers(Permission::CaseView, &target(&case));
            any |= visible;
            cases.push((stage, visible.then_some(case)));
        }
        if !any {
            return Err(CaseError::NotFound);
        }
        self.assemble(p, cases).await
    }

    /// The dossiers holding case `case` (for the staff's case page).
    pub async fn projects_of_case(&self, case: CaseId) -> Result<Vec<(ProjectId, String)>, CaseError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<(Uuid, String)> =
            run!(conn, |c| sqlx::query_as(PROJECTS_OF_CASE).bind(case.as_uuid()).fetch_all(&mut *c).await)?;
        Ok(rows.into_iter().map(|(id, name)| (ProjectId::from_uuid(id), name)).collect())
    }

    async fn project_case_ids(&self, id: ProjectId) -> Result<Vec<(CaseId, String)>, CaseError> {
        let mut conn = self.db().conn().await?;
        let rows: Vec<(Uuid, String)> = run!(conn, |c| sqlx::query_as(
            "SELECT case_id, stage FROM project_cases WHERE project_id = $1 ORDER BY added_at"
        )
        .bind(id.as_uuid())
        .fetch_all(&mut *c)
        .await)?;
        Ok(rows.into_iter().map(|(c, s)| (CaseId::from_uuid(c), s)).collect())
    }

    async fn assemble(&self, project: Project, cases: Vec<(String, Option<Case>)>) -> Result<Dossier, CaseError> {
        let mut conn = self.db().conn().await?;
        let approvals: Vec<Approval> = run!(conn, |c| sqlx::query_as(
            "SELECT id, stage, title, number, issuer, issued_on, file_name FROM project_approvals
             WHERE project_id = $1 ORDER BY issued_on, added_at"
        )
        .bind(project.id)
        .fetch_all(&mut *c)
        .await)?;
        drop(conn);
        let enterprise_name = self
            .identity()
            .enterprise(EnterpriseId::from_uuid(project.enterprise_id))
            .await
            .map(|e| e.name)
            .unwrap_or_default();
        let today = china_date(self.db().now());
        let cal = self.calendar();
        let mut stages: Vec<StageView> = self
            .project_stages()
            .iter()
            .map(|name| StageView {
                name: name.clone(),
                cases: Vec::new(),
                hidden: 0,
                approvals: Vec::new(),
                done: false,
            })
            .collect();
        for (stage, case) in cases {
            let Some(view) = stages.iter_mut().find(|s| s.name == stage) else { continue };
            match case {
                Some(case) => {
                    let elapsed_days = case.accepted_on.map(|from| {
                        let to = case.decided_at.map_or(today, china_date);
                        cal.working_days_between(from, to)
                    });
                    let pending = case.is_open && case.decided_at.is_none();
                    let remaining_days = case.due_on.filter(|_| pending).map(|due| {
                        if due >= today {
                            i64::from(cal.working_days_between(today, due))
                        } else {
                            -i64::from(cal.working_days_between(due, today))
                        }
                    });
                    view.cases.push(CaseLine {
                        case_id: case.id,
                        serial_number: case.serial_number,
                        item_name: case.item_name,
                        department_name: case.department_name,
                        step_name: case.step_name,
                        outcome: case.outcome,
                        pending,
                        elapsed_days,
                        remaining_days,
                    });
                }
                None => view.hidden += 1,
            }
        }
        for a in approvals {
            if let Some(view) = stages.iter_mut().find(|s| s.name == a.stage) {
                view.approvals.push(a);
            }
        }
        for s in &mut stages {
            let granted = s.cases.iter().any(|l| l.outcome == Some(Outcome::Granted));
            let pending = s.cases.iter().any(|l| l.pending);
            s.done = (granted || !s.approvals.is_empty()) && !pending;
        }
        let next_stage = stages.iter().find(|s| !s.done).map(|s| s.name.clone());
        Ok(Dossier { project, enterprise_name, stages, next_stage })
    }
}
