//! The home of a person's or an enterprise's space (我的空间, 企业空间): how many cases, what
//! waits for them (the first tasks), the latest cases, and an enterprise's project dossiers with
//! their cases counted. Every query walks an index on the applicant or the enterprise (the
//! benchmark `cargo bench -p govhall --bench space` checks the plans and the time for an
//! enterprise with 10,000 cases).

use crate::tasks::{Task, Whose};
use crate::{CaseError, Cases};
use chrono::{DateTime, Utc};
use govhall_db::{run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::AccountId;
use serde::Serialize;
use uuid::Uuid;

/// How many tasks and cases the home shows (the task list and 我的办件 show all).
pub const HOME_ROWS: usize = 5;

/// A case in the home's latest list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RecentCase {
    /// Its serial number.
    pub serial_number: String,
    /// The item's name.
    pub item_name: String,
    /// Whether it is being handled.
    pub is_open: bool,
    /// `granted`, `refused`, `rejected`, `withdrawn` once decided.
    pub outcome: Option<String>,
    /// Submitted.
    pub submitted_at: DateTime<Utc>,
}

impl RecentCase {
    /// Where it stands, in Chinese.
    pub fn state_label(&self) -> &'static str {
        match (self.is_open, self.outcome.as_deref()) {
            (true, Some("granted")) => "已准予，待送达",
            (true, _) => "办理中",
            (false, Some("granted")) => "准予",
            (false, Some("refused")) => "不予",
            (false, Some("rejected")) => "不予受理",
            (false, Some("withdrawn")) => "已撤回",
            (false, _) => "已结束",
        }
    }
}

/// A dossier on the enterprise's home.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectSummary {
    /// The project.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// The stage it is at.
    pub stage: String,
    /// Its cases.
    pub cases: i64,
    /// Of which being handled.
    pub open_cases: i64,
}

/// The home's contents.
#[derive(Debug, Clone, Serialize)]
pub struct Home {
    /// Every case.
    pub total: i64,
    /// Being handled.
    pub open: i64,
    /// Every task (what waits for the applicant), soonest deadline first.
    pub tasks: Vec<Task>,
    /// The latest submitted cases.
    pub recent: Vec<RecentCase>,
    /// An enterprise's projects, newest first (none for a person).
    pub projects: Vec<ProjectSummary>,
}

const PROJECT_COUNTS: &str = "SELECT p.id, p.name, p.stage, COUNT(c.id) AS cases,
        COALESCE(SUM(CASE WHEN c.is_open THEN 1 ELSE 0 END), 0) AS open_cases
     FROM projects p LEFT JOIN project_cases pc ON pc.project_id = p.id LEFT JOIN cases c ON c.id = pc.case_id
     WHERE p.enterprise_id = $1 GROUP BY p.id, p.name, p.stage, p.created_at ORDER BY p.created_at DESC LIMIT 20";

impl Cases {
    /// The home of `whose`, for `viewer` (an enterprise's for its active members; others: not
    /// found).
    pub async fn home(&self, viewer: AccountId, whose: Whose) -> Result<Home, CaseError> {
        if let Whose::Person(person) = whose {
            self.join_to_account(person).await?;
        }
        let tasks = self.tasks(viewer, whose).await?;
        let (filter, id) = Self::whose_filter(whose);
        let mut conn = self.db().conn().await?;
        let (total, open): (i64, i64) = run!(conn, |c| sqlx::query_as(AssertSqlSafe(format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN c.is_open THEN 1 ELSE 0 END), 0) FROM cases c WHERE {filter}"
        )))
        .bind(id)
        .fetch_one(&mut *c)
        .await)?;
        let recent: Vec<RecentCase> = run!(conn, |c| sqlx::query_as(AssertSqlSafe(format!(
            "SELECT c.serial_number, c.item_name, c.is_open, c.outcome, c.submitted_at FROM cases c
             WHERE {filter} ORDER BY c.submitted_at DESC LIMIT {HOME_ROWS}"
        )))
        .bind(id)
        .fetch_all(&mut *c)
        .await)?;
        let projects = match whose {
            Whose::Person(_) => Vec::new(),
            Whose::Enterprise(e) => {
                let rows: Vec<(Uuid, String, String, i64, i64)> =
                    run!(conn, |c| sqlx::query_as(PROJECT_COUNTS).bind(e.as_uuid()).fetch_all(&mut *c).await)?;
                rows.into_iter()
                    .map(|(id, name, stage, cases, open_cases)| ProjectSummary { id, name, stage, cases, open_cases })
                    .collect()
            }
        };
        Ok(Home { total, open, tasks, recent, projects })
    }

    /// The statements [`Cases::home`] runs for `whose`, with their parameters bound as literals
    /// would be: for the benchmark to read their plans.
    pub fn home_statements(whose: Whose) -> Vec<String> {
        let (filter, id) = Self::whose_filter(whose);
        let filter = filter.replace("$1", &format!("'{id}'"));
        let mut out = vec![
            format!("SELECT c.id, c.workflow, c.step FROM cases c WHERE c.is_open AND {filter}"),
            format!("SELECT COUNT(*) FROM cases c WHERE {filter}"),
            format!(
                "SELECT c.serial_number FROM cases c WHERE {filter} ORDER BY c.submitted_at DESC LIMIT {HOME_ROWS}"
            ),
        ];
        if let Whose::Enterprise(_) = whose {
            out.push(PROJECT_COUNTS.replace("$1", &format!("'{id}'")));
        }
        out
    }
}
