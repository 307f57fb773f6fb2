//! Finding the names that make a PDF do something when it is opened, in raw bytes and in
//! decoded streams fed a chunk at a time (a name split between two chunks is still found).
//!
//! No tokeniser state beyond the current name is kept, so no trick with strings or comments
//! can put the scanner out of step: every `/` starts a name, and the name ends at the next white
//! space or delimiter, its `#xx` escapes decoded (ISO 32000-1 §7.3.5) before it is compared.

use super::syntax::{Parser, Value, decode_name, is_regular};

/// Long names, refused wherever they appear, even in binary data (seven or more bytes with the
/// slash: a chance match in a 10 MB file of compressed bytes is far rarer than one in a million).
const LONG: [&[u8]; 5] = [b"JavaScript", b"Launch", b"RichMedia", b"EmbeddedFile", b"EmbeddedFiles"];

/// Short names, refused in PDF syntax (outside stream data, in object streams) but not looked
/// for in binary data, where `/JS` turns up by chance in one 10 MB file in three.
const SHORT: [&[u8]; 3] = [b"JS", b"AA", b"XFA"];

/// How many bytes after `/OpenAction` are read to judge it.
const OPEN_ACTION_WINDOW: usize = 512;

/// The longest name compared (longer ones are none of the above).
const MAX_NAME: usize = 64;

/// What the scanner found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Finding {
    /// A name that runs something or carries a file.
    Active(String),
    /// `/OpenAction` with an action other than going to a page.
    OpenAction,
    /// `/Encrypt` (raw bytes only: the file's streams cannot be read without the key).
    Encrypted,
}

/// Looks for refused names in bytes fed in order.
#[derive(Debug, Default)]
pub(crate) struct NameScanner {
    /// The raw bytes of the name being read, after its slash.
    name: Vec<u8>,
    in_name: bool,
    /// Bytes following each `/OpenAction` not yet judged.
    open_actions: Vec<Vec<u8>>,
    /// The first thing found.
    pub(crate) finding: Option<Finding>,
}

impl NameScanner {
    /// Feeds bytes; `short` says whether they are PDF syntax (short names looked for too) and
    /// `raw` whether they are the file's own bytes (where `/Encrypt` means what it says).
    pub(crate) fn feed(&mut self, bytes: &[u8], short: bool, raw: bool) {
        if self.finding.is_some() {
            return;
        }
        if !self.open_actions.is_empty() {
            for pending in &mut self.open_actions {
                let take = (OPEN_ACTION_WINDOW - pending.len()).min(bytes.len());
                pending.extend_from_slice(&bytes[..take]);
            }
            self.judge_open_actions(false);
        }
        let mut i = 0;
        while i < bytes.len() {
            if self.in_name {
                let start = i;
                while i < bytes.len() && is_regular(bytes[i]) {
                    i += 1;
                }
                if self.name.len() <= MAX_NAME * 3 {
                    let room = (MAX_NAME * 3 + 1 - self.name.len()).min(i - start);
                    self.name.extend_from_slice(&bytes[start..start + room]);
                }
                if i == bytes.len() {
                    return;
                }
                self.end_name(&bytes[i..], short, raw);
                if self.finding.is_some() {
                    return;
                }
            }
            // Jump to the next slash.
            match bytes[i..].iter().position(|&b| b == b'/') {
                Some(at) => {
                    i += at + 1;
                    self.in_name = true;
                    self.name.clear();
                }
                None => return,
            }
        }
    }

    fn end_name(&mut self, rest: &[u8], short: bool, raw: bool) {
        self.in_name = false;
        if self.name.len() > MAX_NAME * 3 {
            return;
        }
        let name = decode_name(&self.name);
        if LONG.contains(&name.as_slice()) || (short && SHORT.contains(&name.as_slice())) {
            self.finding = Some(Finding::Active(String::from_utf8_lossy(&name).into_owned()));
        } else if raw && name == b"Encrypt" {
            self.finding = Some(Finding::Encrypted);
        } else if name == b"OpenAction" {
            if self.open_actions.len() >= 8 {
                self.finding = Some(Finding::OpenAction);
                return;
            }
            let take = OPEN_ACTION_WINDOW.min(rest.len());
            self.open_actions.push(rest[..take].to_vec());
            self.judge_open_actions(false);
        }
    }

    /// Judges the pending `/OpenAction`s whose window is full (all of them at the end).
    fn judge_open_actions(&mut self, at_end: bool) {
        let mut pending = std::mem::take(&mut self.open_actions);
        pending.retain(|after| {
            if !at_end && after.len() < OPEN_ACTION_WINDOW {
                return true;
            }
            if !judge_open_action(after) {
                self.finding.get_or_insert(Finding::OpenAction);
            }
            false
        });
        self.open_actions = pending;
    }

    /// Ends the bytes: a name or an `/OpenAction` cut off by the end is judged with what came.
    pub(crate) fn finish(&mut self, short: bool, raw: bool) {
        if self.in_name && self.finding.is_none() {
            self.end_name(b"", short, raw);
        }
        self.in_name = false;
        self.name.clear();
        self.judge_open_actions(true);
    }
}

/// Whether what follows `/OpenAction` is harmless: a destination (`[3 0 R /XYZ null null 0]`, as
/// Word, WPS and "print to PDF" write) or a go-to action; any other action is refused. A
/// reference passes here: the parsed file's catalog is judged on the object it names.
fn judge_open_action(after: &[u8]) -> bool {
    let mut p = Parser::new(after, 0);
    p.skip_trivia();
    if p.starts_with(b"[") || p.starts_with(b"null") {
        return true;
    }
    if p.starts_with(b"<<") {
        p.pos += 2;
        // Read entries until `/S` (the window may cut a long action short: then refused).
        loop {
            p.skip_trivia();
            if !p.starts_with(b"/") {
                return false;
            }
            let Some(Value::Name(key)) = p.value() else { return false };
            let Some(value) = p.value() else { return false };
            if key == b"S" {
                return matches!(value, Value::Name(s) if s == b"GoTo");
            }
        }
    }
    matches!(p.value(), Some(Value::Ref(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]], short: bool) -> NameScanner {
        let mut s = NameScanner::default();
        for c in chunks {
            s.feed(c, short, true);
        }
        s.finish(short, true);
        s
    }

    fn found(text: &[u8]) -> Option<Finding> {
        // Whole, and cut at every place: the answer must not change.
        let whole = scan(&[text], true).finding;
        for cut in 0..text.len() {
            assert_eq!(scan(&[&text[..cut], &text[cut..]], true).finding, whole, "cut at {cut}");
        }
        whole
    }

    #[test]
    fn escaped_and_split_names_are_found() {
        assert_eq!(found(b"<< /S /J#61vaScript >>"), Some(Finding::Active("JavaScript".into())));
        assert_eq!(found(b"<</J#53 (x)>>"), Some(Finding::Active("JS".into())));
        assert_eq!(found(b"/Type/Annot/AA<<>>"), Some(Finding::Active("AA".into())));
        assert_eq!(found(b"/AcroForm << /XFA 5 0 R >>"), Some(Finding::Active("XFA".into())));
        assert_eq!(found(b"/Names << /EmbeddedFiles 3 0 R >>"), Some(Finding::Active("EmbeddedFiles".into())));
        assert_eq!(found(b"/Trailer << /Encrypt 9 0 R >>"), Some(Finding::Encrypted));
        assert_eq!(found(b"/JSX /AAA /JavaScripts /Font /Launched"), None);
    }

    #[test]
    fn short_names_are_only_looked_for_in_syntax() {
        assert_eq!(scan(&[b"\x01/JS\x02"], false).finding, None);
        assert_eq!(scan(&[b"\x01/JavaScript\x00"], false).finding, Some(Finding::Active("JavaScript".into())));
    }

    #[test]
    fn open_actions_are_told_apart() {
        assert_eq!(found(b"<< /Type /Catalog /OpenAction [3 0 R /XYZ null null 0] >>"), None);
        assert_eq!(found(b"/OpenAction<</D[3 0 R/Fit]/S/GoTo>>"), None);
        assert_eq!(found(b"/OpenAction << /S /URI /URI (http://example.com) >>"), Some(Finding::OpenAction));
        assert_eq!(found(b"/OpenAction << /S /JavaScript /JS (x) >>"), Some(Finding::Active("JavaScript".into())));
        assert_eq!(found(b"/OpenAction /Launch"), Some(Finding::Active("Launch".into())));
        assert_eq!(found(b"/OpenAction 12 0 R >>"), None);
        assert_eq!(found(b"/Open#41ction<< /S /SubmitForm >>"), Some(Finding::OpenAction));
    }
}
