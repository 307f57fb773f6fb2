//! The inbox as an Excel workbook (what the filters show, personal data masked).

use crate::model::Case;
use crate::queries::CaseFilter;
use crate::{CaseError, Cases};
use govhall_audit::{self as audit, Actor, Event};
use govhall_identity::Access;
use rust_xlsxwriter::{Format, Workbook};

/// Most rows one export holds (narrow the filters for more).
pub const EXPORT_LIMIT: i64 = 10_000;

impl Cases {
    /// The inbox of `access` as filtered, as an Excel workbook of at most [`EXPORT_LIMIT`] rows;
    /// the export is audited as `actor`'s (how many rows, and how many were left out).
    pub async fn export(&self, access: &Access, filter: &CaseFilter, actor: &Actor) -> Result<Vec<u8>, CaseError> {
        let found = self.list(access, filter, EXPORT_LIMIT, 0).await?;
        let bytes = workbook(&found.cases)?;
        let detail = if found.total > EXPORT_LIMIT {
            format!("{} 件（共 {} 件，超出部分未导出）", found.cases.len(), found.total)
        } else {
            format!("{} 件", found.cases.len())
        };
        audit::record_alone(self.db(), actor, Event::success("case.export", "case", "").detail(detail)).await?;
        Ok(bytes)
    }
}

const HEADERS: [&str; 11] = [
    "申办编号",
    "事项",
    "办理部门",
    "申请人",
    "当前环节",
    "受理日期",
    "办结期限",
    "预警",
    "经办人",
    "提交时间",
    "办理结果",
];

/// The workbook's bytes.
pub fn workbook(cases: &[Case]) -> Result<Vec<u8>, CaseError> {
    let xlsx = |e: rust_xlsxwriter::XlsxError| CaseError::Internal(format!("生成 Excel 失败：{e}"));
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("办件清单").map_err(xlsx)?;
    let bold = Format::new().set_bold();
    for (col, title) in (0u16..).zip(HEADERS) {
        sheet.write_string_with_format(0, col, title, &bold).map_err(xlsx)?;
    }
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    for (row, c) in (1u32..).zip(cases) {
        let at = (c.submitted_at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string();
        let values = [
            c.serial_number.clone(),
            c.item_name.clone(),
            c.department_name.clone(),
            c.applicant_masked.clone(),
            c.step_name.clone(),
            date(c.accepted_on),
            if c.paused_on.is_some() { "暂停计时（补正中）".to_owned() } else { date(c.due_on) },
            c.warning.label().to_owned(),
            c.assignee_name.clone().unwrap_or_default(),
            at,
            c.outcome.map(|o| o.label().to_owned()).unwrap_or_default(),
        ];
        for (col, value) in (0u16..).zip(values) {
            // Written as text: a value starting with = is never a formula.
            sheet.write_string(row, col, value).map_err(xlsx)?;
        }
    }
    sheet.set_column_width(0, 18).map_err(xlsx)?;
    sheet.set_column_width(1, 40).map_err(xlsx)?;
    workbook.save_to_buffer().map_err(xlsx)
}
