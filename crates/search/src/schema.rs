//! The index's fields and how a catalogue record becomes index documents: an item, each of its
//! materials (documents), a department.

use crate::analysis::{self, Analyzer};
use chrono::{DateTime, Utc};
use govhall_catalog::model::level_label;
use govhall_catalog::store::{DepartmentCount, Indexable};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{DateTime as TantivyDate, TantivyDocument};

/// Bumped whenever the fields or the analysis change: an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 4;

/// The three kinds of result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 办事事项.
    #[default]
    Items,
    /// 部门.
    Departments,
    /// 材料与表格: the materials items ask for, with their templates and samples.
    Documents,
}

impl Category {
    /// All, in tab order.
    pub const ALL: [Category; 3] = [Category::Items, Category::Departments, Category::Documents];

    /// The stored name, as the API takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Items => "items",
            Category::Departments => "departments",
            Category::Documents => "documents",
        }
    }

    /// In Chinese.
    pub fn label(self) -> &'static str {
        match self {
            Category::Items => "办事事项",
            Category::Departments => "部门",
            Category::Documents => "材料与表格",
        }
    }

    /// Parses the API's name.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The value of the `kind` field.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Category::Items => "item",
            Category::Departments => "department",
            Category::Documents => "document",
        }
    }
}

/// The fields.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// `item`, `department`, `document`.
    pub kind: Field,
    /// The document's own key (item code, `dept:<id>`, `doc:<code>:<n>`).
    pub key: Field,
    /// The item code (items and their documents).
    pub code: Field,
    /// The title as shown.
    pub title: Field,
    /// Words of the name.
    pub name: Field,
    /// Grams of the name.
    pub name_grams: Field,
    /// Words of the short name and everyday phrases (for a document: its item's name).
    pub alias: Field,
    /// Grams of the same.
    pub alias_grams: Field,
    /// Words of the department's name.
    pub dept_words: Field,
    /// Words of the rest (conditions, materials, type, place).
    pub body: Field,
    /// Pinyin readings of the name's, short name's and phrases' words and of short names whole.
    pub pinyin: Field,
    /// Folded name, short name and phrases whole.
    pub exact: Field,
    /// The department's id.
    pub department_id: Field,
    /// The department's name.
    pub department: Field,
    /// The region code and its ancestors' codes (44, 4401, 440103 as 440000, 440100, 440103):
    /// filtered and counted as a region and everything below it.
    pub region: Field,
    /// The region's name.
    pub region_name: Field,
    /// `person`, `enterprise`, `both`.
    pub audience: Field,
    /// `province`, `city`, `county`.
    pub level: Field,
    /// The item type's text.
    pub item_type: Field,
    /// Online depth 1–5.
    pub depth: Field,
    /// Tag ids.
    pub tag: Field,
    /// When it last changed (published).
    pub changed: Field,
    /// Visits and applications, for ranking.
    pub popularity: Field,
    /// The name's length in characters, for ranking (a shorter name is the more general item).
    pub name_len: Field,
    /// `person` and/or `enterprise` (an item for both has both), for facet counts.
    pub f_audience: Field,

    /// What the snippet is cut from.
    pub summary: Field,
    /// Links (a document's template and sample), `label|url` per line.
    pub links: Field,
    /// An item's short name and phrases, one a line (for the lexicon).
    pub aliases: Field,
}

/// The schema and its fields.
pub fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer("whitespace").set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        kind: b.add_text_field("kind", STRING | STORED | FAST),
        key: b.add_text_field("key", STRING | STORED),
        code: b.add_text_field("code", STRING | STORED),
        title: b.add_text_field("title", STORED),
        name: b.add_text_field("name", words.clone()),
        name_grams: b.add_text_field("name_grams", words.clone()),
        alias: b.add_text_field("alias", words.clone()),
        alias_grams: b.add_text_field("alias_grams", words.clone()),
        dept_words: b.add_text_field("dept_words", words.clone()),
        body: b.add_text_field("body", words.clone()),
        pinyin: b.add_text_field("pinyin", words),
        exact: b.add_text_field("exact", STRING),
        department_id: b.add_text_field("department_id", STRING | STORED | FAST),
        department: b.add_text_field("department", STORED),
        region: b.add_text_field("region", STRING | STORED | FAST),
        region_name: b.add_text_field("region_name", STORED),
        audience: b.add_text_field("audience", STRING | STORED),
        level: b.add_text_field("level", STRING | FAST),
        item_type: b.add_text_field("item_type", STRING | STORED | FAST),
        depth: b.add_u64_field("depth", INDEXED | FAST | STORED),
        tag: b.add_text_field("tag", STRING | FAST),
        changed: b.add_date_field("changed", INDEXED | FAST | STORED),
        popularity: b.add_u64_field("popularity", FAST | STORED),
        name_len: b.add_u64_field("name_len", FAST),
        f_audience: b.add_text_field("f_audience", STRING | FAST),
        summary: b.add_text_field("summary", STORED),
        links: b.add_text_field("links", STORED),
        aliases: b.add_text_field("aliases", STORED),
    };
    (b.build(), fields)
}

/// The region code and its ancestors' codes, for filtering by a region and everything below it.
pub fn region_path(code: &str) -> Vec<String> {
    let mut path = Vec::new();
    if code.len() == 6 {
        for prefix in [2, 4, 6] {
            let full = format!("{:0<6}", &code[..prefix]);
            if !path.contains(&full) {
                path.push(full);
            }
        }
    } else if !code.is_empty() {
        path.push(code.to_owned());
    }
    path
}

fn tantivy_date(at: Option<DateTime<Utc>>) -> TantivyDate {
    TantivyDate::from_timestamp_secs(at.map_or(0, |t| t.timestamp()))
}

/// Every term and reading of some texts, each list joined by spaces.
#[derive(Debug, Default)]
struct Terms {
    words: Vec<String>,
    grams: Vec<String>,
    pinyin: Vec<String>,
}

impl Terms {
    fn of<'a>(analyzer: &Analyzer, texts: impl IntoIterator<Item = &'a str>, with_pinyin: bool) -> Terms {
        let mut terms = Terms::default();
        for text in texts {
            let folded = analysis::normalize(text);
            if folded.is_empty() {
                continue;
            }
            let words = analyzer.words(&folded);
            if with_pinyin {
                for word in &words {
                    for (full, initials) in analysis::readings(word) {
                        if initials.len() >= 2 {
                            terms.pinyin.push(initials);
                        }
                        terms.pinyin.push(full);
                    }
                }
                // Two words read together, as people type them: jiehundengji, jhdj for 结婚 登记.
                let cut = analyzer.cut(&folded);
                for pair in cut.windows(2) {
                    if let (Some(a), Some(b)) =
                        (analysis::readings(&pair[0]).first(), analysis::readings(&pair[1]).first())
                    {
                        terms.pinyin.push(format!("{}{}", a.0, b.0));
                        terms.pinyin.push(format!("{}{}", a.1, b.1));
                    }
                }
            }
            terms.words.extend(words);
            terms.grams.extend(analysis::grams(&folded));
        }
        // Each term once: a name that says 驾驶证 twice is not twice as much about it.
        for list in [&mut terms.words, &mut terms.grams, &mut terms.pinyin] {
            let mut seen = std::collections::HashSet::new();
            list.retain(|t| seen.insert(t.clone()));
        }
        terms
    }
}

/// The index documents of a published item: the item and one per material.
pub(crate) fn item_docs(f: &Fields, analyzer: &Analyzer, x: &Indexable, popularity: u64) -> Vec<TantivyDocument> {
    let c = &x.content;
    let item = &x.item;
    let base_name = strip_parentheses(&c.name);
    let mut aliases: Vec<&str> = Vec::new();
    if !c.short_name.is_empty() {
        aliases.push(&c.short_name);
    }
    aliases.extend(c.phrases.iter().map(String::as_str));
    analyzer.add_words(aliases.iter().copied().chain([base_name.as_str(), c.name.as_str()]));
    let name = Terms::of(analyzer, [c.name.as_str()], true);
    let alias = Terms::of(analyzer, aliases.iter().copied(), true);
    let dept = Terms::of(analyzer, [item.department.as_str()], false);
    let mut body_texts: Vec<&str> = vec![&c.type_text, &c.place];
    body_texts.extend(c.conditions.iter().map(String::as_str));
    body_texts.extend(c.materials.iter().map(|m| m.name.as_str()));
    let body = Terms::of(analyzer, body_texts, false);
    let mut pinyin = name.pinyin;
    pinyin.extend(alias.pinyin);
    // Short names and phrases read whole: jzbb for 驾照补办.
    for a in &aliases {
        let folded = analysis::normalize(a);
        if folded.chars().count() <= 12 {
            for (full, initials) in analysis::readings(&folded.replace(' ', "")).into_iter().take(2) {
                pinyin.push(full);
                pinyin.push(initials);
            }
        }
    }

    let mut doc = TantivyDocument::default();
    doc.add_text(f.kind, "item");
    doc.add_text(f.key, &item.code);
    doc.add_text(f.code, &item.code);
    doc.add_text(f.title, &c.name);
    doc.add_u64(f.name_len, c.name.chars().count() as u64);
    doc.add_text(f.name, name.words.join(" "));
    doc.add_text(f.name_grams, name.grams.join(" "));
    doc.add_text(f.alias, alias.words.join(" "));
    doc.add_text(f.alias_grams, alias.grams.join(" "));
    doc.add_text(f.dept_words, dept.words.join(" "));
    doc.add_text(f.body, body.words.join(" "));
    doc.add_text(f.pinyin, pinyin.join(" "));
    for whole in [c.name.as_str(), base_name.as_str()].into_iter().chain(aliases.iter().copied()) {
        doc.add_text(f.exact, analysis::normalize(whole));
    }
    add_common(f, &mut doc, x, popularity);
    let mut summary = String::new();
    if !aliases.is_empty() {
        summary.push_str(&format!("又称：{}。", aliases.join("、")));
    }
    summary.push_str(&format!("{}，{}，{}。", c.type_text, level_label(&c.level), c.promised_limit.label()));
    if let Some(first) = c.conditions.first() {
        summary.push_str(&first.chars().take(160).collect::<String>());
    }
    doc.add_text(f.summary, summary);
    doc.add_text(f.aliases, aliases.join("\n"));

    let mut docs = vec![doc];
    for (n, m) in c.materials.iter().enumerate() {
        let mut doc = TantivyDocument::default();
        let words = Terms::of(analyzer, [m.name.as_str()], true);
        doc.add_text(f.kind, "document");
        doc.add_text(f.key, format!("doc:{}:{n}", item.code));
        doc.add_text(f.code, &item.code);
        doc.add_text(f.title, &m.name);
        doc.add_u64(f.name_len, m.name.chars().count() as u64);
        doc.add_text(f.name, words.words.join(" "));
        doc.add_text(f.name_grams, words.grams.join(" "));
        doc.add_text(f.pinyin, words.pinyin.join(" "));
        doc.add_text(f.alias, name.words.join(" "));
        doc.add_text(f.alias_grams, name.grams.join(" "));
        doc.add_text(f.exact, analysis::normalize(&m.name));
        add_common(f, &mut doc, x, popularity);
        let required = if m.required { "必要材料" } else { "非必要材料" };
        let mut summary = format!("“{}”的{required}", c.name);
        for (label, value) in [("份数", &m.copies), ("格式", &m.formats)] {
            if !value.is_empty() {
                summary.push_str(&format!("；{label}：{value}"));
            }
        }
        if m.from_license {
            summary.push_str("；可用电子证照");
        }
        doc.add_text(f.summary, summary);
        let mut links = Vec::new();
        if !m.template_url.is_empty() {
            links.push(format!("空白表格|{}", m.template_url));
        }
        if !m.sample_url.is_empty() {
            links.push(format!("示例样表|{}", m.sample_url));
        }
        doc.add_text(f.links, links.join("\n"));
        docs.push(doc);
    }
    docs
}

/// The fields an item and its documents share: department, region, filters, facets.
fn add_common(f: &Fields, doc: &mut TantivyDocument, x: &Indexable, popularity: u64) {
    let item = &x.item;
    let c = &x.content;
    doc.add_text(f.department_id, item.department_id.to_string());
    doc.add_text(f.department, &item.department);
    for code in region_path(&item.region_code) {
        doc.add_text(f.region, code);
    }
    doc.add_text(f.region_name, &item.region);
    doc.add_text(f.audience, item.audience.as_str());
    doc.add_text(f.level, &c.level);
    doc.add_text(f.item_type, &c.type_text);
    doc.add_u64(f.depth, u64::from(c.online_depth));
    for tag in &x.tags {
        doc.add_text(f.tag, tag.to_string());
    }
    doc.add_date(f.changed, tantivy_date(x.published_at));
    doc.add_u64(f.popularity, popularity);
    let audiences: &[&str] = match item.audience.as_str() {
        "person" => &["person"],
        "enterprise" => &["enterprise"],
        _ => &["person", "enterprise"],
    };
    for a in audiences {
        doc.add_text(f.f_audience, a);
    }
}

/// The index document of a department.
pub(crate) fn department_doc(f: &Fields, analyzer: &Analyzer, d: &DepartmentCount) -> TantivyDocument {
    analyzer.add_words([d.name.as_str()]);
    let name = Terms::of(analyzer, [d.name.as_str()], true);
    let mut doc = TantivyDocument::default();
    doc.add_text(f.kind, "department");
    doc.add_text(f.key, format!("dept:{}", d.id));
    doc.add_text(f.title, &d.name);
    doc.add_u64(f.name_len, d.name.chars().count() as u64);
    doc.add_text(f.name, name.words.join(" "));
    doc.add_text(f.name_grams, name.grams.join(" "));
    doc.add_text(f.pinyin, name.pinyin.join(" "));
    doc.add_text(f.exact, analysis::normalize(&d.name));
    doc.add_text(f.department_id, d.id.to_string());
    doc.add_text(f.department, &d.name);
    for code in region_path(&d.region_code) {
        doc.add_text(f.region, code);
    }
    doc.add_text(f.region_name, &d.region);
    doc.add_date(f.changed, tantivy_date(None));
    doc.add_u64(f.popularity, u64::try_from(d.items).unwrap_or(0));
    doc.add_text(f.summary, format!("{}，{} 项办事事项", d.region, d.items));
    doc
}

/// A name without its parenthesised parts: 律师执业许可(变更) → 律师执业许可.
pub fn strip_parentheses(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' | '（' => depth += 1,
            ')' | '）' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    let out = out.trim().to_owned();
    if out.is_empty() { name.to_owned() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_filter_by_their_ancestors() {
        assert_eq!(region_path("440103"), vec!["440000", "440100", "440103"]);
        assert_eq!(region_path("440000"), vec!["440000"]);
        assert_eq!(region_path("511602"), vec!["510000", "511600", "511602"]);
    }

    #[test]
    fn parentheses_are_left_out_of_base_names() {
        assert_eq!(strip_parentheses("律师执业许可(变更)"), "律师执业许可");
        assert_eq!(strip_parentheses("审批（新建（或改建））许可"), "审批许可");
        assert_eq!(strip_parentheses("(全部)"), "(全部)");
    }
}
