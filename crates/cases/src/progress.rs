//! Following a case (办件进度): by serial number and query password for anyone holding both, and
//! for the signed-in applicant. The public timeline carries no personal data and no notes;
//! look-ups are throttled per client and per serial number, and a wrong password answers
//! exactly like an unknown number.

use crate::ids::CaseId;
use crate::model::{Case, CaseEvent};
use crate::{CaseError, Cases, password};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use govhall_db::{exec, run, sqlx};
use govhall_identity::Access;
use govhall_identity::AccountId;
use serde::Serialize;
use uuid::Uuid;

/// The national milestones, in order.
pub const MILESTONES: [&str; 6] = ["收件", "预审", "受理", "审查", "办结", "送达"];

/// A milestone on the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Milestone {
    /// 收件 … 送达, or how the case ended early (不予受理, 已撤回).
    pub name: String,
    /// When it was reached.
    pub at: Option<DateTime<Utc>>,
    /// Whether the case is there now.
    pub current: bool,
}

/// One step of the history as the applicant sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// What happened (受理).
    pub label: String,
    /// The step it led to.
    pub step: String,
    /// 申请人, 工作人员 or 系统.
    pub by: String,
    /// The note (only for the signed-in applicant; empty on the public timeline).
    pub note: String,
    /// The materials a request for more asks for (only for the signed-in applicant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requested: Vec<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A case's progress.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// Serial number.
    pub serial_number: String,
    /// The item.
    pub item_name: String,
    /// The handling department.
    pub department: String,
    /// The current step.
    pub step: String,
    /// Still being handled.
    pub is_open: bool,
    /// How it ended, in Chinese (准予 …).
    pub outcome: Option<String>,
    /// Submitted.
    pub submitted_at: DateTime<Utc>,
    /// Accepted on.
    pub accepted_on: Option<NaiveDate>,
    /// Due (while the clock runs).
    pub due_on: Option<NaiveDate>,
    /// Whether the clock stands still (waiting for the applicant).
    pub paused: bool,
    /// The time limit (20个工作日).
    pub limit: String,
    /// Milestones.
    pub milestones: Vec<Milestone>,
    /// Every step, oldest first.
    pub entries: Vec<Entry>,
}

/// Builds the timeline of `case`; `notes` keeps the notes (for the applicant signed in).
pub fn timeline(case: &Case, events: &[CaseEvent], notes: bool) -> Timeline {
    let step_name = |code: &str| case.workflow.step(code).map_or_else(|| code.to_owned(), |s| s.name.clone());
    let mut milestones: Vec<Milestone> = MILESTONES
        .iter()
        .map(|m| Milestone {
            name: (*m).to_owned(),
            at: events.iter().find(|e| step_name(&e.to_step) == *m).map(|e| e.at),
            current: false,
        })
        .collect();
    // 收件 is reached on submission even when the first step has another name.
    if let (Some(first), Some(submitted)) = (milestones.first_mut(), events.first()) {
        first.at = first.at.or(Some(submitted.at));
    }
    if !case.is_open && !MILESTONES.contains(&case.step_name.as_str()) {
        milestones.retain(|m| m.at.is_some());
        milestones.push(Milestone { name: case.step_name.clone(), at: case.closed_at, current: true });
    } else if let Some(m) = milestones.iter_mut().find(|m| m.name == case.step_name) {
        m.current = true;
    }
    let entries = events
        .iter()
        .map(|e| Entry {
            label: e.label.clone(),
            step: step_name(&e.to_step),
            by: e.actor_kind.label().to_owned(),
            note: if notes { e.note.clone() } else { String::new() },
            requested: if notes { e.requested.clone() } else { Vec::new() },
            at: e.at,
        })
        .collect();
    Timeline {
        serial_number: case.serial_number.clone(),
        item_name: case.item_name.clone(),
        department: case.department_name.clone(),
        step: case.step_name.clone(),
        is_open: case.is_open,
        outcome: case.outcome.map(|o| o.label().to_owned()),
        submitted_at: case.submitted_at,
        accepted_on: case.accepted_on,
        due_on: case.due_on,
        paused: case.paused_on.is_some(),
        limit: case.limit_label(),
        milestones,
        entries,
    }
}

impl Cases {
    /// The public timeline of the case with this serial number and query password, asked by
    /// `client` (an address or an API client's name).
    pub async fn progress(&self, serial: &str, query_password: &str, client: &str) -> Result<Timeline, CaseError> {
        let now = self.db().now();
        let settings = self.settings();
        let serial: String = serial.chars().filter(|c| !c.is_whitespace()).take(40).collect();
        let mut conn = self.db().conn().await?;
        let window = now - Duration::minutes(settings.client_window_minutes);
        let by_client: i64 =
            run!(conn, |c| sqlx::query_scalar("SELECT COUNT(*) FROM progress_failures WHERE client = $1 AND at > $2")
                .bind(client)
                .bind(window)
                .fetch_one(&mut *c)
                .await)?;
        if by_client >= settings.client_failures {
            return Err(CaseError::ProgressThrottled);
        }
        // The attempt counts before it is checked (and is forgotten if right), so that tries
        // sent at once cannot slip past the lock together.
        let attempt = Uuid::now_v7();
        exec!(
            conn,
            sqlx::query("INSERT INTO progress_failures (id, client, serial, at) VALUES ($1, $2, $3, $4)")
                .bind(attempt)
                .bind(client)
                .bind(&serial)
                .bind(now)
        )?;
        let since = now - Duration::minutes(settings.lock_minutes);
        let recent: Vec<DateTime<Utc>> = run!(conn, |c| sqlx::query_scalar(
            "SELECT at FROM progress_failures WHERE serial = $1 AND at > $2 ORDER BY at"
        )
        .bind(&serial)
        .bind(since)
        .fetch_all(&mut *c)
        .await)?;
        // This attempt is one of them: locked when the earlier failures reach the limit.
        if i64::try_from(recent.len()).unwrap_or(i64::MAX) > settings.lock_failures {
            exec!(conn, sqlx::query("DELETE FROM progress_failures WHERE id = $1").bind(attempt))?;
            let oldest = recent.first().copied().unwrap_or(now);
            let minutes = ((oldest + Duration::minutes(settings.lock_minutes) - now).num_seconds() + 59) / 60;
            return Err(CaseError::ProgressLocked(minutes.max(1)));
        }
        // The same work whether or not the number exists: one indexed read, one keyed hash.
        let stored: Option<String> =
            run!(conn, |c| sqlx::query_scalar("SELECT query_password_hash FROM cases WHERE serial_number = $1")
                .bind(&serial)
                .fetch_optional(&mut *c)
                .await)?;
        let keys = self.identity().keys();
        let typed: String = query_password.chars().take(40).collect();
        let unknown = "0".repeat(64);
        let right = password::verify(keys, &serial, &typed, stored.as_deref().unwrap_or(&unknown)) && stored.is_some();
        if !right {
            return Err(CaseError::ProgressNotFound);
        }
        exec!(conn, sqlx::query("DELETE FROM progress_failures WHERE id = $1").bind(attempt))?;
        drop(conn);
        let (case, _) = self.load_by_serial(&serial).await?.ok_or(CaseError::ProgressNotFound)?;
        let events = self.history(case.id).await?;
        Ok(timeline(&case, &events, false))
    }

    /// The applicant's own timeline, with notes.
    pub async fn my_timeline(&self, case: &Case) -> Result<Timeline, CaseError> {
        let events = self.history(case.id).await?;
        Ok(timeline(case, &events, true))
    }
}

impl Cases {
    /// Whether `typed` is the query password of case `id`, which `access` may see with its
    /// personal data (a counter's receipt, printed by the staff who took the case in).
    pub async fn receipt_password_matches(&self, access: &Access, id: CaseId, typed: &str) -> Result<bool, CaseError> {
        let case = self.get(access, id).await?;
        if !access.covers(govhall_identity::Permission::CaseViewPersonalData, &crate::queries::target(&case)) {
            return Ok(false);
        }
        let mut conn = self.db().conn().await?;
        let stored: Option<String> =
            run!(conn, |c| sqlx::query_scalar("SELECT query_password_hash FROM cases WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&mut *c)
                .await)?;
        let typed: String = typed.chars().take(40).collect();
        Ok(stored.is_some_and(|stored| password::verify(self.identity().keys(), &case.serial_number, &typed, &stored)))
    }

    /// Whether `typed` is the query password of the applicant's own case `id` (for a receipt
    /// that prints it). Not a look-up by strangers: no throttling, and another's case is `false`.
    pub async fn own_password_matches(&self, applicant: AccountId, id: CaseId, typed: &str) -> Result<bool, CaseError> {
        let mut conn = self.db().conn().await?;
        let row: Option<(String, String)> = run!(conn, |c| sqlx::query_as(
            "SELECT serial_number, query_password_hash FROM cases WHERE id = $1 AND applicant_id = $2"
        )
        .bind(id.as_uuid())
        .bind(applicant.as_uuid())
        .fetch_optional(&mut *c)
        .await)?;
        let typed: String = typed.chars().take(40).collect();
        Ok(row.is_some_and(|(serial, stored)| password::verify(self.identity().keys(), &serial, &typed, &stored)))
    }
}
