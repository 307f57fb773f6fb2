//! The structural check of a form an editor wrote: keys, labels, options, groups, conditions,
//! rules and prefill sources, each problem named in Chinese.

use super::{Field, FieldKind, FormSchema, Prefill, valid_key};
use std::collections::BTreeSet;

impl FormSchema {
    /// Checks the schema an editor wrote; each problem in Chinese, naming the field.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.sections.is_empty() {
            problems.push("表单至少需要一个部分（sections）".to_owned());
        }
        if self.sections.len() > 20 {
            problems.push("表单最多 20 个部分".to_owned());
        }
        let mut keys = BTreeSet::new();
        let mut section_keys = BTreeSet::new();
        let mut seen: Vec<&Field> = Vec::new();
        for section in &self.sections {
            if !valid_key(&section.key) {
                problems.push(format!("部分“{}”的 key 应为小写字母开头的字母、数字或下划线", section.title));
            }
            if !section_keys.insert(section.key.as_str()) {
                problems.push(format!("部分 key“{}”重复", section.key));
            }
            if section.title.trim().is_empty() {
                problems.push(format!("部分“{}”缺少标题", section.key));
            }
            if section.fields.is_empty() {
                problems.push(format!("部分“{}”没有字段", section.title));
            }
            for field in &section.fields {
                check_field(field, false, &mut problems);
                if !keys.insert(field.key.as_str()) {
                    problems.push(format!("字段 key“{}”重复", field.key));
                }
                if let Some(show) = &field.show_if {
                    match seen.iter().find(|f| f.key == show.field) {
                        None => problems
                            .push(format!("字段“{}”的显示条件引用了前面不存在的字段“{}”", field.label, show.field)),
                        Some(f) if f.kind == FieldKind::Consent => {
                            if show.equals.iter().any(|v| v != "是" && v != "否") {
                                problems.push(format!("字段“{}”的显示条件应为“是”或“否”", field.label));
                            }
                        }
                        Some(f) if f.kind == FieldKind::Choice => {
                            if let Some(v) = show.equals.iter().find(|v| !f.options.contains(v)) {
                                problems.push(format!("字段“{}”的显示条件值“{v}”不是“{}”的选项", field.label, f.label));
                            }
                        }
                        Some(f) => problems
                            .push(format!("字段“{}”的显示条件只能引用单选或勾选字段，“{}”不是", field.label, f.label)),
                    }
                    if show.equals.is_empty() {
                        problems.push(format!("字段“{}”的显示条件缺少取值（equals）", field.label));
                    }
                }
                seen.push(field);
            }
        }
        if keys.len() > 200 {
            problems.push("表单最多 200 个字段".to_owned());
        }
        for rule in &self.rules {
            for key in [&rule.field, &rule.after] {
                match self.field(key) {
                    None => problems.push(format!("跨字段规则引用了不存在的字段“{key}”")),
                    Some(f) if !matches!(f.kind, FieldKind::Date | FieldKind::Number | FieldKind::Money) => {
                        problems.push(format!("跨字段规则只能比较日期、整数或金额，“{}”不是", f.label))
                    }
                    Some(_) => {}
                }
            }
            if let (Some(a), Some(b)) = (self.field(&rule.field), self.field(&rule.after))
                && a.kind != b.kind
            {
                problems.push(format!("跨字段规则比较的“{}”和“{}”类型不同", a.label, b.label));
            }
            if rule.message.trim().is_empty() {
                problems.push(format!("跨字段规则“{}”缺少提示语（message）", rule.field));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

fn check_field(field: &Field, in_group: bool, problems: &mut Vec<String>) {
    let name = if field.label.is_empty() { field.key.as_str() } else { field.label.as_str() };
    if !valid_key(&field.key) {
        problems.push(format!("字段“{name}”的 key 应为小写字母开头的字母、数字或下划线（至多 40 个）"));
    }
    if field.label.trim().is_empty() {
        problems.push(format!("字段“{}”缺少标题（label）", field.key));
    }
    if field.label.chars().count() > 200 || field.help.chars().count() > 500 {
        problems.push(format!("字段“{name}”的标题或说明过长"));
    }
    if in_group && !field.kind.is_simple() {
        problems.push(format!("重复组中的“{name}”不能是{}", field.kind.label()));
    }
    if in_group && (field.show_if.is_some() || field.prefill.is_some()) {
        problems.push(format!("重复组中的“{name}”不能有显示条件或预填"));
    }
    match field.kind {
        FieldKind::Choice | FieldKind::Multi => {
            if field.options.is_empty() {
                problems.push(format!("{}“{name}”需要选项（options）", field.kind.label()));
            }
            let unique: BTreeSet<&String> = field.options.iter().collect();
            if unique.len() != field.options.len() || field.options.iter().any(|o| o.trim().is_empty()) {
                problems.push(format!("“{name}”的选项不能为空或重复"));
            }
        }
        FieldKind::Group => {
            if field.fields.is_empty() {
                problems.push(format!("重复组“{name}”需要列（fields）"));
            }
            let mut keys = BTreeSet::new();
            for column in &field.fields {
                check_field(column, true, problems);
                if !keys.insert(column.key.as_str()) {
                    problems.push(format!("重复组“{name}”的列 key“{}”重复", column.key));
                }
            }
            if field.max.is_some_and(|m| !(1..=50).contains(&m)) {
                problems.push(format!("重复组“{name}”的最多行数（max）应在 1 到 50 之间"));
            }
        }
        _ => {}
    }
    if field.kind != FieldKind::Group && !field.fields.is_empty() {
        problems.push(format!("只有重复组才能有列，“{name}”不是重复组"));
    }
    if let (Some(min), Some(max)) = (field.min, field.max)
        && min > max
    {
        problems.push(format!("“{name}”的最小值大于最大值"));
    }
    if let Some(prefill) = field.prefill {
        let fits = match prefill {
            Prefill::RealName | Prefill::EnterpriseName => field.kind == FieldKind::Text,
            Prefill::IdNumber => field.kind == FieldKind::ResidentId,
            Prefill::Phone => field.kind == FieldKind::Mobile,
            Prefill::CreditCode => field.kind == FieldKind::CreditCode,
        };
        if !fits {
            problems.push(format!("“{name}”的类型（{}）与预填来源不符", field.kind.label()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    #[test]
    fn the_standard_form_passes_its_own_check() {
        FormSchema::standard().check().unwrap();
    }

    #[test]
    fn problems_are_named() {
        let mut form = FormSchema::standard();
        form.sections[0].fields[0].key = "Bad Key".into();
        form.sections[1].fields.push(Field {
            key: "kind".into(),
            label: "类别".into(),
            kind: FieldKind::Choice,
            ..Field::default()
        });
        form.sections[1].fields.push(Field {
            key: "later".into(),
            label: "说明".into(),
            show_if: Some(ShowIf { field: "nowhere".into(), equals: vec!["是".into()] }),
            ..Field::default()
        });
        form.rules.push(CrossRule { field: "description".into(), after: "x".into(), message: String::new() });
        let problems = form.check().unwrap_err().join("\n");
        assert!(problems.contains("申请人姓名”的 key"), "{problems}");
        assert!(problems.contains("单选“类别”需要选项"), "{problems}");
        assert!(problems.contains("不存在的字段“nowhere”"), "{problems}");
        assert!(problems.contains("不存在的字段“x”"), "{problems}");
        assert!(problems.contains("缺少提示语"), "{problems}");
    }

    #[test]
    fn the_schema_reads_as_editors_write_it() {
        let json = r#"{"sections":[{"key":"a","title":"基本信息","fields":[
            {"key":"start","label":"开始日期","type":"date","required":true},
            {"key":"end","label":"结束日期","type":"date"},
            {"key":"members","label":"家庭成员","type":"group","max":3,"fields":[
                {"key":"name","label":"姓名","type":"text","required":true}]}]}],
            "rules":[{"field":"end","after":"start","message":"结束日期应晚于开始日期"}]}"#;
        let form: FormSchema = serde_json::from_str(json).unwrap();
        form.check().unwrap();
        assert_eq!(form.field("members").unwrap().max_rows(), 3);
    }
}
