//! The Guangdong catalogue: one JSON object a line (see datasets/README.md for its fields).

use super::{Candidate, Report, list, relate_groups, text};
use crate::model::{Audience, ItemContent, Material, TimeLimit, nature_code};
use crate::taxonomy::MappingTable;
use serde_json::Value;
use std::collections::HashMap;

const ENTERPRISE_KINDS: [&str; 6] = ["企业法人", "非法人企业", "事业法人", "社会组织法人", "其他组织", "行政机关"];

/// Reads every line; a line that cannot be read is rejected with its reason, the rest go on.
pub fn parse(file: &str, mapping: &MappingTable) -> (Vec<Candidate>, Report) {
    let mut report = Report { source: "gd".to_owned(), ..Report::default() };
    let mut candidates = Vec::new();
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in file.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        report.read += 1;
        match item(line, mapping) {
            Ok((candidate, group)) => {
                if !seen.insert(candidate.code.clone()) {
                    report.rejected.push((line_no, format!("事项编码 {} 重复", candidate.code)));
                    continue;
                }
                if let Some(group) = group {
                    groups.entry(group).or_default().push(candidates.len());
                }
                candidates.push(Candidate { line: line_no, ..candidate });
            }
            Err(reason) => report.rejected.push((line_no, reason)),
        }
    }
    relate_groups(&mut candidates, &groups);
    (candidates, report)
}

fn item(line: &str, mapping: &MappingTable) -> Result<(Candidate, Option<String>), String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("不是有效的 JSON：{e}"))?;
    let code = text(v.get("TASK_CODE"));
    if code.is_empty() {
        return Err("缺少事项编码（TASK_CODE）".to_owned());
    }
    let name = Some(text(v.get("matter_name"))).filter(|n| !n.is_empty()).unwrap_or_else(|| text(v.get("TASK_NAME")));
    if name.is_empty() {
        return Err(format!("事项 {code} 缺少名称"));
    }
    let department = text(v.get("DEPT_NAME"));
    if department.is_empty() {
        return Err(format!("事项 {code} 缺少实施部门（DEPT_NAME）"));
    }
    let region_code = text(v.get("AREACODE"));
    if region_code.len() != 6 || !region_code.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("事项 {code} 的区划代码“{region_code}”不是 6 位数字"));
    }
    let statutory_limit = TimeLimit::parse(&text(v.get("handle_time"))).map_err(|e| format!("事项 {code}：{e}"))?;
    let promised_limit =
        TimeLimit::parse(&text(v.get("handle_time_limit"))).map_err(|e| format!("事项 {code}：{e}"))?;
    let objects = list(v.get("service_object_name"));
    let audience =
        match (objects.iter().any(|o| o == "自然人"), objects.iter().any(|o| ENTERPRISE_KINDS.contains(&o.as_str())))
        {
            (true, false) => Audience::Person,
            (false, true) => Audience::Enterprise,
            _ => Audience::Both,
        };
    let themes = list(v.get("theme_category"));
    let type_text =
        Some(text(v.get("TASK_TYPE_TEXT"))).filter(|t| !t.is_empty()).unwrap_or_else(|| text(v.get("matter_type")));
    let online_apply = text(v.get("ONLINECHECK")) == "1";
    let visits: u8 = text(v.get("visit_number")).parse().unwrap_or(1);
    let online_depth = match (online_apply, visits) {
        (false, _) => 2,
        (true, 0) => 5,
        (true, 1) => 4,
        (true, _) => 3,
    };
    let short_name = text(v.get("matter_short"));
    let mut phrases: Vec<String> = Vec::new();
    for phrase in text(v.get("matter_daily")).split([',', '，', '、', ';', '；']) {
        // The source wraps some phrases in quotes and repeats the item's own name.
        let phrase = phrase.trim().trim_matches(['“', '”', '"', '\'', '‘', '’']).trim();
        if !phrase.is_empty() && phrase != name && phrase != short_name && !phrases.iter().any(|p| p == phrase) {
            phrases.push(phrase.to_owned());
        }
    }
    let mut tags = mapping.tags("theme_category", &themes.iter().map(String::as_str).collect::<Vec<_>>());
    tags.extend(mapping.tags("service_object_name", &objects.iter().map(String::as_str).collect::<Vec<_>>()));
    tags.extend(mapping.tags("department", &[department.as_str()]));
    tags.sort();
    tags.dedup();
    let level = match text(v.get("matter_level")).as_str() {
        "省级" => "province",
        "市级" => "city",
        _ => "county",
    };
    let short_name = if short_name == name { String::new() } else { short_name };
    let content = ItemContent {
        name,
        short_name,
        phrases,
        type_code: text(v.get("TASK_TYPE")),
        nature_code: nature_code(&type_text).to_owned(),
        type_text,
        level: level.to_owned(),
        audience,
        conditions: Vec::new(),
        materials: list(v.get("material_intro"))
            .into_iter()
            .map(|name| Material { name, required: true, ..Material::default() })
            .collect(),
        statutory_limit,
        promised_limit,
        fees: Vec::new(),
        legal_basis: text(v.get("accept_standard")),
        place: text(v.get("handle_location")).trim_start_matches("办理地点：").trim().to_owned(),
        consult_phone: text(v.get("consult_phone")),
        complaint_phone: text(v.get("complain_phone")),
        online_depth,
        online_apply,
        appointment: text(v.get("online_book")) == "是",
        courier: text(v.get("courier_service")) == "是",
        visits,
        tags,
        related: Vec::new(),
        source_url: text(v.get("URL")),
        form: None,
        eligibility: None,
    };
    let group = Some(text(v.get("parentCatalogId"))).filter(|g| !g.is_empty());
    Ok((Candidate { line: 0, code, department, region_code, content }, group))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::GD_BUNDLED;

    #[test]
    fn the_bundled_file_reads_completely() {
        let (candidates, report) = parse(GD_BUNDLED, &MappingTable::default());
        assert_eq!((report.read, candidates.len(), report.rejected.len()), (2262, 2262, 0));
        let first = &candidates[0];
        assert_eq!(first.code, "11440000006939756B2440101007000");
        assert_eq!(first.content.statutory_limit, TimeLimit { amount: 30, unit: crate::model::LimitUnit::WorkingDays });
        assert_eq!(first.content.promised_limit.amount, 7);
        assert_eq!(first.content.materials[0].name, "提价申报申请报告");
        assert_eq!(first.content.nature_code, "01");
        assert!(first.content.place.starts_with("广州市越秀区"), "{}", first.content.place);
        assert!(
            candidates.iter().all(|c| c.content.short_name != "无" && !c.content.phrases.iter().any(|p| p == "无"))
        );
        assert!(candidates.iter().any(|c| !c.content.related.is_empty()), "sub-items of one catalogue entry relate");
    }

    #[test]
    fn a_broken_line_is_reported_and_the_rest_go_on() {
        let mut lines: Vec<&str> = GD_BUNDLED.lines().take(3).collect();
        lines.insert(1, "{not json");
        let bad_limit = lines[2].replacen("\"handle_time\":\"", "\"handle_time\":\"三十", 1);
        lines[2] = &bad_limit;
        let (candidates, report) = parse(&lines.join("\n"), &MappingTable::default());
        assert_eq!(candidates.len(), 2);
        assert_eq!(report.rejected.len(), 2);
        assert_eq!(report.rejected[0].0, 2);
        assert!(report.rejected[0].1.contains("JSON"));
        assert_eq!(report.rejected[1].0, 3);
        assert!(report.rejected[1].1.contains("办结时限"), "{}", report.rejected[1].1);
    }
}
