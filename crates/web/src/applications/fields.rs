//! The form between HTML and answers: what a section's fields look like on the page (values,
//! errors beside them, locked profile values, the address's cascading choices, a group's rows
//! plus one blank row), and the posted pairs read back into answers by the schema.

use govhall_applications::regions::Regions;
use govhall_catalog::form::{Answers, Field, FieldError, FieldKind, FormSchema, RegionLookup, Section};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One field as the page shows it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldView {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) kind: &'static str,
    pub(crate) required: bool,
    pub(crate) help: String,
    pub(crate) value: String,
    pub(crate) checked: bool,
    pub(crate) options: Vec<(String, bool)>,
    pub(crate) error: String,
    pub(crate) locked: String,
    pub(crate) condition: String,
    pub(crate) max_chars: usize,
    pub(crate) columns: Vec<String>,
    pub(crate) rows: Vec<Vec<FieldView>>,
    pub(crate) address: Option<AddressView>,
}

/// The address's choices: provinces, the chosen province's cities, the chosen city's counties.
#[derive(Debug, Clone, Default)]
pub(crate) struct AddressView {
    pub(crate) provinces: Vec<(String, String, bool)>,
    pub(crate) cities: Vec<(String, String, bool)>,
    pub(crate) counties: Vec<(String, String, bool)>,
    pub(crate) street: String,
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn choices(regions: &Regions, parent: Option<&str>, chosen: &str) -> Vec<(String, String, bool)> {
    regions.children(parent).into_iter().map(|r| (r.code.clone(), r.full_name.clone(), r.code == chosen)).collect()
}

fn view(
    form: &FormSchema,
    field: &Field,
    name: &str,
    value: Option<&Value>,
    errors: &BTreeMap<String, String>,
    regions: &Regions,
) -> FieldView {
    let mut v = FieldView {
        name: name.to_owned(),
        id: name.replace('.', "-"),
        label: field.label.clone(),
        kind: field.kind.code(),
        required: field.required,
        help: field.help.clone(),
        value: text(value),
        error: errors.get(name.trim_start_matches("f.")).cloned().unwrap_or_default(),
        // A number's or an amount's max is its value, not its length.
        max_chars: if matches!(field.kind, FieldKind::Text | FieldKind::Textarea) { field.max_chars() } else { 40 },
        ..FieldView::default()
    };
    if let Some(show) = &field.show_if {
        let parent = form.field(&show.field).map_or(show.field.as_str(), |f| f.label.as_str());
        v.condition = format!("仅在“{parent}”为“{}”时填写", show.equals.join("”或“"));
    }
    match field.kind {
        FieldKind::Choice => v.options = field.options.iter().map(|o| (o.clone(), *o == v.value)).collect(),
        FieldKind::Multi => {
            let chosen: Vec<String> = value
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                .unwrap_or_default();
            v.options = field.options.iter().map(|o| (o.clone(), chosen.contains(o))).collect();
        }
        FieldKind::Consent => v.checked = matches!(value, Some(Value::Bool(true))),
        FieldKind::Address => {
            let part = |k: &str| text(value.and_then(|a| a.get(k)));
            let (province, city, county) = (part("province"), part("city"), part("county"));
            v.address = Some(AddressView {
                provinces: choices(regions, None, &province),
                cities: if province.is_empty() { Vec::new() } else { choices(regions, Some(&province), &city) },
                counties: if city.is_empty() { Vec::new() } else { choices(regions, Some(&city), &county) },
                street: part("street"),
            });
            if v.error.is_empty() {
                v.error = ["province", "city", "county", "street"]
                    .iter()
                    .find_map(|k| errors.get(&format!("{}.{k}", field.key)).cloned())
                    .unwrap_or_default();
            }
        }
        FieldKind::Group => {
            v.columns = field.fields.iter().map(|c| c.label.clone()).collect();
            let rows: Vec<Value> = value.and_then(Value::as_array).cloned().unwrap_or_default();
            let shown = (rows.len() + 1).min(field.max_rows());
            v.rows = (0..shown)
                .map(|i| {
                    field
                        .fields
                        .iter()
                        .map(|c| {
                            let at = format!("{name}.{}.{}", i + 1, c.key);
                            view(form, c, &at, rows.get(i).and_then(|r| r.get(&c.key)), errors, regions)
                        })
                        .collect()
                })
                .collect();
        }
        _ => {}
    }
    v
}

/// The section's fields for the page: `locked` values (field key → where from) are read-only.
pub(crate) fn views(
    form: &FormSchema,
    section: &Section,
    answers: &Answers,
    errors: &[FieldError],
    locked: &BTreeMap<String, (String, &'static str)>,
    regions: &Regions,
) -> Vec<FieldView> {
    let errors: BTreeMap<String, String> = errors.iter().map(|e| (e.key.clone(), e.message.clone())).collect();
    section
        .fields
        .iter()
        .map(|f| {
            let mut v = view(form, f, &format!("f.{}", f.key), answers.get(&f.key), &errors, regions);
            if let Some((_, source)) = locked.get(&f.key) {
                v.locked = (*source).to_owned();
            }
            v
        })
        .collect()
}

/// The posted pairs of a section read back into answers (absent fields absent; blank group
/// rows dropped).
pub(crate) fn parse_section(section: &Section, pairs: &[(String, String)]) -> Answers {
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut answers = Map::new();
    for field in &section.fields {
        let name = format!("f.{}", field.key);
        let value = match field.kind {
            FieldKind::Multi => Some(Value::Array(
                pairs.iter().filter(|(k, _)| *k == name).map(|(_, v)| Value::String(v.clone())).collect(),
            )),
            FieldKind::Consent => Some(Value::Bool(get(&name).is_some_and(|v| v == "是"))),
            FieldKind::Address => {
                let mut a = Map::new();
                for k in ["province", "city", "county", "street"] {
                    a.insert(k.into(), Value::String(get(&format!("{name}.{k}")).unwrap_or_default()));
                }
                // A city not under the chosen province (the province changed): start over below it.
                Some(Value::Object(a))
            }
            FieldKind::Group => {
                let mut rows = Vec::new();
                for i in 1..=field.max_rows() {
                    let mut row = Map::new();
                    let mut any = false;
                    for c in &field.fields {
                        let cell = get(&format!("{name}.{i}.{}", c.key)).unwrap_or_default();
                        any |= !cell.trim().is_empty();
                        row.insert(c.key.clone(), Value::String(cell));
                    }
                    if any {
                        rows.push(Value::Object(row));
                    }
                }
                Some(Value::Array(rows))
            }
            _ => get(&name).map(Value::String),
        };
        if let Some(v) = value {
            answers.insert(field.key.clone(), v);
        }
    }
    answers
}

/// Drops a city or county that no longer sits under the chosen province or city, so that a
/// changed province asks for the city again rather than keeping a stale one.
pub(crate) fn tidy_addresses(section: &Section, answers: &mut Answers, regions: &Regions) {
    for field in section.fields.iter().filter(|f| f.kind == FieldKind::Address) {
        let Some(Value::Object(a)) = answers.get_mut(&field.key) else { continue };
        let province = text(a.get("province"));
        let city = text(a.get("city"));
        let city_ok = regions.region(&city).is_some_and(|(_, p)| p.as_deref() == Some(province.as_str()));
        if !city_ok {
            a.insert("city".into(), Value::String(String::new()));
            a.insert("county".into(), Value::String(String::new()));
        } else {
            let county = text(a.get("county"));
            if regions.region(&county).is_none_or(|(_, p)| p.as_deref() != Some(city.as_str())) {
                a.insert("county".into(), Value::String(String::new()));
            }
        }
    }
}
