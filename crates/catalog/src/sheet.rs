//! The catalogue as an Excel workbook: exported for editing offline, and read back as edits,
//! first as a preview of what would change, then as drafts sent for review (never published
//! directly).

use crate::CatalogError;
use crate::editing;
use crate::model::{ItemContent, Material, ONLINE_DEPTHS, TimeLimit};
use crate::store::{self, ItemFilter};
use govhall_audit::Actor;
use govhall_db::Db;
use govhall_identity::{Access, DepartmentId, Permission, Target};
use rust_xlsxwriter::{Format, Workbook, XlsxError};
use serde::Serialize;

/// The columns, in order. The code finds the item; 实施部门 is for reading only.
pub const COLUMNS: [&str; 14] = [
    "事项编码",
    "事项名称",
    "简称",
    "公众语言",
    "实施部门",
    "事项类型",
    "受理条件",
    "申请材料",
    "法定办结时限",
    "承诺办结时限",
    "办理地点",
    "咨询电话",
    "监督投诉电话",
    "网上办理深度",
];

fn xlsx(e: XlsxError) -> CatalogError {
    CatalogError::Invalid(format!("无法生成 Excel 文件：{e}"))
}

/// The editable fields of a guide as the sheet's cells (without code and department).
fn cells(c: &ItemContent) -> [String; 11] {
    [
        c.name.clone(),
        c.short_name.clone(),
        c.phrases.join("，"),
        c.type_text.clone(),
        c.conditions.join("\n"),
        c.materials.iter().map(Material::to_line).collect::<Vec<_>>().join("\n"),
        c.statutory_limit.source_text(),
        c.promised_limit.source_text(),
        c.place.clone(),
        c.consult_phone.clone(),
        c.complaint_phone.clone(),
    ]
}

/// The published items `access` may edit as an .xlsx workbook.
pub async fn export(db: &Db, access: &Access) -> Result<Vec<u8>, CatalogError> {
    let scope = access.filter(Permission::ItemEdit);
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("事项目录").map_err(xlsx)?;
    let bold = Format::new().set_bold();
    for (col, title) in (0u16..).zip(COLUMNS) {
        sheet.write_string_with_format(0, col, title, &bold).map_err(xlsx)?;
        sheet.set_column_width(col, if col == 1 || col == 7 { 40 } else { 16 }).map_err(xlsx)?;
    }
    sheet.set_freeze_panes(1, 2).map_err(xlsx)?;
    let mut row = 1u32;
    let mut offset = 0;
    loop {
        let (_, page) = store::list(db, &ItemFilter::default(), 500, offset).await?;
        for item in &page {
            if !scope.allows(None, Some(DepartmentId::from_uuid(item.department_id)), Some(&item.region_code)) {
                continue;
            }
            let Some(guide) = store::guide(db, &item.code).await? else { continue };
            let c = &guide.content;
            let [name, short, phrases, kind, conditions, materials, statutory, promised, place, consult, complaint] =
                cells(c);
            let values = [
                item.code.clone(),
                name,
                short,
                phrases,
                item.department.clone(),
                kind,
                conditions,
                materials,
                statutory,
                promised,
                place,
                consult,
                complaint,
            ];
            for (col, value) in (0u16..).zip(values) {
                sheet.write_string(row, col, value).map_err(xlsx)?;
            }
            sheet.write_number(row, 13, f64::from(c.online_depth)).map_err(xlsx)?;
            row += 1;
        }
        if page.len() < 500 {
            break;
        }
        offset += 500;
    }
    workbook.save_to_buffer().map_err(xlsx)
}

/// The most a workbook may unpack to (a full export of the bundled catalogue is about 3 MB).
const MAX_UNPACKED: u64 = 40_000_000;

/// One row read from a workbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    /// The row number as Excel shows it.
    pub row: usize,
    /// The cells by column title.
    pub cells: Vec<(String, String)>,
}

impl SheetRow {
    fn get(&self, title: &str) -> Option<&str> {
        self.cells.iter().find(|(t, _)| t == title).map(|(_, v)| v.as_str())
    }
}

/// Reads the first sheet of an .xlsx workbook: a title row with at least 事项编码, then one row an
/// item. Columns it does not know are an error (a typo would silently drop an edit). A workbook
/// that would unpack to more than a real catalogue ever needs is refused before anything is
/// unpacked.
pub fn read(bytes: &[u8]) -> Result<Vec<SheetRow>, CatalogError> {
    let bad = |m: String| CatalogError::Import(m);
    let table = govhall_files::table::read_xlsx(bytes, MAX_UNPACKED).map_err(|m| {
        bad(if m.contains("解压后") { format!("{m}，请只导出需要修改的事项") } else { m })
    })?;
    let mut rows = table.into_iter();
    let titles = rows.next().ok_or_else(|| bad("工作表是空的".to_owned()))?.1;
    if !titles.iter().any(|t| t == COLUMNS[0]) {
        return Err(bad("第 1 行应为列标题，且包含“事项编码”".to_owned()));
    }
    if let Some(unknown) = titles.iter().find(|t| !t.is_empty() && !COLUMNS.contains(&t.as_str())) {
        return Err(bad(format!("无法识别的列“{unknown}”，请使用导出的模板")));
    }
    let mut out = Vec::new();
    for (line, row) in rows {
        let cells: Vec<(String, String)> =
            titles.iter().zip(row).filter(|(t, _)| !t.is_empty()).map(|(t, c)| (t.clone(), c)).collect();
        if cells.iter().all(|(_, v)| v.is_empty()) {
            continue;
        }
        out.push(SheetRow { row: line, cells });
    }
    Ok(out)
}

/// One changed field: its column title, the value before, the value after.
pub type FieldChange = (String, String, String);

/// What one row would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowChange {
    /// The row number.
    pub row: usize,
    /// The item code.
    pub code: String,
    /// The item's published name.
    pub name: String,
    /// Each changed field.
    pub fields: Vec<FieldChange>,
    /// Why the row cannot be applied, if it cannot.
    pub problem: Option<String>,
}

/// The guide a row makes of the published one, with the changed fields.
fn apply_row(row: &SheetRow, before: &ItemContent) -> Result<(ItemContent, Vec<FieldChange>), String> {
    let mut after = before.clone();
    let mut fields = Vec::new();
    let mut set = |title: &str, old: String, new: &str| {
        if old.trim() != new.trim() {
            fields.push((title.to_owned(), old, new.to_owned()));
            true
        } else {
            false
        }
    };
    let lines = |s: &str| s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let [name, short, phrases, kind, conditions, materials, statutory, promised, place, consult, complaint] =
        cells(before);
    if let Some(v) = row.get("事项名称")
        && set("事项名称", name, v)
    {
        after.name = v.trim().to_owned();
    }
    if let Some(v) = row.get("简称")
        && set("简称", short, v)
    {
        after.short_name = v.trim().to_owned();
    }
    if let Some(v) = row.get("公众语言")
        && set("公众语言", phrases, v)
    {
        after.phrases =
            v.split([',', '，', '、']).map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
    }
    if let Some(v) = row.get("事项类型")
        && set("事项类型", kind, v)
    {
        after.type_text = v.trim().to_owned();
        after.nature_code = crate::model::nature_code(v).to_owned();
        after.type_code.clear();
    }
    if let Some(v) = row.get("受理条件")
        && set("受理条件", conditions, v)
    {
        after.conditions = lines(v);
    }
    if let Some(v) = row.get("申请材料")
        && set("申请材料", materials, v)
    {
        after.materials = Material::parse_lines(v, &before.materials)?;
    }
    if let Some(v) = row.get("法定办结时限")
        && set("法定办结时限", statutory, v)
    {
        after.statutory_limit = TimeLimit::parse(v)?;
    }
    if let Some(v) = row.get("承诺办结时限")
        && set("承诺办结时限", promised, v)
    {
        after.promised_limit = TimeLimit::parse(v)?;
    }
    if let Some(v) = row.get("办理地点")
        && set("办理地点", place, v)
    {
        after.place = v.trim().to_owned();
    }
    if let Some(v) = row.get("咨询电话")
        && set("咨询电话", consult, v)
    {
        after.consult_phone = v.trim().to_owned();
    }
    if let Some(v) = row.get("监督投诉电话")
        && set("监督投诉电话", complaint, v)
    {
        after.complaint_phone = v.trim().to_owned();
    }
    if let Some(v) = row.get("网上办理深度")
        && set("网上办理深度", before.online_depth.to_string(), v)
    {
        after.online_depth = v
            .trim()
            .parse()
            .ok()
            .filter(|d| ONLINE_DEPTHS.iter().any(|(x, _)| x == d))
            .ok_or_else(|| format!("网上办理深度“{v}”应为 1 到 5"))?;
    }
    Ok((after, fields))
}

/// What the rows would change, item by item: only rows that change something or cannot be
/// applied, each with the reason.
pub async fn preview(
    db: &Db,
    access: &Access,
    rows: &[SheetRow],
) -> Result<Vec<(RowChange, Option<ItemContent>)>, CatalogError> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        let code = row.get("事项编码").unwrap_or_default().to_owned();
        let mut change =
            RowChange { row: row.row, code: code.clone(), name: String::new(), fields: Vec::new(), problem: None };
        if code.is_empty() {
            change.problem = Some("缺少事项编码".to_owned());
            out.push((change, None));
            continue;
        }
        if !seen.insert(code.clone()) {
            change.problem = Some("事项编码与前面的行重复".to_owned());
            out.push((change, None));
            continue;
        }
        let Some(guide) = store::guide(db, &code).await? else {
            change.problem = Some("没有该编码的已发布事项".to_owned());
            out.push((change, None));
            continue;
        };
        change.name = guide.content.name.clone();
        // Rows that change nothing are not news, whoever's items they are.
        if apply_row(row, &guide.content).is_ok_and(|(_, fields)| fields.is_empty()) {
            continue;
        }
        let target = Target {
            owner: None,
            department: Some(DepartmentId::from_uuid(guide.item.department_id)),
            region: Some(guide.item.region_code.clone()),
        };
        if !access.covers(Permission::ItemEdit, &target) {
            change.problem = Some("不属于您可以编辑的部门".to_owned());
            out.push((change, None));
            continue;
        }
        match apply_row(row, &guide.content) {
            Err(problem) => {
                change.problem = Some(problem);
                out.push((change, None));
            }
            Ok((_, fields)) if fields.is_empty() => {}
            Ok((after, fields)) => {
                change.fields = fields;
                let problem = editing::validate(db, &after).await.err().map(|e| e.to_string());
                let valid = problem.is_none();
                change.problem = problem;
                out.push((change, valid.then_some(after)));
            }
        }
    }
    Ok(out)
}

/// Applies the rows that can be: each becomes a draft sent for review. Returns (applied, refused).
pub async fn apply(db: &Db, actor: &Actor, access: &Access, rows: &[SheetRow]) -> Result<(usize, usize), CatalogError> {
    let (mut applied, mut refused) = (0, 0);
    for (change, after) in preview(db, access, rows).await? {
        let Some(after) = after else {
            refused += 1;
            continue;
        };
        match editing::save_draft(db, actor, access, &change.code, &after, &format!("Excel 导入第 {} 行", change.row))
            .await
        {
            Ok(_) => {
                editing::submit(db, actor, access, &change.code).await?;
                applied += 1;
            }
            Err(CatalogError::WrongState(_) | CatalogError::Invalid(_) | CatalogError::Forbidden) => refused += 1,
            Err(e) => return Err(e),
        }
    }
    Ok((applied, refused))
}

/// Keeps an uploaded workbook for its uploader until they confirm (uploads older than a day go).
pub async fn keep_upload(
    db: &Db,
    account: uuid::Uuid,
    file_name: &str,
    content: &[u8],
) -> Result<uuid::Uuid, CatalogError> {
    use govhall_db::{exec, sqlx};
    let id = uuid::Uuid::now_v7();
    let now = db.now();
    let mut tx = db.begin().await?;
    exec!(tx, sqlx::query("DELETE FROM catalog_uploads WHERE created_at < $1").bind(now - chrono::Duration::days(1)))?;
    exec!(
        tx,
        sqlx::query(
            "INSERT INTO catalog_uploads (id, account_id, file_name, content, created_at) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(id)
        .bind(account)
        .bind(file_name.chars().take(200).collect::<String>())
        .bind(content)
        .bind(now)
    )?;
    tx.commit().await?;
    Ok(id)
}

/// An upload of this account, removed as it is taken.
pub async fn take_upload(db: &Db, account: uuid::Uuid, id: uuid::Uuid) -> Result<Vec<u8>, CatalogError> {
    use govhall_db::{run, sqlx};
    let mut tx = db.begin().await?;
    let content: Option<Vec<u8>> = run!(tx, |c| {
        sqlx::query_scalar("DELETE FROM catalog_uploads WHERE id = $1 AND account_id = $2 RETURNING content")
            .bind(id)
            .bind(account)
            .fetch_optional(&mut *c)
            .await
    })?;
    tx.commit().await?;
    content.ok_or(CatalogError::NotFound("上传的文件（可能已导入或已过期）"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_workbook_that_would_unpack_to_gigabytes_is_refused_before_unpacking() {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("xl/sharedStrings.xml", options).unwrap();
        let zeros = vec![b'0'; 1_000_000];
        for _ in 0..50 {
            zip.write_all(&zeros).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        assert!(bytes.len() < 1_000_000, "small on the wire: {}", bytes.len());
        let err = read(&bytes).unwrap_err();
        assert!(err.to_string().contains("MB"), "{err}");
    }
}
