//! Each item's workflow: the standard one unless an administrator with `workflow.manage` over
//! the item's department set another. New cases take the workflow in force when submitted.

use crate::workflow::Workflow;
use crate::{CaseError, Cases};
use govhall_audit::{self as audit, Actor, Event};
use govhall_catalog::ItemContent;
use govhall_catalog::model::FeeDue;
use govhall_db::{exec, run, sqlx};
use govhall_identity::{Access, DepartmentId, Permission, Target};

/// The standard workflow with a payment step for each time the item's fees fall due.
pub fn standard_for(content: &ItemContent) -> Workflow {
    let due = |d: FeeDue| content.fees_due(d).next().is_some();
    Workflow::with_payments(due(FeeDue::Submission), due(FeeDue::Decision))
}

impl Cases {
    /// The workflow new cases of `item_code` follow, and whether it is the item's own: the
    /// standard one otherwise, with the payment steps its published fees need.
    pub async fn workflow_of(&self, item_code: &str) -> Result<(Workflow, bool), CaseError> {
        let guide = self.catalog().guide(item_code).await.map_err(|e| CaseError::Internal(e.to_string()))?;
        let content = guide.map(|g| g.content.clone()).unwrap_or_default();
        self.workflow_with(item_code, &content).await
    }

    async fn workflow_with(&self, item_code: &str, content: &ItemContent) -> Result<(Workflow, bool), CaseError> {
        let mut conn = self.db().conn().await?;
        let stored: Option<String> =
            run!(conn, |c| sqlx::query_scalar("SELECT definition FROM case_workflows WHERE item_code = $1")
                .bind(item_code)
                .fetch_optional(&mut *c)
                .await)?;
        match stored {
            Some(text) => Ok((Workflow::from_json(&text).map_err(CaseError::InvalidWorkflow)?, true)),
            None => Ok((standard_for(content), false)),
        }
    }

    pub(crate) async fn workflow_for(&self, item_code: &str, content: &ItemContent) -> Result<Workflow, CaseError> {
        Ok(self.workflow_with(item_code, content).await?.0)
    }

    async fn check_may_configure(&self, access: &Access, item_code: &str) -> Result<(), CaseError> {
        let item = govhall_catalog::store::summary(self.db(), item_code)
            .await
            .map_err(|e| CaseError::Internal(e.to_string()))?
            .ok_or_else(|| CaseError::ItemUnavailable(format!("事项“{item_code}”不存在")))?;
        let target = Target {
            owner: None,
            department: Some(DepartmentId::from_uuid(item.department_id)),
            region: Some(item.region_code),
        };
        if !access.covers(Permission::WorkflowManage, &target) {
            return Err(CaseError::Forbidden("您没有配置该事项办理流程的权限".into()));
        }
        Ok(())
    }

    /// Sets `item_code`'s workflow from its JSON text (checked; the error says what is wrong);
    /// audited. Cases already submitted keep theirs.
    pub async fn save_workflow(
        &self,
        access: &Access,
        actor: &Actor,
        item_code: &str,
        text: &str,
    ) -> Result<Workflow, CaseError> {
        self.check_may_configure(access, item_code).await?;
        let workflow = Workflow::from_json(text).map_err(CaseError::InvalidWorkflow)?;
        let now = self.db().now();
        let mut tx = self.db().begin().await?;
        exec!(
            tx,
            sqlx::query(
                "INSERT INTO case_workflows (item_code, definition, updated_by, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (item_code) DO UPDATE SET definition = $2, updated_by = $3, updated_at = $4"
            )
            .bind(item_code)
            .bind(workflow.to_json())
            .bind(&actor.label)
            .bind(now)
        )?;
        let detail = format!("{} 个步骤，{} 个操作", workflow.steps.len(), workflow.transitions.len());
        audit::record(&mut tx, actor, Event::success("workflow.save", "item", item_code).detail(detail)).await?;
        tx.commit().await?;
        Ok(workflow)
    }

    /// Goes back to the standard workflow for `item_code`; audited.
    pub async fn reset_workflow(&self, access: &Access, actor: &Actor, item_code: &str) -> Result<(), CaseError> {
        self.check_may_configure(access, item_code).await?;
        let mut tx = self.db().begin().await?;
        exec!(tx, sqlx::query("DELETE FROM case_workflows WHERE item_code = $1").bind(item_code))?;
        audit::record(&mut tx, actor, Event::success("workflow.reset", "item", item_code)).await?;
        tx.commit().await?;
        Ok(())
    }
}
