//! A search: the request as people and programs give it, checked; the query built from what
//! they typed (words, their synonyms and homophones, pinyin, initials, typos); results with
//! facets, highlights, best bets and "did you mean".

use crate::SearchError;
use crate::analysis::{self, Analyzer};
use crate::highlight::highlight;
use crate::lexicon::Lexicon;
use crate::rules::Rules;
use crate::schema::{Category, Fields};
use crate::tally::Tallies;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};
use uuid::Uuid;

/// How much a longer name lowers a score, per character.
const LENGTH_PRIOR: f32 = 0.03;

/// At most this many concepts of a query are searched for (the rest of a long question adds
/// little and costs a clause each).
const MAX_CONCEPTS: usize = 8;

/// A query is cut to this many characters.
pub const MAX_QUERY_CHARS: usize = 64;
/// At most this many results a page.
pub const MAX_LIMIT: usize = 50;
/// Results past this offset are not served (refine the search instead).
pub const MAX_OFFSET: usize = 1_000;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first.
    #[default]
    Relevance,
    /// Most recently changed first.
    Newest,
}

/// The request's parameters as typed (query string or form); [`SearchRequest::from_params`]
/// checks them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct SearchParams {
    /// What was typed.
    pub q: String,
    /// `items` (default), `departments`, `documents`.
    pub category: String,
    /// `person` or `enterprise`.
    pub audience: String,
    /// A tag's id (life event, theme, group …).
    pub tag: String,
    /// A department's id.
    pub department: String,
    /// A region's 6-digit code (and everything below it).
    pub region: String,
    /// `province`, `city`, `county`.
    pub level: String,
    /// The item type (行政许可 …).
    #[serde(rename = "type")]
    pub item_type: String,
    /// At least this online depth (1–5).
    pub depth: String,
    /// Changed on or after this day (YYYY-MM-DD).
    pub from: String,
    /// Changed on or before this day.
    pub to: String,
    /// `relevance` or `newest`.
    pub sort: String,
    /// Page number from 1 (pages of `limit`).
    pub page: String,
    /// Results a page (default 10, at most 50).
    pub limit: String,
    /// Results to skip (instead of `page`).
    pub offset: String,
}

/// A checked search.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchRequest {
    /// What was typed.
    pub q: String,
    /// Which kind of result.
    pub category: Category,
    /// For `person` or `enterprise` (items for both count for either).
    pub audience: Option<String>,
    /// Carrying this tag.
    pub tag: Option<Uuid>,
    /// Of this department.
    pub department: Option<Uuid>,
    /// In this region or below.
    pub region: Option<String>,
    /// At this level.
    pub level: Option<String>,
    /// Of this item type.
    pub item_type: Option<String>,
    /// At least this online depth.
    pub min_depth: Option<u8>,
    /// Changed on or after.
    pub from: Option<NaiveDate>,
    /// Changed on or before.
    pub to: Option<NaiveDate>,
    /// Order.
    pub sort: Sort,
    /// Page size.
    pub limit: usize,
    /// Skipped.
    pub offset: usize,
}

fn invalid(message: impl Into<String>) -> SearchError {
    SearchError::invalid("invalid_filter", message)
}

fn some(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

impl SearchRequest {
    /// A plain search for `q` among items.
    pub fn text(q: &str) -> SearchRequest {
        SearchRequest { q: q.to_owned(), limit: 10, ..SearchRequest::default() }
    }

    /// Checks typed parameters; an error names the parameter in Chinese.
    pub fn from_params(p: &SearchParams) -> Result<SearchRequest, SearchError> {
        let category = match some(&p.category) {
            None => Category::Items,
            Some(c) => Category::parse(c).ok_or_else(|| {
                invalid("结果类别（category）应为 items（事项）、departments（部门）或 documents（材料）")
            })?,
        };
        let audience = match some(&p.audience) {
            None => None,
            Some(a @ ("person" | "enterprise")) => Some(a.to_owned()),
            Some(_) => return Err(invalid("服务对象（audience）应为 person（个人）或 enterprise（法人）")),
        };
        let uuid = |v: &str, what: &str| -> Result<Option<Uuid>, SearchError> {
            some(v).map(|v| Uuid::parse_str(v).map_err(|_| invalid(format!("{what}编号格式不正确")))).transpose()
        };
        let region = match some(&p.region) {
            None => None,
            Some(r) if r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()) => Some(r.to_owned()),
            Some(_) => return Err(invalid("区划（region）应为 6 位行政区划代码")),
        };
        let level = match some(&p.level) {
            None => None,
            Some(l @ ("province" | "city" | "county")) => Some(l.to_owned()),
            Some(_) => return Err(invalid("层级（level）应为 province（省级）、city（市级）或 county（县级）")),
        };
        let min_depth = match some(&p.depth) {
            None => None,
            Some(d) => match d.parse::<u8>() {
                Ok(d @ 1..=5) => Some(d),
                _ => return Err(invalid("网办深度（depth）应为 1 到 5")),
            },
        };
        let day = |v: &str, what: &str| -> Result<Option<NaiveDate>, SearchError> {
            some(v)
                .map(|v| {
                    NaiveDate::parse_from_str(v, "%Y-%m-%d")
                        .map_err(|_| invalid(format!("{what}应为日期，如 2026-01-31")))
                })
                .transpose()
        };
        let (from, to) = (day(&p.from, "起始日期")?, day(&p.to, "截止日期")?);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(invalid("起始日期不能晚于截止日期"));
        }
        let sort = match some(&p.sort) {
            None | Some("relevance") => Sort::Relevance,
            Some("newest") => Sort::Newest,
            Some(_) => return Err(invalid("排序（sort）应为 relevance（相关度）或 newest（最新）")),
        };
        let limit = match some(&p.limit) {
            None => 10,
            Some(l) => match l.parse::<usize>() {
                Ok(l @ 1..=MAX_LIMIT) => l,
                _ => return Err(invalid(format!("每页条数（limit）应为 1 到 {MAX_LIMIT}"))),
            },
        };
        let offset = match (some(&p.page), some(&p.offset)) {
            (Some(page), _) => match page.parse::<usize>() {
                Ok(page @ 1..) => (page - 1).saturating_mul(limit),
                _ => return Err(invalid("页码（page）应为从 1 开始的整数")),
            },
            (None, Some(o)) => o.parse::<usize>().map_err(|_| invalid("跳过条数（offset）应为非负整数"))?,
            (None, None) => 0,
        };
        if offset > MAX_OFFSET {
            return Err(invalid(format!("最多浏览前 {MAX_OFFSET} 条结果，请增加筛选条件")));
        }
        let item_type = some(&p.item_type).map(str::to_owned);
        if item_type.as_ref().is_some_and(|t| t.chars().count() > 20) {
            return Err(invalid("事项类型过长"));
        }
        Ok(SearchRequest {
            q: p.q.chars().take(1_000).collect(),
            category,
            audience,
            tag: uuid(&p.tag, "主题")?,
            department: uuid(&p.department, "部门")?,
            region,
            level,
            item_type,
            min_depth,
            from,
            to,
            sort,
            limit,
            offset,
        })
    }

    /// Whether anything narrows the search besides the text and the category.
    pub fn has_filters(&self) -> bool {
        self.audience.is_some()
            || self.tag.is_some()
            || self.department.is_some()
            || self.region.is_some()
            || self.level.is_some()
            || self.item_type.is_some()
            || self.min_depth.is_some()
            || self.from.is_some()
            || self.to.is_some()
    }
}

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

/// What the query understood.
#[derive(Debug, Default)]
struct Concept {
    /// The word as typed (folded).
    text: String,
    /// Synonyms and corrections.
    alternatives: Vec<String>,
    /// The dictionary words inside a longer word (许可证 → 许可), matched weakly.
    parts: Vec<String>,
    /// Typed in Latin letters.
    latin: bool,
    /// Not a known word: matched mostly by how it sounds.
    sounds_like: bool,
    /// Latin letters the index does not hold: matched with typos allowed.
    fuzzy: bool,
}

/// The understood query.
#[derive(Debug, Default)]
struct Plan {
    folded: String,
    concepts: Vec<Concept>,
    did_you_mean: Option<String>,
}

impl Plan {
    fn needles(&self) -> Vec<String> {
        let mut needles = Vec::new();
        for c in &self.concepts {
            needles.push(c.text.clone());
            needles.extend(c.alternatives.iter().cloned());
        }
        needles
    }
}

/// Understands what was typed. `indexed(field, term)` tells whether the index holds a term.
fn plan(
    q: &str,
    analyzer: &Analyzer,
    rules: &Rules,
    lexicon: &Lexicon,
    indexed: &dyn Fn(Field, &str) -> bool,
    f: &Fields,
) -> Plan {
    let folded: String = analysis::normalize(q).chars().take(MAX_QUERY_CHARS).collect();
    let folded = folded.trim().to_owned();
    let mut plan = Plan { folded: folded.clone(), ..Plan::default() };
    if folded.is_empty() {
        return plan;
    }
    if analysis::is_latin(&folded) {
        plan_latin(&mut plan, rules, lexicon, indexed, f);
        return plan;
    }
    let mut words: Vec<String> = analyzer.cut(&folded);
    words.truncate(24);
    let mut corrected = folded.clone();
    let mut concepts: Vec<(Concept, bool)> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        // The longest run of words that is a synonym, a phrase, or reads as a known word.
        let mut taken = 1;
        let mut correction: Option<String> = None;
        for n in (2..=words.len().min(i + 4) - i).rev() {
            let span: String = words[i..i + n].concat();
            if rules.has(&span) || !lexicon.alias_names(&span).is_empty() || lexicon.knows(&span) {
                taken = n;
                break;
            }
            if span.chars().all(analysis::is_han)
                && let Some(reading) = analysis::reading(&span)
            {
                if let Some(word) = known_reading(&reading, rules, lexicon)
                    && word != span
                {
                    taken = n;
                    correction = Some(word.to_owned());
                    break;
                }
                if indexed(f.pinyin, &reading) {
                    taken = n;
                    break;
                }
            }
        }
        let text: String = words[i..i + taken].concat();
        let unknown = !lexicon.knows(&text) && !rules.has(&text) && !analyzer.knows(&text);
        let han = text.chars().count() >= 2 && text.chars().all(analysis::is_han);
        let reading = if han { analysis::reading(&text) } else { None };
        if correction.is_none()
            && unknown
            && let Some(p) = &reading
        {
            // A wrong character that sounds alike (社宝卡 → 社保卡).
            correction = known_reading(p, rules, lexicon).map(str::to_owned).filter(|w| *w != text);
        }
        // Sounds like something in the index (居注证 → 居住证): matched by its reading.
        let heard = correction.is_none() && unknown && reading.as_ref().is_some_and(|p| indexed(f.pinyin, p));
        if correction.is_none()
            && unknown
            && !heard
            && let Some(p) = &reading
        {
            // Nearly alike (婚烟 → 婚姻).
            correction =
                lexicon.nearest_pinyin(p).or_else(|| rules.nearest_pinyin(p)).map(str::to_owned).filter(|w| *w != text);
        }
        let concept = match correction {
            Some(word) => {
                corrected = corrected.replacen(&text, &word, 1);
                chinese_concept(word, analyzer, rules, lexicon)
            }
            None => {
                let mut c = chinese_concept(text.clone(), analyzer, rules, lexicon);
                c.sounds_like = heard;
                if text.chars().all(|c| c.is_ascii_alphanumeric()) && !text.chars().all(|c| c.is_ascii_digit()) {
                    c.latin = true;
                    c.fuzzy = !indexed(f.pinyin, &text);
                }
                if unknown {
                    // 养狗: the synonyms of a word inside it (狗 → 犬).
                    for (start, _) in text.char_indices() {
                        for end in (start + 1..=text.len()).rev() {
                            if let Some(part) = text.get(start..end)
                                && part != text
                                && rules.has(part)
                            {
                                for s in rules.synonyms(part) {
                                    if !c.alternatives.iter().any(|a| a == s) {
                                        c.alternatives.push(s.to_owned());
                                    }
                                }
                            }
                        }
                    }
                }
                c
            }
        };
        let filler = taken == 1 && analysis::is_filler(&text);
        concepts.push((concept, filler));
        i += taken;
    }
    if concepts.iter().any(|(_, filler)| !filler) {
        concepts.retain(|(_, filler)| !filler);
    }
    plan.concepts = concepts.into_iter().map(|(c, _)| c).collect();
    if corrected != folded {
        plan.did_you_mean = Some(corrected);
    }
    plan
}

/// Pinyin, initials, or Latin words.
fn plan_latin(plan: &mut Plan, rules: &Rules, lexicon: &Lexicon, indexed: &dyn Fn(Field, &str) -> bool, f: &Fields) {
    let joined: String = plan.folded.chars().filter(char::is_ascii_alphanumeric).collect();
    let word = lexicon.word_for_pinyin(&joined).or_else(|| rules.word_for_pinyin(&joined));
    let tokens: Vec<&str> = plan.folded.split(' ').filter(|t| !t.is_empty()).collect();
    if indexed(f.pinyin, &joined) || indexed(f.name_grams, &joined) {
        // Read as typed; the word it spells (if known) and its synonyms match too.
        let mut concept = Concept { text: joined.clone(), latin: true, ..Concept::default() };
        if tokens.len() > 1 {
            concept.parts = tokens.iter().map(|t| (*t).to_owned()).collect();
        }
        if let Some(words) = lexicon.split_pinyin(&joined).filter(|w| w.len() > 1) {
            concept.alternatives.push(words.concat());
        }
        if let Some(word) = word {
            plan.did_you_mean = Some(word.to_owned());
            concept.alternatives.push(word.to_owned());
            concept.alternatives.extend(rules.synonyms(word).into_iter().map(str::to_owned));
        }
        plan.concepts.push(concept);
        return;
    }
    if let Some(word) = word {
        plan.did_you_mean = Some(word.to_owned());
        plan.concepts.push(Concept {
            text: word.to_owned(),
            alternatives: rules.synonyms(word).into_iter().map(str::to_owned).collect(),
            ..Concept::default()
        });
        return;
    }
    if tokens.len() > 1 && tokens.iter().all(|t| indexed(f.pinyin, t)) {
        for t in tokens {
            plan.concepts.push(Concept { text: t.to_owned(), latin: true, ..Concept::default() });
        }
        return;
    }
    let words: Option<Vec<String>> =
        lexicon.split_pinyin(&joined).map(|ws| ws.into_iter().map(str::to_owned).collect()).or_else(|| {
            lexicon.nearest_pinyin(&joined).or_else(|| rules.nearest_pinyin(&joined)).map(|w| vec![w.to_owned()])
        });
    match words {
        Some(words) => {
            plan.did_you_mean = Some(words.concat());
            for w in words {
                let alternatives = rules.synonyms(&w).into_iter().map(str::to_owned).collect();
                plan.concepts.push(Concept { text: w, alternatives, ..Concept::default() });
            }
        }
        None => {
            for t in tokens {
                let fuzzy = !indexed(f.pinyin, t);
                plan.concepts.push(Concept { text: t.to_owned(), latin: true, fuzzy, ..Concept::default() });
            }
        }
    }
}

/// A word of the catalogue or of the synonyms read as `pinyin`.
fn known_reading<'a>(pinyin: &str, rules: &'a Rules, lexicon: &'a Lexicon) -> Option<&'a str> {
    lexicon.word_for_pinyin(pinyin).or_else(|| rules.word_for_pinyin(pinyin))
}

fn chinese_concept(text: String, analyzer: &Analyzer, rules: &Rules, lexicon: &Lexicon) -> Concept {
    let mut alternatives: Vec<String> = rules.synonyms(&text).into_iter().map(str::to_owned).collect();
    for name in lexicon.alias_names(&text).iter().take(3) {
        let base = analysis::normalize(&crate::schema::strip_parentheses(name));
        if !alternatives.contains(&base) && base != text {
            alternatives.push(base);
        }
    }
    let parts = if text.chars().count() >= 3 && text.chars().all(analysis::is_han) {
        analyzer.words(&text).into_iter().filter(|w| w.chars().count() >= 2 && *w != text).collect()
    } else {
        Vec::new()
    };
    Concept { text, alternatives, parts, ..Concept::default() }
}

fn term(field: Field, text: &str, boost: f32) -> Box<dyn Query> {
    let q = TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs);
    Box::new(BoostQuery::new(Box::new(q), boost))
}

/// All the grams of a word in `field` (it appears there, however it was cut).
fn grams_all(field: Field, word: &str, boost: f32) -> Box<dyn Query> {
    let grams = analysis::bigrams_of(word);
    if grams.len() == 1 {
        return term(field, &grams[0], boost);
    }
    let q = BooleanQuery::new(
        grams
            .iter()
            .map(|g| {
                (
                    Occur::Must,
                    Box::new(TermQuery::new(Term::from_field_text(field, g), IndexRecordOption::WithFreqs))
                        as Box<dyn Query>,
                )
            })
            .collect(),
    );
    Box::new(BoostQuery::new(Box::new(q), boost / grams.len() as f32))
}

fn concept_query(f: &Fields, c: &Concept) -> Box<dyn Query> {
    let mut should: Vec<Box<dyn Query>> = Vec::new();
    if c.latin {
        if c.parts.len() > 1 {
            // Syllables typed apart (hukou qianyi): each somewhere in the readings.
            let all = c
                .parts
                .iter()
                .map(|p| {
                    (
                        Occur::Must,
                        Box::new(TermQuery::new(Term::from_field_text(f.pinyin, p), IndexRecordOption::WithFreqs))
                            as Box<dyn Query>,
                    )
                })
                .collect();
            should.push(Box::new(BoostQuery::new(Box::new(BooleanQuery::new(all)), 1.5)));
        }
        should.push(term(f.pinyin, &c.text, 3.0));
        should.push(term(f.name_grams, &c.text, 2.0));
        should.push(term(f.alias_grams, &c.text, 2.0));
        if c.fuzzy && c.text.len() >= 4 && c.text.chars().all(|ch| ch.is_ascii_alphabetic()) {
            let distance = if c.text.len() <= 7 { 1 } else { 2 };
            let fuzzy = FuzzyTermQuery::new(Term::from_field_text(f.pinyin, &c.text), distance, true);
            should.push(Box::new(BoostQuery::new(Box::new(fuzzy), 1.5)));
        }
    } else {
        should.push(term(f.name, &c.text, 3.0));
        should.push(term(f.alias, &c.text, 3.0));
        should.push(term(f.dept_words, &c.text, 1.0));
        should.push(grams_all(f.name_grams, &c.text, 2.0));
        should.push(grams_all(f.alias_grams, &c.text, 1.5));
        if c.text.chars().count() >= 2
            && let Some(p) = analysis::reading(&c.text)
        {
            should.push(term(f.pinyin, &p, if c.sounds_like { 3.0 } else { 0.8 }));
        }
    }
    if !c.latin && !c.parts.is_empty() {
        // Every word inside it, wherever it stands (食品(含保健食品)经营 for 食品经营).
        for (field, boost) in [(f.name_grams, 0.6), (f.alias_grams, 0.4)] {
            let all = c.parts.iter().map(|p| (Occur::Must, grams_all(field, p, 1.0))).collect();
            should.push(Box::new(BoostQuery::new(Box::new(BooleanQuery::new(all)), boost)));
        }
    }
    for alt in &c.alternatives {
        should.push(term(f.name, alt, 2.5));
        should.push(term(f.alias, alt, 2.5));
        should.push(grams_all(f.name_grams, alt, 1.5));
        should.push(grams_all(f.alias_grams, alt, 1.2));
    }
    Box::new(BooleanQuery::union(should))
}

/// How many of `n` concepts must match.
fn required(n: usize) -> usize {
    match n {
        0..=2 => n,
        3 => 2,
        n => (n * 7).div_ceil(10),
    }
}

fn filter(q: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0)))
}

fn text_filter(field: Field, value: &str) -> (Occur, Box<dyn Query>) {
    filter(Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic)))
}

fn filters(f: &Fields, r: &SearchRequest, category: Option<Category>) -> Vec<(Occur, Box<dyn Query>)> {
    let mut out = Vec::new();
    if let Some(category) = category {
        out.push(text_filter(f.kind, category.kind()));
    }
    if let Some(a) = &r.audience {
        let either = BooleanQuery::union(vec![
            Box::new(TermQuery::new(Term::from_field_text(f.audience, a), IndexRecordOption::Basic)),
            Box::new(TermQuery::new(Term::from_field_text(f.audience, "both"), IndexRecordOption::Basic)),
        ]);
        out.push(filter(Box::new(either)));
    }
    if let Some(t) = r.tag {
        out.push(text_filter(f.tag, &t.to_string()));
    }
    if let Some(d) = r.department {
        out.push(text_filter(f.department_id, &d.to_string()));
    }
    if let Some(region) = &r.region {
        out.push(text_filter(f.region, region));
    }
    if let Some(l) = &r.level {
        out.push(text_filter(f.level, l));
    }
    if let Some(t) = &r.item_type {
        out.push(text_filter(f.item_type, t));
    }
    if let Some(d) = r.min_depth {
        let range = RangeQuery::new(
            std::ops::Bound::Included(Term::from_field_u64(f.depth, u64::from(d))),
            std::ops::Bound::Included(Term::from_field_u64(f.depth, 5)),
        );
        out.push(filter(Box::new(range)));
    }
    if r.from.is_some() || r.to.is_some() {
        let at = |d: NaiveDate, end: bool| {
            let t = if end { d.and_hms_opt(23, 59, 59) } else { d.and_hms_opt(0, 0, 0) };
            let secs = t.map_or(0, |t| t.and_utc().timestamp());
            Term::from_field_date_for_search(f.changed, tantivy::DateTime::from_timestamp_secs(secs))
        };
        let lower = r.from.map_or(std::ops::Bound::Unbounded, |d| std::ops::Bound::Included(at(d, false)));
        let upper = r.to.map_or(std::ops::Bound::Unbounded, |d| std::ops::Bound::Included(at(d, true)));
        out.push(filter(Box::new(RangeQuery::new(lower, upper))));
    }
    out
}

/// The whole query for one category: the concepts (with `need` of them required), a bonus for
/// the exact name or phrase, and the filters.
fn build(f: &Fields, plan: &Plan, r: &SearchRequest, category: Option<Category>, need: usize) -> Box<dyn Query> {
    let mut clauses = filters(f, r, category);
    if plan.concepts.is_empty() {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    } else {
        let concepts: Vec<Box<dyn Query>> = plan.concepts.iter().map(|c| concept_query(f, c)).collect();
        let all = if concepts.len() == 1 {
            concepts.into_iter().next().unwrap_or_else(|| Box::new(AllQuery))
        } else {
            Box::new(BooleanQuery::with_minimum_required_clauses(
                concepts.into_iter().map(|q| (Occur::Should, q)).collect(),
                need.max(1),
            ))
        };
        clauses.push((Occur::Must, all));
        // The rest of the guide (conditions, materials) adds to a match but does not make one:
        // nearly every item asks for an ID card.
        for c in plan.concepts.iter().filter(|c| !c.latin) {
            clauses.push((Occur::Should, term(f.body, &c.text, 0.3)));
        }
        clauses.push((Occur::Should, term(f.exact, &plan.folded, 8.0)));
        if let Some(fixed) = &plan.did_you_mean {
            clauses.push((Occur::Should, term(f.exact, fixed, 6.0)));
        }
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Labels for facet values: departments, regions, tags.
#[derive(Debug, Default)]
pub struct Labels {
    /// By `dept:<id>`, `region:<code>`, `tag:<id>`.
    pub names: HashMap<String, String>,
}

impl Labels {
    fn get(&self, key: &str) -> Option<&str> {
        self.names.get(key).map(String::as_str)
    }
}

/// Recent facet tallies by search (the index generation is part of the key, so a commit makes
/// them stale; rules changes clear them).
#[derive(Debug, Default)]
pub(crate) struct TallyCache {
    entries: std::sync::Mutex<HashMap<String, Arc<Tallies>>>,
}

impl TallyCache {
    fn get(&self, key: &str) -> Option<Arc<Tallies>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
    }

    fn put(&self, key: String, tallies: Arc<Tallies>) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= 2_000 {
            entries.clear();
        }
        entries.insert(key, tallies);
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// Everything a search reads.
pub(crate) struct Context<'a> {
    pub tallies: &'a TallyCache,
    pub searcher: &'a Searcher,
    pub fields: &'a Fields,
    pub analyzer: &'a Analyzer,
    pub rules: &'a Rules,
    pub lexicon: &'a Lexicon,
    pub labels: &'a Labels,
}

/// Runs a search.
pub(crate) fn run(cx: &Context<'_>, r: &SearchRequest) -> Result<SearchResults, SearchError> {
    let f = cx.fields;
    let indexed =
        |field: Field, text: &str| cx.searcher.doc_freq(&Term::from_field_text(field, text)).is_ok_and(|n| n > 0);
    let mut plan = plan(&r.q, cx.analyzer, cx.rules, cx.lexicon, &indexed, f);
    plan.concepts.truncate(MAX_CONCEPTS);
    tracing::debug!(?plan, "search plan");
    // A word nothing in the index matches (a typo beyond repair, a word of chat) does not
    // hold the others back.
    if plan.concepts.len() > 1 {
        let matches: Vec<bool> = plan
            .concepts
            .iter()
            .map(|c| cx.searcher.search(&concept_query(f, c), &Count).is_ok_and(|n| n > 0))
            .collect();
        if matches.iter().any(|m| *m) {
            let mut keep = matches.into_iter();
            plan.concepts.retain(|_| keep.next().unwrap_or(true));
        }
    }
    let typed_something = !r.q.trim().is_empty();
    if typed_something && plan.concepts.is_empty() {
        // Only punctuation or symbols: nothing to look for.
        return Ok(SearchResults {
            query: plan.folded,
            category: r.category,
            total: 0,
            counts: Category::ALL.iter().map(|c| (*c, 0)).collect(),
            hits: Vec::new(),
            facets: Facets::default(),
            did_you_mean: None,
            relaxed: false,
            expanded: Vec::new(),
        });
    }
    let mut need = required(plan.concepts.len());
    let mut relaxed = false;
    // One pass without scores counts every category and tallies the facets of the one asked
    // for (kept for the next page or the other sort of the same search); then the page, scored.
    let tally = |need: usize| -> Result<Arc<Tallies>, SearchError> {
        // Everything the tally depends on: not the page, the page size or the order.
        let filters = (&r.audience, r.tag, r.department, &r.region, &r.level, &r.item_type, r.min_depth, r.from, r.to);
        let key = format!(
            "{}|{need}|{:?}|{:?}|{filters:?}",
            cx.searcher.generation().generation_id(),
            plan.concepts,
            r.category
        );
        if let Some(hit) = cx.tallies.get(&key) {
            return Ok(hit);
        }
        let fresh = Arc::new(
            cx.searcher.search(&build(f, &plan, r, None, need), &crate::tally::Tally { kind: r.category.kind() })?,
        );
        cx.tallies.put(key, fresh.clone());
        Ok(fresh)
    };
    let mut tallies = tally(need)?;
    if tallies.kind_count(r.category.kind()) == 0 && plan.concepts.len() >= 2 {
        need = 1;
        relaxed = true;
        tallies = tally(need)?;
    }
    let counts: Vec<(Category, usize)> =
        Category::ALL.iter().map(|c| (*c, usize::try_from(tallies.kind_count(c.kind())).unwrap_or(0))).collect();
    let query = build(f, &plan, r, Some(r.category), need);
    let page = TopDocs::with_limit(r.limit.max(1)).and_offset(r.offset);
    let addresses: Vec<DocAddress> = match r.sort {
        Sort::Relevance => {
            let collector = page.tweak_score(move |segment: &tantivy::SegmentReader| {
                let popularity = segment.fast_fields().u64("popularity").ok().map(|c| c.first_or_default_col(0));
                let name_len = segment.fast_fields().u64("name_len").ok().map(|c| c.first_or_default_col(0));
                move |doc: tantivy::DocId, score: tantivy::Score| {
                    let p = popularity.as_ref().map_or(0, |c| c.get_val(doc)) as f32;
                    let len = name_len.as_ref().map_or(0, |c| c.get_val(doc)) as f32;
                    // Popularity lifts a match a little and orders a browse without text; of two
                    // equal matches the shorter name, the more general item, comes first.
                    score * (1.0 + 0.08 * p.ln_1p()) / (1.0 + LENGTH_PRIOR * len) + p.ln_1p() * 1e-3
                }
            });
            cx.searcher.search(&query, &collector)?.into_iter().map(|(_, a)| a).collect()
        }
        Sort::Newest => {
            let collector = page.order_by_fast_field::<tantivy::DateTime>("changed", Order::Desc);
            cx.searcher.search(&query, &collector)?.into_iter().map(|(_, a)| a).collect()
        }
    };
    finish(cx, r, plan, counts, relaxed, addresses, &tallies)
}

fn finish(
    cx: &Context<'_>,
    r: &SearchRequest,
    plan: Plan,
    counts: Vec<(Category, usize)>,
    relaxed: bool,
    addresses: Vec<DocAddress>,
    facet_counts: &crate::tally::Tallies,
) -> Result<SearchResults, SearchError> {
    let needles = plan.needles();
    let mut hits = Vec::with_capacity(addresses.len());
    for address in addresses {
        let doc: TantivyDocument = cx.searcher.doc(address)?;
        hits.push(hit(cx.fields, &doc, &needles, false));
    }
    let total = counts.iter().find(|(c, _)| *c == r.category).map_or(0, |(_, n)| *n);
    if r.category == Category::Items && r.offset == 0 && r.sort == Sort::Relevance && total > 0 {
        // Pinned items that pass the filters, each at its position on the first page; the page
        // grows by them rather than losing a result to them.
        for (code, position) in cx.rules.best_bets(&plan.folded) {
            let mut clauses = filters(cx.fields, r, Some(Category::Items));
            clauses.push(text_filter(cx.fields.code, code));
            let q = BooleanQuery::new(clauses);
            if let Some((_, address)) =
                cx.searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?.into_iter().next()
            {
                let doc: TantivyDocument = cx.searcher.doc(address)?;
                hits.retain(|h| h.code != *code);
                hits.insert((position - 1).min(hits.len()), hit(cx.fields, &doc, &needles, true));
            }
        }
    }
    let relaxed = relaxed && total > 0;
    let mut expanded: Vec<String> = Vec::new();
    for alt in plan.concepts.iter().flat_map(|c| c.alternatives.iter()) {
        if !expanded.contains(alt) && plan.did_you_mean.as_ref() != Some(alt) && alt.chars().count() <= 12 {
            expanded.push(alt.clone());
        }
    }
    Ok(SearchResults {
        query: plan.folded,
        category: r.category,
        total,
        counts,
        hits,
        facets: facets(cx.labels, facet_counts),
        did_you_mean: plan.did_you_mean,
        relaxed,
        expanded,
    })
}

fn stored(doc: &TantivyDocument, field: Field) -> &str {
    doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default()
}

fn hit(f: &Fields, doc: &TantivyDocument, needles: &[String], pinned: bool) -> Hit {
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

fn facets(labels: &Labels, tallies: &crate::tally::Tallies) -> Facets {
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
