//! Importing licences issued before GovHall (存量证照): a workbook or CSV file of one licence type,
//! one licence a row — 证照编号, 持证主体名称, 持证主体证件号码, 有效期起, 有效期至 (empty or 长期: no
//! end), then the type's fields by their labels. The file as a whole must fit the type (known
//! columns, every required field's column); then each row is checked and imported on its own and
//! the report says, row by row, what became of it. A licence number already in the registry is
//! skipped, so importing a file again adds only what is new. Imported licences are signed like
//! issued ones; their holders find them by their ID number or credit code when they sign in.

use crate::issue::{Existing, Holder, NewLicence};
use crate::model::{HolderKind, LicenceType};
use crate::{LicenceError, Licences};
use chrono::NaiveDate;
use govhall_audit::{self as audit, Actor, Event};
use govhall_core::{CreditCode, ResidentId};
use govhall_identity::{Access, Permission, Target};
use serde::Serialize;

/// The most rows one file may have.
pub const MAX_ROWS: usize = 20_000;
/// The most a workbook may unpack to.
pub const MAX_UNPACKED: u64 = 60_000_000;

const NUMBER: &str = "证照编号";
const NAME: &str = "持证主体名称";
const HOLDER_NUMBER: &str = "持证主体证件号码";
const FROM: &str = "有效期起";
const UNTIL: &str = "有效期至";

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RowOutcome {
    /// Imported, with its identifier.
    Imported {
        /// 证照标识.
        identifier: String,
    },
    /// A licence of this number is in the registry already.
    Existing,
    /// Not imported, and why.
    Error {
        /// In Chinese.
        message: String,
    },
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportRow {
    /// Its line in the file.
    pub line: usize,
    /// 证照编号 as written.
    pub number: String,
    /// What became of it.
    pub outcome: RowOutcome,
}

/// The report of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Rows imported.
    pub imported: usize,
    /// Rows skipped as already there.
    pub existing: usize,
    /// Rows with a mistake.
    pub errors: usize,
    /// Every row.
    pub rows: Vec<ReportRow>,
}

/// A row read and checked.
struct Checked {
    holder: Holder,
    fields: Vec<(String, String, String)>,
    valid_from: NaiveDate,
    existing: Existing,
}

fn date(text: &str, column: &str) -> Result<NaiveDate, String> {
    let t = text.trim().replace(['/', '.'], "-");
    NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| format!("{column}“{text}”不是日期（如 2024-05-01）"))
}

/// The columns' places: the fixed ones, then (key, label, place) of the type's fields.
struct Columns {
    number: usize,
    name: usize,
    holder_number: usize,
    from: usize,
    until: Option<usize>,
    fields: Vec<(String, String, Option<usize>)>,
}

fn columns(ty: &LicenceType, titles: &[String]) -> Result<Columns, LicenceError> {
    let bad = |m: String| LicenceError::Invalid(format!("文件不符合“{}”的格式：{m}", ty.name));
    let find = |t: &str| titles.iter().position(|x| x == t);
    let required = |t: &str| find(t).ok_or_else(|| bad(format!("缺少“{t}”列")));
    let known: Vec<&str> = [NUMBER, NAME, HOLDER_NUMBER, FROM, UNTIL]
        .into_iter()
        .chain(ty.fields.iter().map(|f| f.label.as_str()))
        .collect();
    if let Some(unknown) = titles.iter().find(|t| !t.is_empty() && !known.contains(&t.as_str())) {
        return Err(bad(format!("无法识别的列“{unknown}”（应为：{}）", known.join("、"))));
    }
    let mut fields = Vec::new();
    for f in &ty.fields {
        let place = find(&f.label);
        if place.is_none() && f.required && !f.from.starts_with('@') {
            return Err(bad(format!("缺少必填字段“{}”列", f.label)));
        }
        fields.push((f.key.clone(), f.label.clone(), place));
    }
    Ok(Columns {
        number: required(NUMBER)?,
        name: required(NAME)?,
        holder_number: required(HOLDER_NUMBER)?,
        from: required(FROM)?,
        until: find(UNTIL),
        fields,
    })
}

fn check_row(ty: &LicenceType, cols: &Columns, row: &[String], today: NaiveDate) -> Result<Checked, String> {
    let cell = |i: usize| govhall_core::text::clean(row.get(i).map_or("", |c| c.trim())).trim().to_owned();
    let number = cell(cols.number).to_ascii_uppercase();
    if number.is_empty() || number.len() > 40 || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("证照编号应为 1 到 40 位字母和数字".into());
    }
    let name = cell(cols.name);
    if name.is_empty() || name.chars().count() > 100 {
        return Err("持证主体名称应为 1 到 100 个字".into());
    }
    let given = cell(cols.holder_number);
    let holder_number = match ty.holder_kind {
        HolderKind::Person => ResidentId::parse(&given).map(|n| n.as_str().to_owned()),
        HolderKind::Enterprise => CreditCode::parse(&given).map(|n| n.as_str().to_owned()),
    }
    .map_err(|e| format!("持证主体证件号码有误：{e}"))?;
    let valid_from = date(&cell(cols.from), FROM)?;
    if valid_from > today {
        return Err(format!("有效期起 {valid_from} 晚于今天"));
    }
    let until_text = cols.until.map(cell).unwrap_or_default();
    let valid_until = match until_text.as_str() {
        "" | "长期" | "长期有效" => None,
        other => Some(date(other, UNTIL)?),
    };
    if valid_until.is_some_and(|u| u < valid_from) {
        return Err("有效期至早于有效期起".into());
    }
    let mut fields = Vec::new();
    for ((key, label, place), spec) in cols.fields.iter().zip(&ty.fields) {
        let value = place.map(cell).unwrap_or_default();
        if value.chars().count() > 200 {
            return Err(format!("“{label}”不能超过 200 个字"));
        }
        if value.is_empty() {
            if spec.required && !spec.from.starts_with('@') {
                return Err(format!("缺少必填字段“{label}”"));
            }
            continue;
        }
        fields.push((key.clone(), label.clone(), value));
    }
    Ok(Checked {
        holder: Holder { kind: ty.holder_kind, name, number: holder_number, account: None, enterprise: None },
        fields,
        valid_from,
        existing: Existing { number, valid_until },
    })
}

impl Licences {
    /// Imports the licences of type `type_code` in `file_name`'s `bytes` (.xlsx or .csv), for
    /// staff whose `licence.manage` reaches the type's department (`None`: the command line).
    pub async fn import_licences(
        &self,
        access: Option<&Access>,
        actor: &Actor,
        type_code: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<ImportReport, LicenceError> {
        let ty = self
            .types()
            .await?
            .into_iter()
            .find(|t| t.code == type_code)
            .ok_or_else(|| LicenceError::Invalid(format!("证照类型“{type_code}”不存在")))?;
        let target = Target {
            owner: None,
            department: Some(govhall_identity::DepartmentId::from_uuid(ty.department_id)),
            region: Some(ty.region_code.clone()),
        };
        if access.is_some_and(|a| !a.covers(Permission::LicenceManage, &target)) {
            return Err(LicenceError::Forbidden(format!("您不能导入{}的证照", ty.department_name)));
        }
        let rows = govhall_files::table::read(file_name, bytes, MAX_UNPACKED).map_err(LicenceError::Invalid)?;
        let mut rows = rows.into_iter().filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
        let (_, titles) = rows.next().ok_or_else(|| LicenceError::Invalid("文件是空的".into()))?;
        let titles: Vec<String> = titles.iter().map(|t| t.trim().to_owned()).collect();
        let cols = columns(&ty, &titles)?;
        let rows: Vec<(usize, Vec<String>)> = rows.take(MAX_ROWS + 1).collect();
        if rows.len() > MAX_ROWS {
            return Err(LicenceError::Invalid(format!("一个文件最多 {MAX_ROWS} 行，请分批导入")));
        }
        let today = govhall_core::clock::china_date(self.db().now());
        let mut report = ImportReport::default();
        for (line, row) in rows {
            let number = row.get(cols.number).map(|n| n.trim().to_owned()).unwrap_or_default();
            let outcome = match check_row(&ty, &cols, &row, today) {
                Err(message) => RowOutcome::Error { message },
                Ok(checked) => {
                    let new = NewLicence {
                        holder: checked.holder,
                        fields: checked.fields,
                        valid_from: checked.valid_from,
                        case: None,
                        existing: Some(checked.existing),
                    };
                    let mut tx = self.db().begin().await?;
                    match self.issue_in(&mut tx, &ty, new, actor).await? {
                        Some(licence) => {
                            tx.commit().await?;
                            RowOutcome::Imported { identifier: licence.identifier }
                        }
                        None => RowOutcome::Existing,
                    }
                }
            };
            match outcome {
                RowOutcome::Imported { .. } => report.imported += 1,
                RowOutcome::Existing => report.existing += 1,
                RowOutcome::Error { .. } => report.errors += 1,
            }
            report.rows.push(ReportRow { line, number, outcome });
        }
        let detail = format!(
            "{} {file_name}：导入 {}，已存在 {}，有误 {}",
            ty.name, report.imported, report.existing, report.errors
        );
        audit::record_alone(
            self.db(),
            actor,
            Event::success("licence.import", "licence_type", &ty.code).detail(detail),
        )
        .await?;
        Ok(report)
    }
}
