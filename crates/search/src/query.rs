//! Running a search: the query built from the understood concepts (words, grams, pinyin,
//! synonyms), the filters, one unscored pass that counts the categories and tallies the facets,
//! then the scored page with best bets.

use crate::SearchError;
use crate::analysis::{self, Analyzer};
use crate::lexicon::Lexicon;
use crate::plan::{Concept, MAX_CONCEPTS, Plan, plan};
use crate::rules::Rules;
use crate::schema::{Category, Fields};
use crate::tally::Tallies;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::Arc;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

pub use crate::request::{MAX_LIMIT, MAX_OFFSET, MAX_QUERY_CHARS, SearchParams, SearchRequest, Sort};
pub use crate::results::{FacetCount, Facets, Hit, SearchResults};
use crate::results::{facets, hit};

/// How much a longer name lowers a score, per character.
const LENGTH_PRIOR: f32 = 0.03;

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
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
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
    pub(crate) fn get(&self, key: &str) -> Option<Arc<Tallies>> {
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
