//! Tables people upload (an Excel workbook or a CSV file) read as rows of text, with the guards
//! every import needs: a workbook that would unpack to more than `max_unpacked` bytes is
//! refused before anything is unpacked, a CSV must be UTF-8 (Excel's “CSV UTF-8”), and the error
//! says in Chinese what is wrong.

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};

/// A table: its rows of cells, the title row first, each with its 1-based line in the file.
pub type Rows = Vec<(usize, Vec<String>)>;

/// Reads the first sheet of an .xlsx workbook.
pub fn read_xlsx(bytes: &[u8], max_unpacked: u64) -> Result<Rows, String> {
    let bad = || "不是有效的 Excel（.xlsx）文件".to_owned();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|_| bad())?;
    let mut unpacked: u128 = 0;
    for i in 0..archive.len() {
        // The central directory's sizes, read without unpacking anything.
        let entry = archive.by_index_raw(i).map_err(|_| bad())?;
        unpacked += u128::from(entry.size());
    }
    if unpacked > u128::from(max_unpacked) {
        return Err(format!("文件解压后超过 {} MB", max_unpacked / 1_000_000));
    }
    let mut workbook: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|_| bad())?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| "文件中没有工作表".to_owned())?
        .map_err(|e| format!("无法读取工作表：{e}"))?;
    Ok(range.rows().enumerate().map(|(i, row)| (i + 1, row.iter().map(cell_text).collect())).collect())
}

/// A cell as text (whole numbers without “.0”, so that numbers typed as numbers read right).
pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        #[expect(clippy::cast_possible_truncation, reason = "whole and under 1e15")]
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        // A date cell holds days since 1899-12-30 (Excel's epoch, its 1900 leap-year bug included).
        #[expect(clippy::cast_possible_truncation, reason = "a day count")]
        Data::DateTime(d) => chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
            .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(d.as_f64().floor() as i64)))
            .map_or_else(|| d.to_string(), |day| day.to_string()),
        other => other.to_string().trim().to_owned(),
    }
}

/// Reads a CSV file in UTF-8 (a byte order mark is allowed); lines may have quoted fields.
pub fn read_csv(bytes: &[u8]) -> Result<Rows, String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err("CSV 文件不是 UTF-8 编码，请在 Excel 中另存为“CSV UTF-8（逗号分隔）”".into());
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("第 {} 行无法读取：{e}", i + 1))?;
        rows.push((i + 1, record.iter().map(|c| c.trim().to_owned()).collect()));
    }
    Ok(rows)
}

/// Reads an upload by its name: `.xlsx` or `.csv`.
pub fn read(file_name: &str, bytes: &[u8], max_unpacked: u64) -> Result<Rows, String> {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".xlsx") {
        read_xlsx(bytes, max_unpacked)
    } else if lower.ends_with(".csv") {
        read_csv(bytes)
    } else {
        Err("请上传 Excel（.xlsx）或 CSV（.csv）文件".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_utf8_with_a_bom_and_quotes_reads_and_gbk_is_refused() {
        let rows = read_csv("\u{feff}编号,名称\n1,\"张三,李四\"\n".as_bytes()).unwrap();
        assert_eq!(rows, vec![(1, vec!["编号".into(), "名称".into()]), (2, vec!["1".into(), "张三,李四".into()])]);
        // 编号 in GBK.
        assert!(read_csv(&[0xB1, 0xE0, 0xBA, 0xC5]).unwrap_err().contains("UTF-8"));
        assert!(read("a.txt", b"", 1).unwrap_err().contains(".xlsx"));
        assert!(read_xlsx(b"not a zip", 1_000).unwrap_err().contains("Excel"));
    }
}
