//! What an applicant typed, read and checked against the form on the server. Answers are a JSON
//! object keyed by field: text for simple fields, a list for multiple choices, `true`/`false`
//! for consents, `{province, city, county, street}` for addresses and a list of rows for groups.
//! Nothing here drops what was typed: checking returns errors beside the answers as they are.

use super::{Field, FieldKind, FormSchema, Section};
use chrono::NaiveDate;
use govhall_core::{CreditCode, Money, Phone, ResidentId};
use serde::Serialize;
use serde_json::{Map, Value};

/// An applicant's answers, keyed by field.
pub type Answers = Map<String, Value>;

/// A problem with one answer, shown beside the field and in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where: the field's key, or `group.row.column` inside a group (rows from 1).
    pub key: String,
    /// The field's label, for the summary.
    pub label: String,
    /// What is wrong, in Chinese.
    pub message: String,
}

/// The division codes the address fields choose from.
pub trait RegionLookup {
    /// The full name of a division (广东省, 广州市 …) and its parent's code.
    fn region(&self, code: &str) -> Option<(String, Option<String>)>;
}

fn text(value: Option<&Value>) -> &str {
    value.and_then(Value::as_str).map_or("", str::trim)
}

fn error(key: impl Into<String>, field: &Field, message: impl Into<String>) -> FieldError {
    FieldError { key: key.into(), label: field.label.clone(), message: message.into() }
}

/// The answer of a consent as a choice ("是"/"否"), for conditions.
fn as_choice(value: Option<&Value>) -> String {
    match value {
        Some(Value::Bool(true)) => "是".into(),
        Some(Value::Bool(false)) | None => "否".into(),
        Some(v) => v.as_str().unwrap_or_default().trim().to_owned(),
    }
}

impl FormSchema {
    /// Whether a field is shown with these answers (its condition holds, and the condition's
    /// own field is shown).
    pub fn visible(&self, field: &Field, answers: &Answers) -> bool {
        let mut current = field;
        for _ in 0..self.fields().count() {
            let Some(show) = &current.show_if else { return true };
            if !show.equals.contains(&as_choice(answers.get(&show.field))) {
                return false;
            }
            match self.field(&show.field) {
                Some(parent) => current = parent,
                None => return false,
            }
        }
        true
    }

    /// Tidies answers: trims text, upper-cases ID numbers and codes, writes money with two
    /// decimals when it reads as money. Unknown keys are dropped.
    pub fn normalise(&self, answers: &Answers) -> Answers {
        let mut out = Answers::new();
        for field in self.fields() {
            if let Some(value) = answers.get(&field.key) {
                out.insert(field.key.clone(), normalise_value(field, value));
            }
        }
        out
    }

    /// The answers without those of hidden fields (what is submitted).
    pub fn without_hidden(&self, answers: &Answers) -> Answers {
        let mut out = Answers::new();
        for field in self.fields().filter(|f| self.visible(f, answers)) {
            if let Some(value) = answers.get(&field.key) {
                out.insert(field.key.clone(), value.clone());
            }
        }
        out
    }

    /// Checks one section's answers (and the rules whose field sits in it).
    pub fn check_section(
        &self,
        section: &Section,
        answers: &Answers,
        regions: &dyn RegionLookup,
        today: NaiveDate,
    ) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for field in section.fields.iter().filter(|f| self.visible(f, answers)) {
            check_field(field, &field.key, answers.get(&field.key), regions, today, &mut errors);
        }
        for rule in &self.rules {
            if !section.fields.iter().any(|f| f.key == rule.field) || errors.iter().any(|e| e.key == rule.field) {
                continue;
            }
            let (Some(later), Some(earlier)) = (self.field(&rule.field), self.field(&rule.after)) else { continue };
            if !self.visible(later, answers) || !self.visible(earlier, answers) {
                continue;
            }
            let (a, b) = (text(answers.get(&rule.field)), text(answers.get(&rule.after)));
            if a.is_empty() || b.is_empty() {
                continue;
            }
            let after = match later.kind {
                FieldKind::Date => {
                    match (NaiveDate::parse_from_str(a, "%Y-%m-%d"), NaiveDate::parse_from_str(b, "%Y-%m-%d")) {
                        (Ok(a), Ok(b)) => Some(a > b),
                        _ => None,
                    }
                }
                FieldKind::Money => {
                    Money::parse_yuan(a).ok().zip(Money::parse_yuan(b).ok()).map(|(a, b)| a.fen() > b.fen())
                }
                _ => a.parse::<i64>().ok().zip(b.parse::<i64>().ok()).map(|(a, b)| a > b),
            };
            if after == Some(false) {
                errors.push(error(&rule.field, later, rule.message.clone()));
            }
        }
        // In the order of the fields on the page.
        let place = |key: &str| {
            let top = key.split('.').next().unwrap_or_default();
            section.fields.iter().position(|f| f.key == top).unwrap_or(usize::MAX)
        };
        errors.sort_by_key(|e| place(&e.key));
        errors
    }

    /// Checks every section.
    pub fn check_answers(&self, answers: &Answers, regions: &dyn RegionLookup, today: NaiveDate) -> Vec<FieldError> {
        self.sections.iter().flat_map(|s| self.check_section(s, answers, regions, today)).collect()
    }

    /// Whether a section has been answered at all (some visible field has a value).
    pub fn section_started(&self, section: &Section, answers: &Answers) -> bool {
        section.fields.iter().any(|f| answers.get(&f.key).is_some_and(|v| !is_blank(v)))
    }

    /// An answer as people read it (check answers page, the printed form).
    pub fn display(&self, field: &Field, answers: &Answers, regions: &dyn RegionLookup) -> String {
        display_value(field, answers.get(&field.key), regions)
    }
}

/// An answer as people read it.
pub fn display_value(field: &Field, value: Option<&Value>, regions: &dyn RegionLookup) -> String {
    match (field.kind, value) {
        (_, None) => String::new(),
        (FieldKind::Consent, Some(v)) => {
            if as_choice(Some(v)) == "是" {
                "已确认".into()
            } else {
                "未确认".into()
            }
        }
        (FieldKind::Multi, Some(Value::Array(items))) => {
            items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("、")
        }
        (FieldKind::Address, Some(v)) => {
            let names: Vec<String> = ["province", "city", "county"]
                .iter()
                .filter_map(|k| regions.region(text(v.get(*k))).map(|(name, _)| name))
                .collect();
            format!("{}{}", names.join(""), text(v.get("street")))
        }
        (FieldKind::Money, Some(v)) if !text(Some(v)).is_empty() => format!("{} 元", text(Some(v))),
        (FieldKind::Group, Some(Value::Array(rows))) => rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let cells: Vec<String> = field
                    .fields
                    .iter()
                    .map(|c| format!("{}：{}", c.label, display_value(c, row.get(&c.key), regions)))
                    .collect();
                format!("第{}行 {}", i + 1, cells.join("，"))
            })
            .collect::<Vec<_>>()
            .join("；"),
        (_, Some(v)) => text(Some(v)).to_owned(),
    }
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Bool(b) => !b,
        Value::Object(o) => o.values().all(is_blank),
        Value::Number(_) => false,
    }
}

fn normalise_value(field: &Field, value: &Value) -> Value {
    match (field.kind, value) {
        (FieldKind::Consent, v) => Value::Bool(as_choice(Some(v)) == "是"),
        (FieldKind::Multi, Value::Array(items)) => {
            Value::Array(items.iter().filter_map(Value::as_str).map(|s| Value::String(s.trim().to_owned())).collect())
        }
        (FieldKind::Multi, Value::String(s)) if !s.trim().is_empty() => {
            Value::Array(vec![Value::String(s.trim().to_owned())])
        }
        // Anything else is no choice at all (never a number passed off as one).
        (FieldKind::Multi, _) => Value::Array(Vec::new()),
        (FieldKind::Address, Value::Object(o)) => {
            let mut out = Map::new();
            for k in ["province", "city", "county", "street"] {
                out.insert(k.into(), Value::String(text(o.get(k)).to_owned()));
            }
            Value::Object(out)
        }
        (FieldKind::Group, Value::Array(rows)) => Value::Array(
            rows.iter()
                .filter(|row| row.is_object())
                .map(|row| {
                    let mut out = Map::new();
                    for c in &field.fields {
                        out.insert(c.key.clone(), normalise_value(c, row.get(&c.key).unwrap_or(&Value::Null)));
                    }
                    Value::Object(out)
                })
                // A row left blank is no row.
                .filter(|row| !is_blank(row))
                // One over the maximum is kept, so that the check says so.
                .take(field.max_rows() + 1)
                .collect(),
        ),
        (FieldKind::Group, _) => Value::Array(Vec::new()),
        (FieldKind::Address, _) => Value::Object(Map::new()),
        (FieldKind::ResidentId | FieldKind::CreditCode, v) => Value::String(text(Some(v)).to_uppercase()),
        (FieldKind::Money, v) => {
            let t = text(Some(v));
            Value::String(Money::parse_yuan(t).map_or_else(|_| t.to_owned(), |m| m.yuan()))
        }
        (_, Value::Null) => Value::String(String::new()),
        (_, Value::Number(n)) => Value::String(n.to_string()),
        (_, Value::String(s)) => Value::String(s.trim().to_owned()),
        // A list or an object where text belongs: nothing.
        (_, _) => Value::String(String::new()),
    }
}

fn check_field(
    field: &Field,
    key: &str,
    value: Option<&Value>,
    regions: &dyn RegionLookup,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) {
    let blank = value.is_none_or(is_blank);
    if blank {
        if field.required {
            let message = match field.kind {
                FieldKind::Consent => format!("请勾选“{}”", field.label),
                FieldKind::Choice | FieldKind::Multi => format!("请选择{}", field.label),
                FieldKind::Group => format!("请至少填写一行{}", field.label),
                _ => format!("请填写{}", field.label),
            };
            errors.push(error(key, field, message));
        }
        return;
    }
    let t = text(value);
    let chars = t.chars().count();
    let problem: Option<String> = match field.kind {
        FieldKind::Text | FieldKind::Textarea => {
            if chars > field.max_chars() {
                Some(format!("{}不能超过 {} 个字（现在 {chars} 个）", field.label, field.max_chars()))
            } else if field.min.is_some_and(|m| (chars as i64) < m) {
                Some(format!("{}至少 {} 个字", field.label, field.min.unwrap_or_default()))
            } else {
                None
            }
        }
        FieldKind::Number => match t.parse::<i64>() {
            Err(_) => Some(format!("{}应为整数，例如 3", field.label)),
            Ok(n) if field.min.is_some_and(|m| n < m) => {
                Some(format!("{}不能小于 {}", field.label, field.min.unwrap_or_default()))
            }
            Ok(n) if field.max.is_some_and(|m| n > m) => {
                Some(format!("{}不能大于 {}", field.label, field.max.unwrap_or_default()))
            }
            Ok(_) => None,
        },
        FieldKind::Date => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Err(_) => Some(format!("{}应为有效日期，格式如 {}", field.label, today.format("%Y-%m-%d"))),
            Ok(_) => None,
        },
        FieldKind::Choice => {
            (!field.options.iter().any(|o| o == t)).then(|| format!("请从列出的选项中选择{}", field.label))
        }
        FieldKind::Multi => {
            let items = value.and_then(Value::as_array).cloned().unwrap_or_default();
            items
                .iter()
                .any(|v| !field.options.iter().any(|o| Some(o.as_str()) == v.as_str()))
                .then(|| format!("请从列出的选项中选择{}", field.label))
        }
        FieldKind::ResidentId => ResidentId::parse_on(t, today).err().map(|e| e.to_string()),
        FieldKind::CreditCode => CreditCode::parse(t).err().map(|e| e.to_string()),
        FieldKind::Mobile => Phone::parse(t).err().map(|e| e.to_string()),
        FieldKind::Money => match Money::parse_yuan(t) {
            Err(e) => Some(e.to_string()),
            Ok(m) if field.max.is_some_and(|max| m.fen() > max.saturating_mul(100)) => {
                Some(format!("{}不能超过 {} 元", field.label, field.max.unwrap_or_default()))
            }
            Ok(m) if field.min.is_some_and(|min| m.fen() < min.saturating_mul(100)) => {
                Some(format!("{}不能少于 {} 元", field.label, field.min.unwrap_or_default()))
            }
            Ok(_) => None,
        },
        FieldKind::Consent => (as_choice(value) != "是" && field.required).then(|| format!("请勾选“{}”", field.label)),
        FieldKind::Address => check_address(field, value, regions),
        FieldKind::Group => {
            let rows = value.and_then(Value::as_array).cloned().unwrap_or_default();
            if rows.len() > field.max_rows() {
                Some(format!("{}最多 {} 行", field.label, field.max_rows()))
            } else if field.min.is_some_and(|m| (rows.len() as i64) < m) {
                Some(format!("{}至少 {} 行", field.label, field.min.unwrap_or_default()))
            } else {
                for (i, row) in rows.iter().enumerate() {
                    for column in &field.fields {
                        let at = format!("{key}.{}.{}", i + 1, column.key);
                        let before = errors.len();
                        check_field(column, &at, row.get(&column.key), regions, today, errors);
                        for e in &mut errors[before..] {
                            e.label = format!("{}第{}行{}", field.label, i + 1, column.label);
                        }
                    }
                }
                None
            }
        }
    };
    if let Some(message) = problem {
        errors.push(error(key, field, message));
    }
}

fn check_address(field: &Field, value: Option<&Value>, regions: &dyn RegionLookup) -> Option<String> {
    let part = |k: &str| text(value.and_then(|v| v.get(k)));
    let (province, city, county, street) = (part("province"), part("city"), part("county"), part("street"));
    if province.is_empty() {
        return Some(format!("请选择{}的省份", field.label));
    }
    let Some((_, None)) = regions.region(province) else {
        return Some(format!("{}的省份不在行政区划中", field.label));
    };
    let under = |child: &str, parent: &str| regions.region(child).is_some_and(|(_, p)| p.as_deref() == Some(parent));
    if !city.is_empty() && !under(city, province) {
        return Some(format!("{}的城市不属于所选省份，请重新选择", field.label));
    }
    if !county.is_empty() && (city.is_empty() || !under(county, city)) {
        return Some(format!("{}的区县不属于所选城市，请重新选择", field.label));
    }
    if city.is_empty() {
        return Some(format!("请选择{}的城市", field.label));
    }
    if street.is_empty() {
        return Some(format!("请填写{}的街道、门牌号", field.label));
    }
    if street.chars().count() > 200 {
        return Some(format!("{}的详细地址不能超过 200 个字", field.label));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Regions;
    impl RegionLookup for Regions {
        fn region(&self, code: &str) -> Option<(String, Option<String>)> {
            match code {
                "440000" => Some(("广东省".into(), None)),
                "440100" => Some(("广州市".into(), Some("440000".into()))),
                "440106" => Some(("天河区".into(), Some("440100".into()))),
                "510000" => Some(("四川省".into(), None)),
                _ => None,
            }
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    fn form() -> FormSchema {
        serde_json::from_value(json!({"sections":[{"key":"a","title":"信息","fields":[
            {"key":"married","label":"是否已婚","type":"choice","options":["是","否"],"required":true},
            {"key":"spouse","label":"配偶姓名","type":"text","required":true,"show_if":{"field":"married","equals":["是"]}},
            {"key":"start","label":"开始日期","type":"date","required":true},
            {"key":"end","label":"结束日期","type":"date","required":true},
            {"key":"amount","label":"金额","type":"money","max":1000},
            {"key":"addr","label":"住址","type":"address","required":true},
            {"key":"kids","label":"子女","type":"group","max":2,"fields":[
                {"key":"name","label":"姓名","type":"text","required":true},
                {"key":"id","label":"身份证号码","type":"resident_id"}]},
            {"key":"ok","label":"我承诺","type":"consent","required":true}]}],
            "rules":[{"field":"end","after":"start","message":"结束日期应晚于开始日期"}]}))
        .unwrap()
    }

    fn keys(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn required_fields_conditions_and_rules() {
        let form = form();
        let answers = json!({"married":"否","start":"2026-12-01","end":"2026-11-30",
            "addr":{"province":"440000","city":"440100","county":"440106","street":"体育西路 1 号"},"ok":true});
        let errors = form.check_answers(answers.as_object().unwrap(), &Regions, today());
        assert_eq!(keys(&errors), ["end"], "{errors:?}");
        assert_eq!(errors[0].message, "结束日期应晚于开始日期");

        let answers = json!({"married":"是","start":"2026-12-01","end":"2026-12-02",
            "addr":{"province":"440000","city":"440100","street":"x"},"ok":false});
        let errors = form.check_answers(answers.as_object().unwrap(), &Regions, today());
        assert_eq!(keys(&errors), ["spouse", "ok"], "{errors:?}");
    }

    #[test]
    fn each_kind_is_checked() {
        let form = form();
        let answers = json!({"married":"也许","start":"2026-02-30","end":"明天","amount":"1000.001",
            "addr":{"province":"510000","city":"440100","street":"x"},
            "kids":[{"name":"","id":"110101199003070000"},{"name":"小明"},{"name":"小红"}],"ok":true});
        let errors = form.check_answers(answers.as_object().unwrap(), &Regions, today());
        assert_eq!(keys(&errors), ["married", "start", "end", "amount", "addr", "kids"], "{errors:?}");
        assert!(errors[4].message.contains("不属于所选省份"), "{errors:?}");
        assert!(errors[5].message.contains("最多 2 行"), "{errors:?}");

        let answers = json!({"married":"否","start":"2026-01-01","end":"2026-01-02","amount":"2000",
            "addr":{"province":"440000","city":"440100","street":"x"},
            "kids":[{"name":"","id":"110101199003070000"}],"ok":true});
        let errors = form.check_answers(answers.as_object().unwrap(), &Regions, today());
        assert_eq!(keys(&errors), ["amount", "kids.1.name", "kids.1.id"], "{errors:?}");
        assert_eq!(errors[1].label, "子女第1行姓名");
    }

    #[test]
    fn normalising_keeps_what_was_typed() {
        let form = form();
        let raw = json!({"amount":" 12.5 ","kids":[{"name":" 小明 ","id":"11010119900307001x"}],"ok":"是","junk":"x",
            "start":"不是日期"});
        let tidy = form.normalise(raw.as_object().unwrap());
        assert_eq!(tidy["amount"], "12.50");
        assert_eq!(tidy["kids"][0]["id"], "11010119900307001X");
        assert_eq!(tidy["ok"], true);
        assert_eq!(tidy["start"], "不是日期");
        assert!(!tidy.contains_key("junk"));
        let shown = form.display(form.field("kids").unwrap(), &tidy, &Regions);
        assert_eq!(shown, "第1行 姓名：小明，身份证号码：11010119900307001X");
    }

    #[test]
    fn values_of_the_wrong_type_do_not_pass() {
        let form: FormSchema = serde_json::from_value(json!({"sections":[{"key":"a","title":"x","fields":[
            {"key":"kinds","label":"类别","type":"multi","options":["甲","乙"],"required":true},
            {"key":"rows","label":"成员","type":"group","required":true,"fields":[{"key":"n","label":"姓名","type":"text"}]},
            {"key":"addr","label":"住址","type":"address","required":true},
            {"key":"name","label":"名称","type":"text","required":true}]}]}))
        .unwrap();
        let raw = json!({"kinds": 5, "rows": "x", "addr": "广州", "name": ["a"]});
        let tidy = form.normalise(raw.as_object().unwrap());
        let errors = form.check_answers(&tidy, &Regions, today());
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["kinds", "rows", "addr", "name"], "{errors:?}");
        // A blank row is no row.
        let raw = json!({"rows": [{"n": " "}]});
        assert_eq!(form.normalise(raw.as_object().unwrap())["rows"], json!([]));
    }

    #[test]
    fn hidden_answers_are_not_submitted() {
        let form = form();
        let answers = json!({"married":"否","spouse":"张三"});
        let kept = form.without_hidden(answers.as_object().unwrap());
        assert!(!kept.contains_key("spouse"));
    }
}
