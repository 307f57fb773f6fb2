//! Understanding what was typed: folded, cut into concepts (words that belong together,
//! fillers dropped), each with its synonyms, its repair when it looks mistyped, and its pinyin.

use crate::analysis::{self, Analyzer};
use crate::lexicon::Lexicon;
use crate::request::MAX_QUERY_CHARS;
use crate::rules::Rules;
use crate::schema::Fields;
use tantivy::schema::Field;

/// At most this many concepts of a query are searched for (the rest of a long question adds
/// little and costs a clause each).
pub(crate) const MAX_CONCEPTS: usize = 8;

/// What the query understood.
#[derive(Debug, Default)]
pub(crate) struct Concept {
    /// The word as typed (folded).
    pub(crate) text: String,
    /// Synonyms and corrections.
    pub(crate) alternatives: Vec<String>,
    /// The dictionary words inside a longer word (许可证 → 许可), matched weakly.
    pub(crate) parts: Vec<String>,
    /// Typed in Latin letters.
    pub(crate) latin: bool,
    /// Not a known word: matched mostly by how it sounds.
    pub(crate) sounds_like: bool,
    /// Latin letters the index does not hold: matched with typos allowed.
    pub(crate) fuzzy: bool,
}

/// The understood query.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) folded: String,
    pub(crate) concepts: Vec<Concept>,
    pub(crate) did_you_mean: Option<String>,
}

impl Plan {
    pub(crate) fn needles(&self) -> Vec<String> {
        let mut needles = Vec::new();
        for c in &self.concepts {
            needles.push(c.text.clone());
            needles.extend(c.alternatives.iter().cloned());
        }
        needles
    }
}

/// Understands what was typed. `indexed(field, term)` tells whether the index holds a term.
pub(crate) fn plan(
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
