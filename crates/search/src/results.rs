//! What a search returns: hits with highlights, facet counts, totals per category.

use crate::highlight::highlight;
use crate::query::Labels;
use crate::schema::{Category, Fields};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tantivy::TantivyDocument;
use tantivy::schema::{Field, Value};

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// `item`, `department`, `document`.
    pub kind: String,
    /// The item code (items and documents); empty for departments.
    pub code: String,
    /// The department's id.
    pub department_id: String,
    /// The name (a document's: the material's).
    pub name: String,
    /// The name escaped for HTML with matches in `<em>`.
    pub name_html: String,
    /// The department's name.
    pub department: String,
    /// The region's name.
    pub region: String,
    /// A piece of the guide escaped for HTML with matches in `<em>`.
    pub snippet: String,
    /// Downloads (a document's template and sample): label and address.
    pub links: Vec<(String, String)>,
    /// Pinned by an administrator for this query.
    pub pinned: bool,
    /// When it last changed.
    pub changed: Option<NaiveDate>,
    /// Visits and applications counted for it.
    pub popularity: u64,
}

/// A facet value with its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FacetCount {
    /// The filter value.
    pub value: String,
    /// In Chinese.
    pub label: String,
    /// Results with it.
    pub count: u64,
}

/// The facets of a result set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Facets {
    /// 个人 / 法人.
    pub audience: Vec<FacetCount>,
    /// Item types.
    #[serde(rename = "type")]
    pub item_type: Vec<FacetCount>,
    /// Levels.
    pub level: Vec<FacetCount>,
    /// Online depths (items of at least this depth).
    pub depth: Vec<FacetCount>,
    /// Departments (the 20 with most results).
    pub department: Vec<FacetCount>,
    /// Regions (the 20 with most results).
    pub region: Vec<FacetCount>,
    /// Tags of the navigations (life events, themes, groups …; the 30 with most results).
    pub tag: Vec<FacetCount>,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    /// The query as searched (folded, cut to length).
    pub query: String,
    /// The category searched.
    pub category: Category,
    /// Results in all.
    pub total: usize,
    /// Results per category for the same text and filters.
    pub counts: Vec<(Category, usize)>,
    /// This page.
    pub hits: Vec<Hit>,
    /// Facet counts.
    pub facets: Facets,
    /// A corrected query, when what was typed looks like a typo or pinyin.
    pub did_you_mean: Option<String>,
    /// Whether fewer than all the words had to match to find anything.
    pub relaxed: bool,
    /// Words searched for besides those typed (synonyms).
    pub expanded: Vec<String>,
}

fn stored(doc: &TantivyDocument, field: Field) -> &str {
    doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default()
}

pub(crate) fn hit(f: &Fields, doc: &TantivyDocument, needles: &[String], pinned: bool) -> Hit {
    let name = stored(doc, f.title).to_owned();
    let changed = doc
        .get_first(f.changed)
        .and_then(|v| v.as_datetime())
        .map(|d| d.into_timestamp_secs())
        .filter(|s| *s > 0)
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .map(|d| d.date_naive());
    let links = stored(doc, f.links)
        .lines()
        .filter_map(|l| l.split_once('|'))
        // Only web addresses: a javascript: or data: link never reaches a page or an app.
        .filter(|(_, url)| {
            let lower = url.trim().to_ascii_lowercase();
            lower.starts_with("https://")
                || lower.starts_with("http://")
                || (lower.starts_with('/') && !lower.starts_with("//"))
        })
        .map(|(label, url)| (label.to_owned(), url.trim().to_owned()))
        .collect();
    Hit {
        kind: stored(doc, f.kind).to_owned(),
        code: stored(doc, f.code).to_owned(),
        department_id: stored(doc, f.department_id).to_owned(),
        name_html: highlight(&name, needles, 200),
        name,
        department: stored(doc, f.department).to_owned(),
        region: stored(doc, f.region_name).to_owned(),
        snippet: highlight(stored(doc, f.summary), needles, 120),
        links,
        pinned,
        changed,
        popularity: doc.get_first(f.popularity).and_then(|v| v.as_u64()).unwrap_or(0),
    }
}

pub(crate) fn facets(labels: &Labels, tallies: &crate::tally::Tallies) -> Facets {
    let list = |column: usize, k: usize, label: &dyn Fn(&str) -> String| -> Vec<FacetCount> {
        let mut values: Vec<FacetCount> = tallies
            .columns
            .get(column)
            .into_iter()
            .flatten()
            .map(|(value, count)| FacetCount { label: label(value), value: value.clone(), count: *count })
            .collect();
        values.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
        values.truncate(k);
        values
    };
    let mut depth: Vec<FacetCount> = tallies
        .depth
        .iter()
        .filter(|(d, _)| **d > 0)
        .map(|(d, n)| FacetCount {
            value: d.to_string(),
            label: govhall_catalog::model::depth_label(u8::try_from(*d).unwrap_or(0)).to_owned(),
            count: *n,
        })
        .collect();
    depth.sort_by(|a, b| a.value.cmp(&b.value));
    let mut level = list(2, 3, &|v| govhall_catalog::model::level_label(v).to_owned());
    level.sort_by_key(|l| ["province", "city", "county"].iter().position(|x| *x == l.value));
    let mut audience = list(0, 2, &|v| if v == "person" { "个人".to_owned() } else { "法人".to_owned() });
    audience.sort_by(|a, b| b.value.cmp(&a.value));
    Facets {
        audience,
        item_type: list(1, 12, &|v| if v.is_empty() { "其他".to_owned() } else { v.to_owned() }),
        level,
        depth,
        department: list(3, 20, &|v| labels.get(&format!("dept:{v}")).unwrap_or(v).to_owned()),
        region: list(4, 20, &|v| labels.get(&format!("region:{v}")).unwrap_or(v).to_owned()),
        tag: list(5, 30, &|v| labels.get(&format!("tag:{v}")).unwrap_or(v).to_owned()),
    }
}
