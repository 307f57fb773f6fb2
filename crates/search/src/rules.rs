//! The administrators' rules held in memory on each node: synonym groups and best bets.

use crate::store::{BestBet, SynonymGroup};
use std::collections::HashMap;

/// Synonyms by word and best bets by query.
#[derive(Debug, Default)]
pub struct Rules {
    groups: Vec<Vec<String>>,
    by_word: HashMap<String, Vec<usize>>,
    longest: usize,
    best_bets: HashMap<String, Vec<(String, usize)>>,
    /// Full pinyin and initials of the groups' words to the word.
    pinyin: HashMap<String, String>,
}

impl Rules {
    /// Rules from the stored groups and best bets.
    pub fn new(groups: &[SynonymGroup], bets: &[BestBet]) -> Rules {
        let mut rules = Rules::default();
        for group in groups {
            let words: Vec<String> = group.words().into_iter().map(str::to_owned).collect();
            let n = rules.groups.len();
            for word in &words {
                rules.longest = rules.longest.max(word.chars().count());
                rules.by_word.entry(word.clone()).or_default().push(n);
                if let Some((full, initials)) = crate::analysis::readings(word).into_iter().next() {
                    rules.pinyin.entry(full).or_insert_with(|| word.clone());
                    if initials.len() >= 3 {
                        rules.pinyin.entry(initials).or_insert_with(|| word.clone());
                    }
                }
            }
            rules.groups.push(words);
        }
        let mut bets: Vec<&BestBet> = bets.iter().collect();
        bets.sort_by_key(|b| (b.query.clone(), b.position));
        for bet in bets {
            let position = usize::try_from(bet.position.max(1)).unwrap_or(1);
            rules.best_bets.entry(bet.query.clone()).or_default().push((bet.item_code.clone(), position));
        }
        rules
    }

    /// The words that mean the same as `word` (not `word` itself).
    pub fn synonyms(&self, word: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for &g in self.by_word.get(word).map(Vec::as_slice).unwrap_or_default() {
            for w in &self.groups[g] {
                if w != word && !out.contains(&w.as_str()) {
                    out.push(w);
                }
            }
        }
        out
    }

    /// Whether `text` is a word of some group.
    pub fn has(&self, text: &str) -> bool {
        self.by_word.contains_key(text)
    }

    /// The longest word of any group, in characters.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// The synonym word read as `pinyin` (full or initials of three letters or more).
    pub fn word_for_pinyin(&self, pinyin: &str) -> Option<&str> {
        self.pinyin.get(pinyin).map(String::as_str)
    }

    /// The synonym word whose full pinyin is one edit (two beyond seven letters) from `typed`.
    pub fn nearest_pinyin(&self, typed: &str) -> Option<&str> {
        if typed.len() < 5 {
            return None;
        }
        let most = if typed.len() <= 7 { 1 } else { 2 };
        self.pinyin
            .iter()
            .filter(|(p, _)| p.len().abs_diff(typed.len()) <= most)
            .map(|(p, w)| (strsim::damerau_levenshtein(p, typed), w))
            .filter(|(d, _)| *d <= most)
            .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
            .map(|(_, w)| w.as_str())
    }

    /// The items pinned to a folded query with their positions (from 1), in order.
    pub fn best_bets(&self, query: &str) -> &[(String, usize)] {
        self.best_bets.get(query).map(Vec::as_slice).unwrap_or_default()
    }
}
