//! What the index knows as words, built from the indexed items on each node: as-you-type
//! suggestions, pinyin to words for "did you mean", and everyday phrases to the item names they
//! stand for.

use crate::analysis::{self, Analyzer};
use serde::Serialize;
use std::collections::HashMap;

/// One thing a suggestion can offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    /// What to show and search for.
    pub text: String,
    /// The item it names, when it names one.
    pub code: Option<String>,
}

#[derive(Debug, Clone)]
struct Entry {
    text: String,
    code: Option<String>,
    weight: u64,
}

/// An item as the lexicon takes it in.
#[derive(Debug, Clone)]
pub struct LexiconItem {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Short name and everyday phrases.
    pub aliases: Vec<String>,
    /// Popularity.
    pub popularity: u64,
}

/// Suggestions, pinyin and phrases of the indexed items.
#[derive(Debug, Default)]
pub struct Lexicon {
    entries: Vec<Entry>,
    /// (key, entry) sorted by key: folded text, full pinyin, initials.
    keys: Vec<(String, u32)>,
    /// Full pinyin of a word to the word seen most often with it.
    pinyin_words: HashMap<String, (String, u32)>,
    /// How many names and phrases each word appears in.
    words: HashMap<String, u32>,
    /// A folded everyday phrase or short name to the names of the items it stands for.
    aliases: HashMap<String, Vec<String>>,
}

impl Lexicon {
    /// Builds the lexicon of `items` (and department names, which are suggested too).
    pub fn build(analyzer: &Analyzer, items: &[LexiconItem], departments: &[String]) -> Lexicon {
        let mut lex = Lexicon::default();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut add = |lex: &mut Lexicon, text: &str, code: Option<&str>, weight: u64| {
            let folded = analysis::normalize(text);
            if folded.is_empty() {
                return;
            }
            if let Some(&n) = seen.get(&folded) {
                lex.entries[n].weight += weight;
                return;
            }
            seen.insert(folded, lex.entries.len());
            lex.entries.push(Entry { text: text.to_owned(), code: code.map(str::to_owned), weight });
        };
        for item in items {
            add(&mut lex, &item.name, Some(&item.code), item.popularity + 2);
            for alias in &item.aliases {
                add(&mut lex, alias, None, item.popularity + 1);
                lex.aliases.entry(analysis::normalize(alias)).or_default().push(item.name.clone());
            }
        }
        for d in departments {
            add(&mut lex, d, None, 1);
        }
        for (n, entry) in lex.entries.iter().enumerate() {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            let folded = analysis::normalize(&entry.text);
            let compact: String = folded.chars().filter(|c| !c.is_whitespace()).collect();
            for (full, initials) in analysis::readings(&crate::schema::strip_parentheses(&compact)).into_iter().take(2)
            {
                lex.keys.push((full, n));
                lex.keys.push((initials, n));
            }
            lex.keys.push((folded.clone(), n));
            for word in analyzer.cut(&folded) {
                if word.chars().count() >= 2 && word.chars().all(analysis::is_han) {
                    *lex.words.entry(word.clone()).or_default() += 1;
                }
            }
        }
        for (word, &count) in &lex.words {
            if let Some(full) = analysis::reading(word) {
                let slot = lex.pinyin_words.entry(full).or_insert_with(|| (word.clone(), 0));
                if count > slot.1 || (count == slot.1 && *word < slot.0) {
                    *slot = (word.clone(), count);
                }
            }
        }
        lex.keys.sort_unstable();
        lex.keys.dedup();
        lex
    }

    /// Up to `limit` suggestions starting with the folded `prefix` (in characters, pinyin or
    /// initials), most popular first.
    pub fn suggest(&self, prefix: &str, limit: usize) -> Vec<Suggestion> {
        let prefix: String = prefix.chars().filter(|c| !c.is_whitespace() && *c != '\'').collect();
        if prefix.is_empty() {
            return Vec::new();
        }
        let start = self.keys.partition_point(|(k, _)| k.as_str() < prefix.as_str());
        let mut found: Vec<u32> =
            self.keys[start..].iter().take_while(|(k, _)| k.starts_with(&prefix)).map(|(_, n)| *n).collect();
        found.sort_unstable();
        found.dedup();
        found.sort_by(|a, b| {
            let (a, b) = (&self.entries[*a as usize], &self.entries[*b as usize]);
            b.weight.cmp(&a.weight).then(a.text.chars().count().cmp(&b.text.chars().count())).then(a.text.cmp(&b.text))
        });
        found
            .into_iter()
            .take(limit)
            .map(|n| {
                let e = &self.entries[n as usize];
                Suggestion { text: e.text.clone(), code: e.code.clone() }
            })
            .collect()
    }

    /// Whether `word` appears in some name or phrase.
    pub fn knows(&self, word: &str) -> bool {
        self.words.contains_key(word)
    }

    /// The word most often read as `pinyin` (full, without tones).
    pub fn word_for_pinyin(&self, pinyin: &str) -> Option<&str> {
        self.pinyin_words.get(pinyin).map(|(w, _)| w.as_str())
    }

    /// The word whose pinyin is nearest to `typed` (a pinyin with a typo), if one is near
    /// enough: one edit for up to seven letters, two beyond.
    pub fn nearest_pinyin(&self, typed: &str) -> Option<&str> {
        if typed.len() < 4 {
            return None;
        }
        let most = if typed.len() <= 7 { 1 } else { 2 };
        let mut best: Option<(usize, u32, &str)> = None;
        for (pinyin, (word, count)) in &self.pinyin_words {
            if pinyin.len().abs_diff(typed.len()) > most {
                continue;
            }
            let d = strsim::damerau_levenshtein(pinyin, typed);
            if d <= most
                && best.is_none_or(|(bd, bc, bw)| {
                    (d, std::cmp::Reverse(*count), word.as_str()) < (bd, std::cmp::Reverse(bc), bw)
                })
            {
                best = Some((d, *count, word));
            }
        }
        best.map(|(_, _, w)| w)
    }

    /// Splits run-together pinyin into the words it reads as (banlixingshizheng → 办理, 行驶证),
    /// longest known reading first; `None` when some part reads as no word.
    pub fn split_pinyin(&self, typed: &str) -> Option<Vec<&str>> {
        let mut out = Vec::new();
        let mut rest = typed;
        while !rest.is_empty() {
            let mut found = None;
            for end in (2..=rest.len().min(30)).rev() {
                if let Some(word) = rest.get(..end).and_then(|p| self.word_for_pinyin(p)) {
                    found = Some((end, word));
                    break;
                }
            }
            let (end, word) = found?;
            out.push(word);
            rest = &rest[end..];
        }
        Some(out)
    }

    /// The names of the items an everyday phrase or short name stands for.
    pub fn alias_names(&self, folded: &str) -> &[String] {
        self.aliases.get(folded).map(Vec::as_slice).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        let analyzer = Analyzer::new();
        let item = |code: &str, name: &str, aliases: &[&str], popularity| LexiconItem {
            code: code.to_owned(),
            name: name.to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            popularity,
        };
        Lexicon::build(
            &analyzer,
            &[
                item("A1", "机动车驾驶证补证", &["驾照补办"], 10),
                item("A2", "机动车行驶证补领", &[], 3),
                item("A3", "驾驶人考试预约", &[], 50),
            ],
            &["广东省公安厅".to_owned()],
        )
    }

    #[test]
    fn suggestions_by_characters_pinyin_and_initials() {
        let lex = lexicon();
        let texts = |q: &str| lex.suggest(q, 5).into_iter().map(|s| s.text).collect::<Vec<_>>();
        assert_eq!(texts("机动车"), vec!["机动车驾驶证补证", "机动车行驶证补领"]);
        assert_eq!(texts("jiadong"), Vec::<String>::new());
        assert_eq!(texts("jidongche"), vec!["机动车驾驶证补证", "机动车行驶证补领"]);
        assert_eq!(texts("jzbb"), vec!["驾照补办"]);
        assert_eq!(texts("驾"), vec!["驾驶人考试预约", "驾照补办"]);
        assert_eq!(lex.suggest("jidongchejia", 5)[0].code.as_deref(), Some("A1"));
        assert!(texts("").is_empty());
    }

    #[test]
    fn pinyin_finds_words_and_typos() {
        let lex = lexicon();
        assert_eq!(lex.word_for_pinyin("jiashizheng"), Some("驾驶证"));
        assert_eq!(lex.nearest_pinyin("jiashizeng"), Some("驾驶证"));
        assert_eq!(lex.nearest_pinyin("jsz"), None);
        assert_eq!(lex.split_pinyin("jidongchejiashizheng"), Some(vec!["机动车", "驾驶证"]));
        assert_eq!(lex.split_pinyin("qqqq"), None);
        assert_eq!(lex.alias_names("驾照补办"), ["机动车驾驶证补证".to_owned()]);
    }
}
