//! The PDF pre-scan: what a PDF holds is checked before a parser is given it.
//!
//! Every `stream … endstream` in the raw file is found and its filters decoded a chunk at a time
//! ([`decode`]), each stage's output counted: nothing decoded is kept whole. The raw bytes and
//! every decoded stream are searched for the names of actions that run something, attachments
//! and XFA forms ([`names`]). Encrypted files are refused (their streams cannot be read).
//!
//! The parser behind the check (hayro-syntax) decodes two kinds of stream while it lists pages:
//! object streams and cross-reference streams, and it keeps the object streams. Those are held
//! to a tight budget ([`PARSED_STREAM_LIMIT`], [`PARSED_TOTAL_LIMIT`]). Every other stream
//! (page contents, images, fonts) is only decoded here, to be searched, within a looser limit on
//! the work; and in the copy handed to the parser its `stream` keyword is overwritten, so that
//! the parser sees a dictionary and can never be made to inflate it (say, by a cross-reference
//! entry naming an "image" as an object stream). The parser's memory is thus bounded by the
//! file plus what was counted here, whatever the file.

mod decode;
mod names;
mod syntax;

use crate::FileError;
use decode::{Filter, Halt, Meter, Step};
use names::{Finding, NameScanner};
use std::collections::HashMap;
use syntax::{Dict, Parser, Value, is_regular, is_white};

/// The most bytes one object stream or cross-reference stream may unpack to (all its filters'
/// outputs together).
pub(crate) const PARSED_STREAM_LIMIT: u64 = 8 << 20;

/// The most bytes all object and cross-reference streams of a file may unpack to: what the
/// parser may hold at once beyond the file itself.
pub(crate) const PARSED_TOTAL_LIMIT: u64 = 32 << 20;

/// Past 1 MiB, an object or cross-reference stream may unpack to at most 100 times its size
/// (real ones: 3 to 20 times).
const PARSED_RATIO: (u64, u64) = (1 << 20, 100);

/// The most bytes any other stream may unpack to (a page of a CAD drawing, a large scan).
pub(crate) const OTHER_STREAM_LIMIT: u64 = 256 << 20;

/// The most bytes all other streams of a file may unpack to: the work a check may take.
pub(crate) const OTHER_TOTAL_LIMIT: u64 = 512 << 20;

/// Past 4 MiB, a stream other than an image may unpack to at most 200 times its size (a blank
/// scanned page, an image, legitimately packs a thousandfold).
const OTHER_RATIO: (u64, u64) = (4 << 20, 200);

/// The most streams and object headers a file may have (a 10 MB file of real pages has a few
/// thousand): the pre-scan's own memory and work grow with them.
const MAX_STREAMS: usize = 200_000;
const MAX_HEADERS: usize = 1_000_000;

/// The most bytes read in all while looking for stream dictionaries (headers tried in vain
/// included).
const DICT_SEARCH_LIMIT: usize = 64 << 20;

/// A file that passed, as the parser is to see it.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// The file with the keyword of every stream the parser need not decode overwritten.
    pub(crate) data: Vec<u8>,
}

pub(crate) fn too_complex() -> FileError {
    FileError::TooComplex("PDF 文件结构过于复杂（解压后的内容超过上限），请重新“打印为 PDF”或压缩后上传".into())
}

fn corrupt() -> FileError {
    FileError::Corrupt("PDF 文件已损坏或不完整，无法打开，请重新导出后上传".into())
}

pub(crate) fn active(what: &str) -> FileError {
    FileError::Refused(format!(
        "PDF 文件含有脚本、打开时自动执行的动作、附件或动态表单（{what}），不能作为材料上传；请重新“打印为 PDF”后上传"
    ))
}

fn refusal(finding: Finding) -> FileError {
    match finding {
        Finding::Active(name) => active(&format!("/{name}")),
        Finding::OpenAction => active("/OpenAction"),
        Finding::Encrypted => {
            FileError::Corrupt("PDF 文件已加密（设置了密码或权限），请另存为未加密的 PDF 后上传".into())
        }
    }
}

/// A `stream` keyword the parser could read as one.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    keyword: usize,
    data_start: usize,
    /// Where the first `endstream` after the data starts (the file's end when there is none).
    first_end: usize,
    /// The data's end without the white space before `endstream`.
    trimmed_end: usize,
}

/// An object's header, `12 0 obj`.
#[derive(Debug, Clone, Copy)]
struct Header {
    num: u32,
    /// Where its number starts.
    start: usize,
    /// Just past `obj`.
    after: usize,
}

/// Every place `needle` starts.
fn positions(data: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let Some((&first, _)) = needle.split_first() else { return found };
    let mut i = 0;
    while let Some(at) = data.get(i..).and_then(|rest| rest.iter().position(|&b| b == first)) {
        let p = i + at;
        if data[p..].starts_with(needle) {
            found.push(p);
        }
        i = p + 1;
    }
    found
}

fn candidates(data: &[u8], endstreams: &[usize]) -> Vec<Candidate> {
    let mut out = Vec::new();
    for keyword in positions(data, b"stream") {
        // The parser reads `stream` after a dictionary's `>>` and white space or comments.
        if keyword > 0 && !(is_white(data[keyword - 1]) || data[keyword - 1] == b'>') {
            continue;
        }
        let data_start = match data.get(keyword + 6..keyword + 8) {
            Some([b'\r', b'\n']) => keyword + 8,
            Some([b'\r' | b'\n', _]) => keyword + 7,
            None if data.get(keyword + 6).is_some_and(|&b| b == b'\r' || b == b'\n') => keyword + 7,
            _ => continue,
        };
        let first_end = endstreams.get(endstreams.partition_point(|&e| e < data_start)).copied().unwrap_or(data.len());
        let mut trimmed_end = first_end;
        while trimmed_end > data_start && is_white(data[trimmed_end - 1]) {
            trimmed_end -= 1;
        }
        out.push(Candidate { keyword, data_start, first_end, trimmed_end });
    }
    out
}

fn headers(data: &[u8]) -> Vec<Header> {
    let mut out = Vec::new();
    for at in positions(data, b"obj") {
        if data.get(at + 3).is_some_and(|&b| is_regular(b)) || at == 0 || !is_white(data[at - 1]) {
            continue;
        }
        let mut p = at;
        let back_over = |p: &mut usize, wanted: fn(u8) -> bool| {
            let from = *p;
            while *p > 0 && wanted(data[*p - 1]) {
                *p -= 1;
            }
            from - *p
        };
        back_over(&mut p, is_white);
        if back_over(&mut p, |b| b.is_ascii_digit()) == 0 || back_over(&mut p, is_white) == 0 {
            continue;
        }
        let num_end = p;
        if back_over(&mut p, |b| b.is_ascii_digit()) == 0 || (p > 0 && is_regular(data[p - 1])) {
            continue;
        }
        let Some(num) = std::str::from_utf8(&data[p..num_end]).ok().and_then(|t| t.parse().ok()) else { continue };
        out.push(Header { num, start: p, after: at + 3 });
    }
    out
}

/// The file's objects as written in the clear, to resolve references in stream dictionaries.
struct Objects<'a> {
    data: &'a [u8],
    by_num: HashMap<u32, Vec<usize>>,
}

impl Objects<'_> {
    /// Every definition of object `num` found in the clear (none when it is in an object stream).
    fn definitions(&self, num: u32) -> Vec<Value> {
        let Some(starts) = self.by_num.get(&num) else { return Vec::new() };
        starts.iter().filter_map(|&at| Parser::new(self.data, at).value()).collect()
    }

    /// `value`, a reference replaced by the object when it has exactly one definition in the clear.
    fn resolve(&self, value: Option<&Value>) -> Result<Option<Value>, ()> {
        match value {
            Some(Value::Ref(num)) => {
                let mut defs = self.definitions(*num);
                defs.dedup();
                if defs.len() == 1 { Ok(defs.pop()) } else { Err(()) }
            }
            other => Ok(other.cloned()),
        }
    }
}

/// The dictionary of the stream at `keyword`: the one read from the nearest object header
/// before it that ends right at the keyword.
fn stream_dict(data: &[u8], headers: &[Header], keyword: usize, work: &mut usize) -> Option<(Dict, Header, bool)> {
    let before = headers.partition_point(|h| h.after <= keyword);
    for h in headers[..before].iter().rev().take(64) {
        if keyword - h.after > 1 << 20 {
            break;
        }
        let mut p = Parser::new(&data[..keyword], h.after);
        p.skip_trivia();
        if !p.starts_with(b"<<") {
            continue;
        }
        p.pos += 2;
        let dict = p.dict_body(1);
        *work += p.pos - h.after;
        let Some(dict) = dict else { continue };
        p.skip_trivia();
        if p.pos == keyword {
            return Some((dict, *h, p.saw_text));
        }
    }
    None
}

/// Where the data may end for a reader that believes `/Length` (it must be followed by
/// `endstream`), or the file's end when the length cannot be known.
fn data_end(data: &[u8], c: &Candidate, length: Option<&Value>, objects: &Objects<'_>) -> usize {
    let lengths = match length {
        Some(Value::Int(n)) => vec![*n],
        Some(Value::Ref(num)) => {
            let defs = objects.definitions(*num);
            if defs.is_empty() {
                return data.len();
            }
            defs.iter().filter_map(|v| if let Value::Int(n) = v { Some(*n) } else { None }).collect()
        }
        _ => Vec::new(),
    };
    let mut end = c.trimmed_end;
    for n in lengths {
        let Some(e) = usize::try_from(n).ok().and_then(|n| c.data_start.checked_add(n)).filter(|&e| e <= data.len())
        else {
            continue;
        };
        let mut after = e;
        while data.get(after).is_some_and(|&b| is_white(b)) {
            after += 1;
        }
        if data[after..].starts_with(b"endstream") {
            end = end.max(e);
        }
    }
    end
}

/// Checks a PDF's bytes; on success gives them back as the parser is to see them.
pub(crate) fn prescan(mut data: Vec<u8>) -> Result<Scanned, FileError> {
    let endstreams = positions(&data, b"endstream");
    let candidates = candidates(&data, &endstreams);
    let headers = headers(&data);
    if candidates.len() > MAX_STREAMS || headers.len() > MAX_HEADERS {
        return Err(too_complex());
    }
    let mut by_num: HashMap<u32, Vec<usize>> = HashMap::new();
    for h in &headers {
        by_num.entry(h.num).or_default().push(h.after);
    }
    let objects = Objects { data: &data, by_num };

    // The raw bytes: short names only outside stream data.
    let mut raw = NameScanner::default();
    let mut at = 0;
    for c in &candidates {
        if c.data_start > at {
            raw.feed(&data[at..c.data_start], true, true);
            at = c.data_start;
        }
        if c.first_end > at {
            raw.feed(&data[at..c.first_end], false, true);
            at = c.first_end;
        }
    }
    raw.feed(&data[at..], true, true);
    raw.finish(true, true);
    if let Some(finding) = raw.finding.take() {
        return Err(refusal(finding));
    }

    let mut parsed_total = 0u64;
    let mut other_total = 0u64;
    let mut neutered = Vec::new();
    let mut work = 0;
    for c in &candidates {
        let found = stream_dict(&data, &headers, c.keyword, &mut work);
        if work > DICT_SEARCH_LIMIT {
            return Err(too_complex());
        }
        let Some((dict, header, saw_text)) = found else {
            // No dictionary this pre-scan can read before the keyword: the parser is not let
            // read one either, and the data is searched as deflated, in case another reader
            // finds a dictionary (`stream` on its own in a string or comment is no stream).
            neutered.push(c.keyword);
            let flate = [Step { filter: Filter::Flate, predictor: decode::Predictor::from_params(None) }];
            let input = &data[c.data_start..c.trimmed_end];
            let mut scanner = NameScanner::default();
            let mut meter = Meter {
                made: 0,
                stream_limit: OTHER_STREAM_LIMIT,
                ratio: Some(OTHER_RATIO),
                input: input.len() as u64,
                total: &mut other_total,
                total_limit: OTHER_TOTAL_LIMIT,
            };
            if decode::run(&flate, input, &mut meter, &mut |b: &[u8]| scanner.feed(b, false, false)) == Err(Halt::Limit)
            {
                return Err(too_complex());
            }
            scanner.finish(false, false);
            if let Some(finding) = scanner.finding.take() {
                return Err(refusal(finding));
            }
            continue;
        };
        let object_stream = dict.has_name(b"Type", b"ObjStm");
        let parsed = object_stream || dict.has_name(b"Type", b"XRef") || dict.get(b"W").is_some();
        let mut scanner = NameScanner::default();
        let outcome = if parsed {
            let steps = parsed_steps(&data, &dict, header, saw_text, &objects)?;
            if steps.iter().any(|s| s.filter == Filter::Image) {
                // The parser refuses to read an object stream through an image filter.
                continue;
            }
            let end = data_end(&data, c, dict.get(b"Length"), &objects);
            let input = &data[c.data_start..end];
            let mut meter = Meter {
                made: 0,
                stream_limit: PARSED_STREAM_LIMIT,
                ratio: Some(PARSED_RATIO),
                input: input.len() as u64,
                total: &mut parsed_total,
                total_limit: PARSED_TOTAL_LIMIT,
            };
            decode::run(&steps, input, &mut meter, &mut |b: &[u8]| scanner.feed(b, object_stream, false))
        } else {
            neutered.push(c.keyword);
            let Ok(Some(filter)) = objects.resolve(dict.get(b"Filter")).map(|f| f.or(Some(Value::Null))) else {
                continue;
            };
            let params = objects.resolve(dict.get(b"DecodeParms")).ok().flatten();
            let Some(steps) = decode::steps(Some(&filter), params.as_ref()) else { continue };
            if steps.iter().any(|s| {
                !matches!(
                    s.filter,
                    Filter::Flate | Filter::Lzw | Filter::AsciiHex | Filter::Ascii85 | Filter::RunLength
                )
            }) {
                // Images are read by viewers as pixels; unknown filters by nobody.
                continue;
            }
            let input = &data[c.data_start..c.trimmed_end];
            let image = dict.has_name(b"Subtype", b"Image");
            let mut meter = Meter {
                made: 0,
                stream_limit: OTHER_STREAM_LIMIT,
                ratio: (!image).then_some(OTHER_RATIO),
                input: input.len() as u64,
                total: &mut other_total,
                total_limit: OTHER_TOTAL_LIMIT,
            };
            decode::run(&steps, input, &mut meter, &mut |b: &[u8]| scanner.feed(b, false, false))
        };
        scanner.finish(parsed && object_stream, false);
        match outcome {
            Err(Halt::Limit) => return Err(too_complex()),
            // The parser's own inflater reads on past an error; what it would then make is unknown.
            Err(Halt::Broken(Filter::Flate)) if parsed => return Err(corrupt()),
            _ => {}
        }
        if let Some(finding) = scanner.finding.take() {
            return Err(refusal(finding));
        }
    }
    drop(objects);
    for keyword in neutered {
        data[keyword..keyword + 6].copy_from_slice(b"STREAM");
    }
    Ok(Scanned { data })
}

/// The filter chain of an object or cross-reference stream, refused when it could be read
/// otherwise by another reader or would make the parser allocate without bound.
fn parsed_steps(
    data: &[u8],
    dict: &Dict,
    header: Header,
    saw_text: bool,
    objects: &Objects<'_>,
) -> Result<Vec<Step>, FileError> {
    // Strings and comments in or before the dictionary could hide a second dictionary that ends
    // at the same keyword (with other filters); real writers put none there.
    let line_start = data[..header.start].iter().rposition(|&b| b == b'\r' || b == b'\n').map_or(0, |p| p + 1);
    let repeated = [&b"Filter"[..], b"DecodeParms", b"Length", b"Type", b"W"].iter().any(|k| dict.count(k) > 1);
    if saw_text
        || data[line_start..header.start].contains(&b'%')
        || repeated
        || dict.get(b"F").is_some()
        || dict.get(b"DP").is_some()
    {
        return Err(too_complex());
    }
    let filter = objects.resolve(dict.get(b"Filter")).map_err(|()| too_complex())?;
    let params = objects.resolve(dict.get(b"DecodeParms")).map_err(|()| too_complex())?;
    let steps = decode::steps(filter.as_ref(), params.as_ref()).ok_or_else(too_complex)?;
    for s in &steps {
        match s.filter {
            Filter::Flate | Filter::Lzw => {
                let p = s.predictor;
                let png_or_tiff = p.predictor >= 10 || (p.predictor == 2 && p.bits == 8);
                let row_ok = p.row_bytes().is_some_and(|r| r <= decode::MAX_ROW);
                if p.predictor != 1 && (!png_or_tiff || !row_ok || u16::from(p.colors) * u16::from(p.bits) > 255) {
                    return Err(too_complex());
                }
            }
            Filter::AsciiHex | Filter::Ascii85 | Filter::RunLength | Filter::Image => {}
            Filter::Crypt | Filter::Unknown => return Err(too_complex()),
        }
    }
    Ok(steps)
}

/// Whether the parsed file's catalog opens with an action other than going to a page.
pub(crate) fn open_action_runs(pdf: &hayro_syntax::Pdf) -> bool {
    use hayro_syntax::object::dict::keys::{OPEN_ACTION, S};
    use hayro_syntax::object::{Dict, Name};
    let xref = pdf.xref();
    let Some(catalog) = xref.get::<Dict<'_>>(xref.root_id()) else { return false };
    match catalog.get::<Dict<'_>>(OPEN_ACTION) {
        Some(action) => action.get::<Name<'_>>(S).is_none_or(|s| s.as_ref() != b"GoTo".as_slice()),
        None => false,
    }
}

#[cfg(test)]
mod tests;
