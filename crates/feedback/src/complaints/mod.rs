//! 投诉 (design 2.7.2, 2.8.3): anyone complains about an item, a department, a case (their own) or
//! a service hall — signed in, or with a mobile number proved by an SMS code — from the web, the
//! app or WeChat; the complaint gets a number and a query password (shown once, as a case's), is
//! routed to a department (the subject's own, or the first editable rule that matches its category
//! and region), and goes received → accepted (handling) or rejected with a reason → answered →
//! closed, each stage due in working days and escalated to the supervisors when late. The
//! complainant adds information, reopens within `complaint_reopen_days` of the answer, and rates
//! the answer. Published answers carry no personal data: staff publish a text they checked.
//!
//! - this module: the model and making a complaint; [`follow`]: the complainant's side after;
//! - [`handle`]: the staff's side (lists, accept, reject, answer, escalate);
//! - [`publish`]: publication and the public list; [`routing`]: the rules.

pub mod follow;
pub mod handle;
pub mod publish;
pub mod routing;

pub use follow::FollowUp;

use crate::attachments::{self, AddedBy, Owner};
use crate::staff_notice::{self, Notice};
use crate::{Feedback, FeedbackError};
use chrono::{DateTime, NaiveDate, Utc};
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::Phone;
use govhall_core::clock::china_date;
use govhall_db::{Tx, exec, run, sqlx, sqlx::AssertSqlSafe};
use govhall_identity::{AccountId, DepartmentId};
use govhall_messaging::{Recipient, verification};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The purpose of the codes that prove a complainant's number.
pub const VERIFY: &str = "complaint";

/// The categories a complaint chooses from.
pub const CATEGORIES: [&str; 7] =
    ["服务态度", "办事效率", "办事指南与材料", "收费问题", "系统与网络", "廉洁与作风", "其他"];

/// What a complaint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A service item, by its code.
    Item,
    /// A department, by its id.
    Department,
    /// The complainant's own case, by its serial number.
    Case,
    /// A service hall, by its id.
    Hall,
}

impl Subject {
    fn as_str(self) -> &'static str {
        match self {
            Subject::Item => "item",
            Subject::Department => "department",
            Subject::Case => "case",
            Subject::Hall => "hall",
        }
    }

    /// Its name in Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Subject::Item => "事项",
            Subject::Department => "部门",
            Subject::Case => "办件",
            Subject::Hall => "服务大厅",
        }
    }
}

/// A complaint as made (the form, the API).
#[derive(Debug, Clone, Deserialize)]
pub struct NewComplaint {
    /// What it is about.
    pub subject: Subject,
    /// The item's code, the department's id, the case's serial number or the hall's id.
    pub subject_ref: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// What happened (10 to 2,000 characters).
    pub body: String,
    /// Whether the answer may be published (without personal data).
    #[serde(default)]
    pub publishable: bool,
    /// Files given with it (at most [`crate::attachments::MAX_FILES`]).
    #[serde(skip)]
    pub files: Vec<govhall_cases::files::NewFile>,
}

/// Who complains.
#[derive(Debug, Clone)]
pub enum Complainant {
    /// A signed-in person (their account's number is the contact).
    Account(AccountId),
    /// Anyone, with a mobile number and the SMS code sent to it.
    Phone {
        /// The number.
        phone: String,
        /// The code.
        code: String,
    },
}

/// Where a complaint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The web portal.
    Web,
    /// The mobile app.
    App,
    /// WeChat.
    Wechat,
}

impl Via {
    fn as_str(self) -> &'static str {
        match self {
            Via::Web => "web",
            Via::App => "app",
            Via::Wechat => "wechat",
        }
    }
}

/// A complaint.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Complaint {
    /// Id.
    pub id: Uuid,
    /// Its number.
    pub number: String,
    /// What it is about (`item`, `department`, `case`, `hall`).
    pub subject_kind: String,
    /// Which one.
    pub subject_ref: String,
    /// Its name.
    pub subject_label: String,
    /// The category.
    pub category: String,
    /// What happened.
    pub body: String,
    /// May the answer be published.
    pub publishable: bool,
    /// Where it came from.
    pub channel: String,
    /// The department handling it.
    pub department_id: Uuid,
    /// Its name.
    pub department_name: String,
    /// Its region.
    pub region_code: String,
    /// `received`, `accepted`, `rejected`, `answered`, `closed`.
    pub state: String,
    /// The current stage's deadline.
    pub due_on: NaiveDate,
    /// Escalated to the supervisors.
    pub escalated_at: Option<DateTime<Utc>>,
    /// The answer (or the reason of a rejection).
    pub answer: String,
    /// When.
    pub answered_at: Option<DateTime<Utc>>,
    /// The complainant's rating of the answer.
    pub rating: Option<i16>,
    /// Times reopened.
    pub reopened: i32,
    /// Published.
    pub published_at: Option<DateTime<Utc>>,
    /// Made.
    pub created_at: DateTime<Utc>,
    /// The complainant's account, if signed in.
    pub complainant_id: Option<Uuid>,
}

impl Complaint {
    /// The state in Chinese.
    pub fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            "accepted" => "处理中",
            "rejected" => "不予受理",
            "answered" => "已答复",
            "closed" => "已办结",
            _ => "待受理",
        }
    }

    /// Whether it is waiting for the department.
    pub fn open(&self) -> bool {
        matches!(self.state.as_str(), "received" | "accepted")
    }
}

/// One step of a complaint's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Step {
    /// What happened.
    pub action: String,
    /// `complainant`, `staff` or `system`.
    pub actor_kind: String,
    /// Who (a department for staff, never a staff member's name to the complainant).
    pub actor_name: String,
    /// What was said.
    pub note: String,
    /// When.
    pub at: DateTime<Utc>,
}

impl Step {
    /// The action in Chinese.
    pub fn label(&self) -> &'static str {
        match self.action.as_str() {
            "received" => "提交投诉",
            "accepted" => "受理",
            "rejected" => "不予受理",
            "answered" => "答复",
            "info" => "补充情况",
            "reopened" => "重新办理",
            "rated" => "评价答复",
            "escalated" => "超期督办",
            "closed" => "办结",
            "published" => "公开答复",
            _ => "处理",
        }
    }
}

pub(crate) const SELECT: &str =
    "SELECT c.id, c.number, c.subject_kind, c.subject_ref, c.subject_label, c.category, c.body,
        c.publishable, c.channel, c.department_id, d.name AS department_name, c.region_code, c.state, c.due_on,
        c.escalated_at, c.answer, c.answered_at, c.rating, c.reopened, c.published_at, c.created_at, c.complainant_id
     FROM complaints c JOIN departments d ON d.id = c.department_id";

fn clean(text: &str, min: usize, max: usize, what: &str) -> Result<String, FeedbackError> {
    let t = govhall_core::text::clean(text.trim()).into_owned();
    let n = t.chars().count();
    if !(min..=max).contains(&n) {
        return Err(FeedbackError::Invalid(format!("{what}应为 {min} 到 {max} 个字")));
    }
    Ok(t)
}

/// What a step says of the files given with it (nothing when none).
pub(crate) fn files_note(n: usize) -> String {
    if n == 0 { String::new() } else { format!("附件 {n} 个") }
}

/// Records a step of `complaint` in `tx`.
pub(crate) async fn step(
    tx: &mut Tx,
    complaint: Uuid,
    action: &str,
    actor_kind: &str,
    actor_name: &str,
    note: &str,
    at: DateTime<Utc>,
) -> Result<(), FeedbackError> {
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO complaint_events (id, complaint_id, action, actor_kind, actor_name, note, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(Uuid::now_v7())
        .bind(complaint)
        .bind(action)
        .bind(actor_kind)
        .bind(actor_name)
        .bind(note)
        .bind(at)
    )?;
    Ok(())
}

/// The answer to a complaint just made: its number and its query password (shown this once).
#[derive(Debug, Clone, Serialize)]
pub struct Made {
    /// The complaint.
    pub id: Uuid,
    /// Its number.
    pub number: String,
    /// Its query password.
    pub query_password: String,
    /// The department it went to.
    pub department_name: String,
}

impl Feedback {
    /// Sends a code proving `phone` for a complaint made without signing in (guarded against
    /// flooding like every code the hall sends).
    pub async fn send_complaint_code(
        &self,
        phone: &str,
        request: &govhall_identity::codes::CodeRequest,
    ) -> Result<(), FeedbackError> {
        let phone = Phone::parse(phone).map_err(|e| FeedbackError::Invalid(govhall_core::Coded::message(&e)))?;
        self.identity().guard_code(request).await.map_err(|e| match e {
            e @ govhall_identity::IdentityError::ChallengeRequired => {
                FeedbackError::ChallengeRequired(govhall_core::Coded::message(&e))
            }
            e @ govhall_identity::IdentityError::CodeDailyLimit => {
                FeedbackError::TooMany(govhall_core::Coded::message(&e))
            }
            other => FeedbackError::from(other),
        })?;
        verification::issue(self.db(), self.messaging(), VERIFY, "提交投诉", &Recipient::Phone(phone)).await.map_err(
            |e| match e {
                e @ govhall_messaging::MessagingError::CodeTooSoon(_) => FeedbackError::TooMany(e.to_string()),
                other => FeedbackError::from(other),
            },
        )?;
        Ok(())
    }

    /// Makes a complaint: checks it, proves who makes it, routes it, gives it a number and a
    /// query password.
    pub async fn complain(
        &self,
        actor: &Actor,
        who: &Complainant,
        via: Via,
        new: &NewComplaint,
    ) -> Result<Made, FeedbackError> {
        let category = new.category.trim();
        if !CATEGORIES.contains(&category) {
            return Err(FeedbackError::Invalid("请选择投诉类别".into()));
        }
        let body = clean(&new.body, 10, 2000, "投诉内容")?;
        let max_bytes = self.cases().settings().max_file_bytes;
        attachments::check_all(&new.files, max_bytes)?;
        let (account, phone) = match who {
            Complainant::Account(a) => (Some(*a), self.identity().account(*a).await?.phone),
            Complainant::Phone { phone, code } => {
                let phone =
                    Phone::parse(phone).map_err(|e| FeedbackError::Invalid(govhall_core::Coded::message(&e)))?;
                verification::check(self.db(), self.messaging(), VERIFY, &Recipient::Phone(phone.clone()), code)
                    .await
                    .map_err(|e| FeedbackError::Invalid(e.to_string()))?;
                (None, phone)
            }
        };
        let (label, department, region) = self.subject_of(new.subject, new.subject_ref.trim(), account).await?;
        let department = self.route(category, &region, department).await?;
        let department_name =
            govhall_identity::departments::get(self.db(), department).await?.map(|d| d.name).unwrap_or_default();
        let now = self.db().now();
        let due =
            self.cases().calendar().add_working_days(china_date(now), self.settings().complaint_accept_working_days);
        let password = govhall_cases::password::generate();
        let id = Uuid::now_v7();
        let mut tx = self.db().begin().await?;
        let mut number = String::new();
        for _ in 0..5 {
            let candidate = format!("TS{}{:06}", china_date(now).format("%Y%m%d"), rand::random_range(0..1_000_000));
            let inserted = exec!(
                tx,
                sqlx::query(INSERT)
                    .bind(id)
                    .bind(&candidate)
                    .bind(govhall_cases::password::hash(self.identity().keys(), &candidate, &password))
                    .bind(account.map(|a| a.as_uuid()))
                    .bind(self.identity().keys().encrypt(phone.as_str()))
                    .bind(new.subject.as_str())
                    .bind(new.subject_ref.trim())
                    .bind(&label)
                    .bind(category)
                    .bind(&body)
                    .bind(new.publishable)
                    .bind(via.as_str())
                    .bind(department.as_uuid())
                    .bind(&region)
                    .bind(due)
                    .bind(now)
            )?;
            if inserted == 1 {
                number = candidate;
                break;
            }
        }
        if number.is_empty() {
            return Err(FeedbackError::Internal("投诉编号冲突，请重试".into()));
        }
        attachments::count_complaint_files(&mut tx, id, new.files.len()).await?;
        attachments::attach(&mut tx, Owner::Complaint(id), AddedBy::Complainant, &new.files, max_bytes).await?;
        step(&mut tx, id, "received", "complainant", "投诉人", &files_note(new.files.len()), now).await?;
        staff_notice::enqueue(&mut tx, Notice::Complaint { complaint: id, reopened: 0 }).await?;
        let detail = format!("{}：{}（{}）", new.subject.label(), label, category);
        audit::record(&mut tx, actor, Event::success("complaint.create", "complaint", &number).detail(detail)).await?;
        tx.commit().await?;
        Ok(Made { id, number, query_password: password, department_name })
    }

    /// What a complaint's subject is: its name, its department (none for a hall) and region.
    async fn subject_of(
        &self,
        subject: Subject,
        reference: &str,
        account: Option<AccountId>,
    ) -> Result<(String, Option<DepartmentId>, String), FeedbackError> {
        let missing = || FeedbackError::Invalid(format!("找不到要投诉的{}，请重新选择", subject.label()));
        match subject {
            Subject::Item => {
                let item = govhall_catalog::store::summary(self.db(), reference)
                    .await
                    .map_err(|e| FeedbackError::Internal(e.to_string()))?
                    .ok_or_else(missing)?;
                Ok((item.name, Some(DepartmentId::from_uuid(item.department_id)), item.region_code))
            }
            Subject::Department => {
                let id = Uuid::parse_str(reference).map_err(|_| missing())?;
                let d = govhall_identity::departments::get(self.db(), DepartmentId::from_uuid(id))
                    .await?
                    .ok_or_else(missing)?;
                Ok((d.name, Some(DepartmentId::from_uuid(d.id)), d.region_code))
            }
            Subject::Case => {
                let Some(account) = account else {
                    return Err(FeedbackError::Invalid("投诉办件请先登录（只能投诉本人的办件）".into()));
                };
                let c = self.cases().mine_by_serial(account, reference).await.map_err(|_| missing())?;
                Ok((format!("{}（{}）", c.item_name, c.serial_number), Some(c.department_id), c.region_code))
            }
            Subject::Hall => {
                let id = Uuid::parse_str(reference).map_err(|_| missing())?;
                let mut conn = self.db().conn().await?;
                let hall: Option<(String, String)> =
                    run!(conn, |c| sqlx::query_as("SELECT name, region_code FROM halls WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&mut *c)
                        .await)?;
                let (name, region) = hall.ok_or_else(missing)?;
                Ok((name, None, region))
            }
        }
    }

    pub(crate) async fn complaint_row(&self, id: Uuid) -> Result<Complaint, FeedbackError> {
        let sql = format!("{SELECT} WHERE c.id = $1");
        let mut conn = self.db().conn().await?;
        let row: Option<Complaint> =
            run!(conn, |c| sqlx::query_as(AssertSqlSafe(sql.clone())).bind(id).fetch_optional(&mut *c).await)?;
        row.ok_or(FeedbackError::NotFound("投诉"))
    }
}

const INSERT: &str = "INSERT INTO complaints (id, number, password_hash, complainant_id, phone_enc, subject_kind,
        subject_ref, subject_label, category, body, publishable, channel, department_id, region_code, state, due_on,
        created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'received', $15, $16, $16)
     ON CONFLICT (number) DO NOTHING";
