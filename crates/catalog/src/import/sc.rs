//! The Sichuan county catalogue (广安区): a JavaScript file holding one JSON array of
//! departments, each with groups of items whose code and type are in the link's query string.

use super::{Candidate, Report, relate_groups};
use crate::CatalogError;
use crate::model::{Audience, ItemContent, nature_code};
use crate::taxonomy::MappingTable;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Department {
    department: String,
    items: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    main_item: String,
    sub_items: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    link: String,
}

/// The type text of the national scheme's type codes used in the links.
fn type_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "1" => "行政许可",
        "2" => "行政处罚",
        "3" => "行政强制",
        "4" => "行政征收",
        "5" => "行政给付",
        "6" => "行政检查",
        "7" => "行政确认",
        "8" => "行政奖励",
        "9" => "行政裁决",
        "10" => "其他行政权力",
        "20" => "公共服务",
        _ => return None,
    })
}

fn query<'a>(link: &'a str, key: &str) -> Option<&'a str> {
    link.split_once('?')?.1.split('&').filter_map(|p| p.split_once('=')).find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// Reads the file: the array from the first `[` to the last `]`. Entries that cannot be read are
/// rejected (numbered in file order), the rest go on.
pub fn parse(file: &str, mapping: &MappingTable) -> Result<(Vec<Candidate>, Report), CatalogError> {
    let (Some(start), Some(end)) = (file.find('['), file.rfind(']')) else {
        return Err(CatalogError::Import("找不到事项数组（应在 [ 与 ] 之间）".to_owned()));
    };
    let departments: Vec<Department> = serde_json::from_str(&file[start..=end])
        .map_err(|e| CatalogError::Import(format!("事项数组不是有效的 JSON：{e}")))?;
    let mut report = Report { source: "sc".to_owned(), ..Report::default() };
    let mut candidates = Vec::new();
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let mut n = 0;
    for department in &departments {
        for group in &department.items {
            for entry in &group.sub_items {
                n += 1;
                report.read += 1;
                let name = entry.name.trim();
                let code = query(&entry.link, "itemCode").unwrap_or_default().trim().to_owned();
                let area = query(&entry.link, "areaCode").unwrap_or_default();
                let task_type = query(&entry.link, "taskType").unwrap_or_default();
                let problem = if name.is_empty() {
                    Some("缺少事项名称".to_owned())
                } else if code.is_empty() {
                    Some(format!("“{name}”的链接中没有事项编码（itemCode）"))
                } else if area.len() < 6 || !area[..6].chars().all(|c| c.is_ascii_digit()) {
                    Some(format!("“{name}”的链接中区划代码“{area}”无效"))
                } else if type_text(task_type).is_none() {
                    Some(format!("“{name}”的事项类型代码“{task_type}”无法识别"))
                } else if !seen.insert(code.clone()) {
                    Some(format!("事项编码 {code} 重复"))
                } else {
                    None
                };
                if let Some(reason) = problem {
                    report.rejected.push((n, reason));
                    continue;
                }
                let type_text = type_text(task_type).unwrap_or("公共服务");
                let mut tags = mapping.tags("department", &[department.department.as_str()]);
                tags.sort();
                tags.dedup();
                let content = ItemContent {
                    name: name.to_owned(),
                    type_code: task_type.to_owned(),
                    type_text: type_text.to_owned(),
                    nature_code: nature_code(type_text).to_owned(),
                    level: "county".to_owned(),
                    audience: Audience::Both,
                    online_depth: 1,
                    visits: 1,
                    tags,
                    source_url: entry.link.clone(),
                    form: None,
                    eligibility: None,
                    ..ItemContent::default()
                };
                if group.main_item != "未分类" {
                    groups
                        .entry(format!("{}/{}", department.department, group.main_item))
                        .or_default()
                        .push(candidates.len());
                }
                candidates.push(Candidate {
                    line: n,
                    code,
                    department: department.department.trim().to_owned(),
                    region_code: area[..6].to_owned(),
                    content,
                });
            }
        }
    }
    relate_groups(&mut candidates, &groups);
    Ok((candidates, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::SC_BUNDLED;

    #[test]
    fn the_bundled_file_reads_completely() {
        let (candidates, report) = parse(SC_BUNDLED, &MappingTable::default()).unwrap();
        assert_eq!((report.read, candidates.len(), report.rejected.len()), (1135, 1135, 0));
        assert!(candidates.iter().all(|c| c.region_code == "511602" && c.content.level == "county"));
        let first = &candidates[0];
        assert_eq!(first.code, "511Z07001006-511602000000-000-11511301008778183N-1-00");
        assert_eq!((first.content.type_text.as_str(), first.content.nature_code.as_str()), ("其他行政权力", "10"));
        assert_eq!(first.department, "区经信局");
    }

    #[test]
    fn files_without_the_array_or_with_bad_entries_say_so() {
        assert!(parse("const x = 1;", &MappingTable::default()).is_err());
        let text = r#"x = [{"department": "区民政局", "items": [{"main_item": "未分类", "sub_items": [
            {"name": "婚姻登记", "link": "http://x/?areaCode=511602000000&itemCode=A1&taskType=7"},
            {"name": "无码", "link": "http://x/?areaCode=511602000000&taskType=7"},
            {"name": "怪类型", "link": "http://x/?areaCode=511602000000&itemCode=A2&taskType=99"}]}]}];"#;
        let (candidates, report) = parse(text, &MappingTable::default()).unwrap();
        assert_eq!(candidates.len(), 1);
        assert_eq!(report.rejected.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3]);
    }
}
