//! Just enough PDF syntax (ISO 32000-1 §7.2–7.3) for the pre-scan: white space, delimiters,
//! names with their `#xx` escapes, and the direct objects a stream's dictionary holds. Lenient
//! where the parser behind the check (hayro-syntax) is lenient: an unknown keyword reads as null.

/// White space (ISO 32000-1 Table 1).
pub(crate) fn is_white(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

/// Delimiters (ISO 32000-1 Table 2).
pub(crate) fn is_delimiter(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

/// Neither white space nor a delimiter: part of a name, number or keyword.
pub(crate) fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delimiter(b)
}

pub(crate) fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A name's bytes as written (without the slash) made plain: `J#61vaScript` is `JavaScript`
/// (ISO 32000-1 §7.3.5). A `#` not followed by two hex digits stays, as readers keep it.
pub(crate) fn decode_name(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'#'
            && let (Some(hi), Some(lo)) =
                (raw.get(i + 1).copied().and_then(hex_digit), raw.get(i + 2).copied().and_then(hex_digit))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// A direct object, as far as the pre-scan needs one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool,
    Int(i64),
    Real,
    Name(Vec<u8>),
    String,
    Array(Vec<Value>),
    Dict(Dict),
    /// `n g R`: the object number.
    Ref(u32),
}

/// A dictionary's entries in the order written (a key may repeat: readers differ on which wins).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Dict(pub(crate) Vec<(Vec<u8>, Value)>);

impl Dict {
    /// The first value under `key`.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// How many times `key` is written.
    pub(crate) fn count(&self, key: &[u8]) -> usize {
        self.0.iter().filter(|(k, _)| k == key).count()
    }

    /// Whether any value under `key` is the name `name`.
    pub(crate) fn has_name(&self, key: &[u8], name: &[u8]) -> bool {
        self.0.iter().any(|(k, v)| k == key && matches!(v, Value::Name(n) if n == name))
    }

    /// The value under `key` when it is a whole number.
    pub(crate) fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }
}

/// Nesting deeper than this is refused by the parser (a stream dictionary is two deep).
const MAX_DEPTH: usize = 32;

/// Reads objects from `data` starting at `pos`.
#[derive(Debug)]
pub(crate) struct Parser<'a> {
    data: &'a [u8],
    pub(crate) pos: usize,
    /// Whether a literal string or a comment was read (they can hide tokens from one reader and
    /// not another).
    pub(crate) saw_text: bool,
}

impl<'a> Parser<'a> {
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Parser { data, pos, saw_text: false }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    pub(crate) fn starts_with(&self, tag: &[u8]) -> bool {
        self.data.get(self.pos..).is_some_and(|rest| rest.starts_with(tag))
    }

    /// Skips white space and comments.
    pub(crate) fn skip_trivia(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                self.saw_text = true;
                while self.peek().is_some_and(|b| b != b'\r' && b != b'\n') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn regular_run(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    fn unsigned(&mut self) -> Option<u64> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.pos += 1;
        }
        (self.pos > start).then_some(n)
    }

    /// After a whole number: ` g R` makes it a reference.
    fn reference_tail(&mut self) -> bool {
        let save = self.pos;
        let mut p = Parser::new(self.data, self.pos);
        p.skip_trivia();
        if p.pos > save && p.unsigned().is_some() {
            p.skip_trivia();
            if p.peek() == Some(b'R') && !p.data.get(p.pos + 1).copied().is_some_and(is_regular) {
                self.pos = p.pos + 1;
                self.saw_text |= p.saw_text;
                return true;
            }
        }
        false
    }

    /// Reads one object; `None` when the bytes are not one.
    pub(crate) fn value(&mut self) -> Option<Value> {
        self.value_at(0)
    }

    fn value_at(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_trivia();
        match self.peek()? {
            b'/' => {
                self.pos += 1;
                Some(Value::Name(decode_name(self.regular_run())))
            }
            b'<' if self.starts_with(b"<<") => {
                self.pos += 2;
                self.dict_body(depth + 1).map(Value::Dict)
            }
            b'<' => {
                // Hex digits only: nothing can hide in it.
                self.pos += 1;
                while let Some(b) = self.peek() {
                    self.pos += 1;
                    if b == b'>' {
                        return Some(Value::String);
                    }
                    if !is_white(b) && hex_digit(b).is_none() {
                        return None;
                    }
                }
                None
            }
            b'(' => {
                self.saw_text = true;
                self.pos += 1;
                let mut open = 1usize;
                while let Some(b) = self.peek() {
                    self.pos += 1;
                    match b {
                        b'\\' => self.pos += 1,
                        b'(' => open += 1,
                        b')' => {
                            open -= 1;
                            if open == 0 {
                                return Some(Value::String);
                            }
                        }
                        _ => {}
                    }
                }
                None
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_trivia();
                    match self.peek()? {
                        b']' => {
                            self.pos += 1;
                            return Some(Value::Array(items));
                        }
                        _ => items.push(self.value_at(depth + 1)?),
                    }
                }
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => {
                let token = self.regular_run();
                if token.contains(&b'.') {
                    return Some(Value::Real);
                }
                let text = std::str::from_utf8(token).ok()?;
                let n: i64 = text.parse().ok()?;
                if n >= 0 && token.iter().all(u8::is_ascii_digit) && self.reference_tail() {
                    return Some(Value::Ref(u32::try_from(n).ok()?));
                }
                Some(Value::Int(n))
            }
            b if is_regular(b) => match self.regular_run() {
                b"true" | b"false" => Some(Value::Bool),
                _ => Some(Value::Null),
            },
            _ => None,
        }
    }

    /// Reads a dictionary's entries up to and including its `>>` (the `<<` already read).
    pub(crate) fn dict_body(&mut self, depth: usize) -> Option<Dict> {
        let mut entries = Vec::new();
        loop {
            self.skip_trivia();
            if self.starts_with(b">>") {
                self.pos += 2;
                return Some(Dict(entries));
            }
            if self.peek()? != b'/' {
                return None;
            }
            self.pos += 1;
            let key = decode_name(self.regular_run());
            let value = self.value_at(depth)?;
            entries.push((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_escapes() {
        assert_eq!(decode_name(b"J#61vaScript"), b"JavaScript");
        assert_eq!(decode_name(b"J#53"), b"JS");
        assert_eq!(decode_name(b"A#2"), b"A#2");
        assert_eq!(decode_name(b"#4A#53"), b"JS");
    }

    #[test]
    fn stream_dictionaries_are_read() {
        let text = b"<< /Type /ObjStm /N 3 /First 17 /Length 12 0 R /Filter [/FlateDecode] \
                     /DecodeParms << /Predictor 12 /Columns 5 >> /Y <41 42> /X (a (b) c) >>stream";
        let mut p = Parser::new(text, 0);
        let Some(Value::Dict(d)) = p.value() else { panic!("not a dictionary") };
        assert!(d.has_name(b"Type", b"ObjStm"));
        assert_eq!(d.int(b"N"), Some(3));
        assert_eq!(d.get(b"Length"), Some(&Value::Ref(12)));
        assert_eq!(d.get(b"Filter"), Some(&Value::Array(vec![Value::Name(b"FlateDecode".to_vec())])));
        assert!(p.saw_text);
        assert!(p.starts_with(b"stream"));
        let mut p = Parser::new(b"[3 0 R /XYZ null null 0]", 0);
        assert_eq!(p.value().map(|v| matches!(v, Value::Array(a) if a.len() == 5)), Some(true));
    }
}
