//! How text becomes terms: folding (traditional to simplified, full-width to half-width, case),
//! cutting into words with jieba and a government dictionary, character n-grams, and pinyin.
//!
//! The index is fed terms this module makes, joined by spaces, so that indexing and querying
//! cut text exactly alike.

use jieba_rs::Jieba;
use pinyin::ToPinyinMulti;
use std::sync::RwLock;

/// Government words bundled with the crate (see the file's header).
const GOV_WORDS: &str = include_str!("../data/gov-words.txt");

/// At most this many pinyin readings of one word (its characters' heteronyms multiply).
const MAX_READINGS: usize = 4;

/// Words people add to a query that say nothing about what they look for.
const FILLERS: &[&str] = &[
    "我",
    "我要",
    "我想",
    "想",
    "要",
    "怎么",
    "怎么办",
    "怎样",
    "如何",
    "在哪",
    "在哪里",
    "哪里",
    "去哪",
    "去哪里",
    "哪儿",
    "需要",
    "什么",
    "的",
    "了",
    "吗",
    "呢",
    "啊",
    "吧",
    "请问",
    "咨询",
    "可以",
    "能",
    "能否",
    "是否",
    "一下",
    "办",
    "办理",
    "手续",
    "流程",
    "怎么弄",
    "该",
    "应该",
    "给",
    "帮",
    "帮忙",
    "我们",
    "你好",
    "网上",
    "如何办理",
    "个",
    "一个",
    "开个",
    "办个",
    "去",
    "哪些",
    "什么样",
    "有没有",
    "多久",
    "好了没",
    "没有",
    "了吗",
    "开",
    "办证",
    "证",
    "考",
    "装",
    "审批吗",
    "要不要",
    "怎么领",
    "领",
    "在",
    "哪",
    "哪开",
    "到",
    "和",
    "与",
    "及",
    "从",
    "把",
    "让",
    "向",
    "还",
    "也",
    "都",
    "就",
    "才",
    "又",
];

/// Folds text for matching: traditional characters to simplified, full-width letters, digits and
/// punctuation to half-width, letters to lower case, runs of space to one.
pub fn normalize(text: &str) -> String {
    let mut half = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        };
        half.extend(c.to_lowercase());
    }
    let simplified = if half.chars().any(is_han) { fast2s::convert(&half) } else { half };
    simplified.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `c` is a CJK ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FA1F}')
}

/// Whether a term carries meaning (a letter, digit or ideograph), not only punctuation.
fn meaningful(word: &str) -> bool {
    word.chars().any(char::is_alphanumeric)
}

/// Whether `word` is a query filler (我要, 怎么办 …).
pub fn is_filler(word: &str) -> bool {
    FILLERS.contains(&word)
}

/// The word cutter: jieba's dictionary, the government words and the catalogue's words.
#[derive(Debug)]
pub struct Analyzer {
    jieba: RwLock<Jieba>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::new()
    }
}

impl Analyzer {
    /// jieba's dictionary with the government words.
    pub fn new() -> Analyzer {
        let mut jieba = Jieba::new();
        for word in GOV_WORDS.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            jieba.add_word(word, None, None);
        }
        Analyzer { jieba: RwLock::new(jieba) }
    }

    /// Adds words that must stay whole (item names, short names, phrases, departments) when
    /// the dictionary does not have them yet. Words are folded first; one character or more than
    /// twelve are left out.
    pub fn add_words<'a>(&self, words: impl IntoIterator<Item = &'a str>) {
        let words: Vec<String> = words
            .into_iter()
            .map(normalize)
            .filter(|w| {
                let n = w.chars().count();
                (2..=12).contains(&n) && w.chars().all(is_han)
            })
            .collect();
        if words.is_empty() {
            return;
        }
        let missing: Vec<&String> = {
            let jieba = self.jieba.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            words.iter().filter(|w| !jieba.has_word(w)).collect()
        };
        if missing.is_empty() {
            return;
        }
        let mut jieba = self.jieba.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for word in missing {
            jieba.add_word(word, None, None);
        }
    }

    /// The words of folded text for the index and for matching: jieba's search mode, which gives
    /// a long word and the dictionary words inside it (营业执照 → 营业, 执照, 营业执照).
    pub fn words(&self, folded: &str) -> Vec<String> {
        let jieba = self.jieba.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        jieba
            .cut_for_search(folded, true)
            .into_iter()
            .map(|t| t.word.trim())
            .filter(|w| meaningful(w))
            .map(str::to_owned)
            .collect()
    }

    /// The words of folded text as a reader would cut them (jieba's precise mode): the concepts of
    /// a query.
    pub fn cut(&self, folded: &str) -> Vec<String> {
        let jieba = self.jieba.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        jieba
            .cut(folded, true)
            .into_iter()
            .map(|t| t.word.trim())
            .filter(|w| meaningful(w))
            .map(str::to_owned)
            .collect()
    }

    /// Whether the dictionary knows `word`.
    pub fn knows(&self, word: &str) -> bool {
        self.jieba.read().unwrap_or_else(std::sync::PoisonError::into_inner).has_word(word)
    }
}

/// Character unigrams and bigrams of the ideograph runs of folded text, and its Latin or digit
/// runs whole: what matches when words are cut differently.
pub fn grams(folded: &str) -> Vec<String> {
    let mut grams = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut latin = String::new();
    let flush_run = |run: &mut Vec<char>, grams: &mut Vec<String>| {
        for (i, c) in run.iter().enumerate() {
            grams.push(c.to_string());
            if let Some(next) = run.get(i + 1) {
                grams.push([*c, *next].iter().collect());
            }
        }
        run.clear();
    };
    for c in folded.chars() {
        if is_han(c) {
            if !latin.is_empty() {
                grams.push(std::mem::take(&mut latin));
            }
            run.push(c);
        } else {
            flush_run(&mut run, &mut grams);
            if c.is_alphanumeric() {
                latin.push(c);
            } else if !latin.is_empty() {
                grams.push(std::mem::take(&mut latin));
            }
        }
    }
    flush_run(&mut run, &mut grams);
    if !latin.is_empty() {
        grams.push(latin);
    }
    grams
}

/// The bigrams of an ideograph word (its one character when it has one).
pub fn bigrams_of(word: &str) -> Vec<String> {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 2 {
        return vec![word.to_owned()];
    }
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// A word's pinyin readings, full and by initials (驾驶证 → jiashizheng, jsz), every heteronym
/// combination up to a few (银行 → yinhang, yinxing). Words with a character that has no pinyin
/// have none; digits and Latin letters stay as they are.
pub fn readings(word: &str) -> Vec<(String, String)> {
    let mut combos: Vec<(String, String)> = vec![(String::new(), String::new())];
    for (c, multi) in word.chars().zip(word.to_pinyin_multi()) {
        match multi {
            Some(multi) => {
                let mut plains: Vec<String> = Vec::new();
                for p in multi {
                    // ü is typed v on every keyboard (lv for 律).
                    let plain = p.plain().replace('ü', "v");
                    if !plains.contains(&plain) {
                        plains.push(plain);
                    }
                }
                let mut next = Vec::new();
                for (full, initials) in &combos {
                    for plain in &plains {
                        if next.len() < MAX_READINGS {
                            next.push((
                                format!("{full}{plain}"),
                                format!("{initials}{}", plain.get(..1).unwrap_or_default()),
                            ));
                        }
                    }
                }
                combos = next;
            }
            None if c.is_ascii_alphanumeric() => {
                for (full, initials) in &mut combos {
                    full.push(c);
                    initials.push(c);
                }
            }
            None => return Vec::new(),
        }
    }
    combos.retain(|(full, _)| !full.is_empty());
    combos
}

/// The first (most common) full reading of a word, if it has one.
pub fn reading(word: &str) -> Option<String> {
    readings(word).into_iter().next().map(|(full, _)| full)
}

/// Whether a query is typed in Latin letters (pinyin, initials) with perhaps spaces and digits.
pub fn is_latin(folded: &str) -> bool {
    folded.chars().any(|c| c.is_ascii_alphabetic())
        && folded.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '\'')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_makes_traditional_full_width_and_case_alike() {
        assert_eq!(normalize("駕駛證"), "驾驶证");
        assert_eq!(normalize("ＪＩＡ　ＳＨＩ"), "jia shi");
        assert_eq!(normalize("  營業執照  補辦 "), "营业执照 补办");
        assert_eq!(normalize("ICP"), "icp");
    }

    #[test]
    fn government_words_stay_whole() {
        let analyzer = Analyzer::new();
        for word in ["营业执照", "一网通办", "港澳通行证", "公积金"] {
            assert!(analyzer.cut(word).contains(&word.to_owned()), "{word}: {:?}", analyzer.cut(word));
            assert!(analyzer.words(word).contains(&word.to_owned()));
        }
        let words = analyzer.words("营业执照补办");
        assert!(words.contains(&"营业执照".to_owned()) && words.contains(&"执照".to_owned()), "{words:?}");
    }

    #[test]
    fn catalogue_words_join_the_dictionary() {
        let analyzer = Analyzer::new();
        assert!(!analyzer.cut("航标调整许可").contains(&"航标调整".to_owned()));
        analyzer.add_words(["航标调整", "x", "航"]);
        assert!(analyzer.cut("航标调整许可").contains(&"航标调整".to_owned()));
    }

    #[test]
    fn punctuation_is_not_a_word() {
        let analyzer = Analyzer::new();
        assert!(analyzer.words("（）《》，。!?*:\"").is_empty());
        assert_eq!(analyzer.cut("身份证？"), vec!["身份证"]);
    }

    #[test]
    fn grams_cover_every_character_pair() {
        assert_eq!(grams("护照abc办"), vec!["护", "护照", "照", "abc", "办"]);
        assert_eq!(bigrams_of("驾驶证"), vec!["驾驶", "驶证"]);
        assert_eq!(bigrams_of("证"), vec!["证"]);
    }

    #[test]
    fn pinyin_readings_full_and_initials() {
        assert_eq!(readings("驾驶证")[0], ("jiashizheng".to_owned(), "jsz".to_owned()));
        let bank = readings("银行");
        assert!(bank.iter().any(|(f, _)| f == "yinhang") && bank.iter().any(|(f, _)| f == "yinxing"), "{bank:?}");
        assert!(readings("重庆").iter().any(|(f, _)| f == "chongqing"));
        assert_eq!(reading("b2b证").as_deref(), Some("b2bzheng"));
        assert!(readings("，").is_empty());
        assert!(readings("长长长长长长").len() <= MAX_READINGS);
        assert_eq!(reading("律师").as_deref(), Some("lvshi"));
    }

    #[test]
    fn latin_queries_are_told_apart() {
        assert!(is_latin("jiashizheng"));
        assert!(is_latin("jia shi zheng"));
        assert!(!is_latin("驾驶证"));
        assert!(!is_latin("123"));
        assert!(!is_latin("ICP许可"));
    }
}
