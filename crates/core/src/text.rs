//! The one normalisation of text that people type, used on every form and JSON body the hall
//! receives (the web layer applies it before any handler sees the text) and by validators.
//!
//! It removes what a reader cannot see but a screen obeys: the bidirectional controls that can
//! make "invoice<U+202E>fdp.exe" read as "invoiceexe.pdf" on a staff member's page (U+202A–U+202E,
//! U+2066–U+2069, U+200E, U+200F, U+061C), zero-width characters (U+200B–U+200D, U+2060,
//! U+FEFF), and control characters other than tab and line breaks. Nothing else changes.

use std::borrow::Cow;

/// Whether `c` is removed from typed text.
pub fn is_hidden(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200B}'..='\u{200F}'
            | '\u{061C}'
            | '\u{2060}'
            | '\u{FEFF}'
    ) || (c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// `text` without hidden characters (borrowed when there were none).
pub fn clean(text: &str) -> Cow<'_, str> {
    if text.chars().any(is_hidden) {
        Cow::Owned(text.chars().filter(|c| !is_hidden(*c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn direction_overrides_and_invisible_characters_go() {
        assert_eq!(clean("张\u{202E}三"), "张三");
        assert_eq!(clean("\u{2066}有限公司\u{2069}"), "有限公司");
        assert_eq!(clean("a\u{200B}b\u{200F}c\u{FEFF}\u{061C}"), "abc");
        assert_eq!(clean("第一行\r\n第二行\t止"), "第一行\r\n第二行\t止");
        assert_eq!(clean("bell\u{7}"), "bell");
        assert!(matches!(clean("平常的文字"), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn cleaning_is_idempotent_and_leaves_nothing_hidden(s in "\\PC*[\u{202A}-\u{202E}\u{2066}-\u{2069}]?\\PC*") {
            let once = clean(&s).into_owned();
            prop_assert!(!once.chars().any(is_hidden));
            prop_assert_eq!(clean(&once).into_owned(), once);
        }
    }
}
