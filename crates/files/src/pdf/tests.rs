//! PDFs built here, as writers lay them out (classic cross-reference tables, object streams with
//! cross-reference streams), checked through [`crate::verify::verify`].

use crate::{FileError, Kind};
use std::io::Write;

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// `size` zero bytes after `head`, deflated a megabyte at a time (never held whole).
fn zlib_zeros(head: &[u8], size: usize) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(head).unwrap();
    let block = vec![0u8; 1 << 20];
    for _ in 0..size >> 20 {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

/// A PDF being written.
pub(crate) struct Builder {
    out: Vec<u8>,
    /// Object number, then where it is written or (object stream, index) it sits in.
    entries: Vec<(u32, Entry)>,
}

enum Entry {
    At(usize),
    In(u32, u32),
}

impl Builder {
    pub(crate) fn new(version: &str) -> Self {
        Builder { out: format!("%PDF-{version}\n%\u{e2}\u{e3}\u{cf}\u{d3}\n").into_bytes(), entries: Vec::new() }
    }

    pub(crate) fn object(&mut self, num: u32, body: &str) -> &mut Self {
        self.entries.push((num, Entry::At(self.out.len())));
        self.out.extend(format!("{num} 0 obj\n{body}\nendobj\n").bytes());
        self
    }

    /// A stream; `dict` without `/Length`, which is added.
    pub(crate) fn stream(&mut self, num: u32, dict: &str, data: &[u8]) -> &mut Self {
        self.entries.push((num, Entry::At(self.out.len())));
        self.out.extend(format!("{num} 0 obj\n<< {dict} /Length {} >>\nstream\n", data.len()).bytes());
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
        self
    }

    /// An object stream holding `objects`, deflated, with `tail` after them (inside the data).
    pub(crate) fn object_stream(&mut self, num: u32, objects: &[(u32, &str)], tail: usize, params: &str) -> &mut Self {
        let (head, body) = Self::object_stream_text(objects);
        for (i, (n, _)) in objects.iter().enumerate() {
            self.entries.push((*n, Entry::In(num, i as u32)));
        }
        let mut text = head.clone();
        text.extend_from_slice(&body);
        let data = if tail > 0 { zlib_zeros(&text, tail) } else { zlib(&text) };
        let dict = format!("/Type /ObjStm /N {} /First {} /Filter /FlateDecode {params}", objects.len(), head.len());
        self.stream(num, &dict, &data)
    }

    fn object_stream_text(objects: &[(u32, &str)]) -> (Vec<u8>, Vec<u8>) {
        let mut head = String::new();
        let mut body = String::new();
        for (n, o) in objects {
            head.push_str(&format!("{n} {} ", body.len()));
            body.push_str(o);
            body.push('\n');
        }
        (head.into_bytes(), body.into_bytes())
    }

    /// Ends with a classic cross-reference table (every object written in the clear).
    pub(crate) fn table(&mut self, trailer: &str) -> Vec<u8> {
        let size = self.entries.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
        let xref = self.out.len();
        self.out.extend(format!("xref\n0 {size}\n0000000000 65535 f \n").bytes());
        for n in 1..size {
            match self.entries.iter().find(|(m, _)| *m == n) {
                Some((_, Entry::At(at))) => self.out.extend(format!("{at:010} 00000 n \n").bytes()),
                _ => self.out.extend(b"0000000000 65535 f \n"),
            }
        }
        self.out.extend(format!("trailer\n<< /Size {size} {trailer} >>\nstartxref\n{xref}\n%%EOF\n").bytes());
        std::mem::take(&mut self.out)
    }

    /// Ends with a cross-reference stream (object `num`), as PDF 1.5 writers do.
    pub(crate) fn xref_stream(&mut self, num: u32, trailer: &str) -> Vec<u8> {
        let xref = self.out.len();
        self.entries.push((num, Entry::At(xref)));
        let size = self.entries.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
        let mut rows = vec![0u8, 0, 0, 0, 0, 0xff, 0xff];
        for n in 1..size {
            match self.entries.iter().find(|(m, _)| *m == n) {
                Some((_, Entry::At(at))) => {
                    rows.push(1);
                    rows.extend_from_slice(&(*at as u32).to_be_bytes());
                    rows.extend_from_slice(&[0, 0]);
                }
                Some((_, Entry::In(stream, index))) => {
                    rows.push(2);
                    rows.extend_from_slice(&stream.to_be_bytes());
                    rows.extend_from_slice(&(*index as u16).to_be_bytes());
                }
                None => rows.extend_from_slice(&[0, 0, 0, 0, 0, 0xff, 0xff]),
            }
        }
        let data = zlib(&rows);
        self.out.extend(
            format!(
                "{num} 0 obj\n<< /Type /XRef /Size {size} /W [1 4 2] {trailer} /Filter /FlateDecode /Length {} >>\nstream\n",
                data.len()
            )
            .bytes(),
        );
        self.out.extend_from_slice(&data);
        self.out.extend(format!("\nendstream\nendobj\nstartxref\n{xref}\n%%EOF\n").bytes());
        std::mem::take(&mut self.out)
    }
}

const CATALOG: &str = "<< /Type /Catalog /Pages 2 0 R >>";
const PAGES: &str = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
const PAGE: &str = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
                    /Resources << /XObject << /Im1 5 0 R >> >> >>";

/// A page's content as a word processor writes it: text and lines, a few kilobytes.
fn content() -> Vec<u8> {
    let mut c = String::new();
    for i in 0..200 {
        c.push_str(&format!("BT /F1 12 Tf 72 {} Td (Line {i} of the application form) Tj ET\n", 800 - i * 3));
        c.push_str(&format!("0.5 w 72 {} m 520 {} l S\n", 790 - i * 3, 790 - i * 3));
    }
    c.into_bytes()
}

/// A PDF 1.5 file: catalog, pages and page in a deflated object stream, a deflated content
/// stream, a 600×800 blank grey image (deflated a thousandfold), a cross-reference stream;
/// `catalog` in place of the usual catalog.
pub(crate) fn modern(catalog: &str) -> Vec<u8> {
    let mut b = Builder::new("1.7");
    b.object_stream(10, &[(1, catalog), (2, PAGES), (3, PAGE)], 0, "");
    b.stream(4, "/Filter /FlateDecode", &zlib(&content()));
    b.stream(
        5,
        "/Type /XObject /Subtype /Image /Width 600 /Height 800 /ColorSpace /DeviceGray /BitsPerComponent 8 \
         /Filter /FlateDecode",
        &zlib(&vec![255u8; 600 * 800]),
    );
    b.xref_stream(11, "/Root 1 0 R")
}

/// A PDF 1.4 file, every object in the clear; `extra` objects from 6 on.
pub(crate) fn classic(catalog: &str, extra: &[&str]) -> Vec<u8> {
    let mut b = Builder::new("1.4");
    b.object(1, catalog).object(2, PAGES).object(3, PAGE);
    b.stream(4, "/Filter /FlateDecode", &zlib(&content()));
    b.stream(5, "/Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8", &[0]);
    for (i, o) in extra.iter().enumerate() {
        b.object(6 + i as u32, o);
    }
    b.table("/Root 1 0 R")
}

fn check(pdf: &[u8]) -> Result<(), FileError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.pdf");
    std::fs::write(&path, pdf).unwrap();
    crate::verify::verify(Kind::Pdf, &path)
}

fn code(pdf: &[u8]) -> &'static str {
    match check(pdf) {
        Ok(()) => "ok",
        Err(e) => e.code(),
    }
}

#[test]
fn real_pdfs_open() {
    assert_eq!(code(&modern(CATALOG)), "ok");
    assert_eq!(code(&classic(CATALOG, &[])), "ok");
    // Word, WPS and "print to PDF" open at the first page: a destination, not an action.
    assert_eq!(code(&classic("<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /XYZ null null 0] >>", &[])), "ok");
    assert_eq!(
        code(&modern("<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] /PageMode /UseOutlines >>")),
        "ok"
    );
    assert_eq!(
        code(&classic("<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /GoTo /D [3 0 R /Fit] >> >>", &[])),
        "ok"
    );
    assert_eq!(code(&classic("<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>", &["[3 0 R /Fit]"])), "ok");
    // Links to web pages are not scripts.
    let link = "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /A << /S /URI /URI (https://www.gov.cn/) >> >>";
    assert_eq!(code(&classic(CATALOG, &[link])), "ok");
    // The word "stream" at a line's end in a string is not a stream.
    assert_eq!(code(&classic(CATALOG, &["<< /Title (A data stream\nof text) /Producer (WPS Office) >>"])), "ok");
}

#[test]
fn an_object_stream_bomb_is_too_complex() {
    // 300 MB of zeros behind the page objects, in about 300 KB: the parser would hold it all.
    let mut b = Builder::new("1.7");
    b.object_stream(10, &[(1, CATALOG), (2, PAGES), (3, PAGE)], 300 << 20, "");
    b.stream(4, "/Filter /FlateDecode", &zlib(&content()));
    b.stream(5, "/Subtype /Image /Width 1 /Height 1 /BitsPerComponent 8 /ColorSpace /DeviceGray", &[0]);
    let pdf = b.xref_stream(11, "/Root 1 0 R");
    assert!(pdf.len() < 2 << 20, "{}", pdf.len());
    let started = std::time::Instant::now();
    let e = check(&pdf).unwrap_err();
    assert_eq!(e.code(), "file_too_complex", "{e}");
    assert!(e.to_string().contains("过于复杂"), "{e}");
    eprintln!("refused in {:?}", started.elapsed());
}

#[test]
fn bombs_past_the_size_limits_are_too_complex_whatever_the_ratio() {
    // Varied bytes (no thousandfold packing): the per-stream limit stops them.
    let mut noise = Vec::with_capacity(20 << 20);
    let mut x: u32 = 1;
    while noise.len() < 20 << 20 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        noise.push(if x >> 28 == 0 { (x >> 20) as u8 } else { b'a' });
    }
    let mut b = Builder::new("1.7");
    b.object_stream(10, &[(1, CATALOG), (2, PAGES), (3, PAGE)], 0, "");
    b.stream(12, "/Type /ObjStm /N 0 /First 0 /Filter /FlateDecode", &zlib(&noise));
    assert_eq!(code(&b.xref_stream(11, "/Root 1 0 R")), "file_too_complex");
    // The same bytes over several object streams: the file's total stops them.
    let mut b = Builder::new("1.7");
    b.object_stream(10, &[(1, CATALOG), (2, PAGES), (3, PAGE)], 0, "");
    let part = zlib(&noise[..7 << 20]);
    for n in 12..18 {
        b.stream(n, "/Type /ObjStm /N 0 /First 0 /Filter /FlateDecode", &part);
    }
    assert_eq!(code(&b.xref_stream(11, "/Root 1 0 R")), "file_too_complex");
    // A content stream: looser limits, but limits (20 MB of zeros).
    let mut b = Builder::new("1.7");
    b.object_stream(10, &[(1, CATALOG), (2, PAGES), (3, PAGE)], 0, "");
    b.stream(4, "/Filter /FlateDecode", &zlib_zeros(b"", 20 << 20));
    assert_eq!(code(&b.xref_stream(11, "/Root 1 0 R")), "file_too_complex");
}

#[test]
fn scripts_actions_and_attachments_are_refused_wherever_they_are() {
    let refused = |pdf: Vec<u8>, what: &str| {
        let e = check(&pdf).unwrap_err();
        assert_eq!(e.code(), "file_type_refused", "{what}: {e}");
        assert!(e.to_string().contains("不能作为材料上传"), "{e}");
    };
    let js_action = "<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /J#61vaScript /JS (app.alert(1)) >> >>";
    refused(classic(CATALOG, &[js_action]), "escaped /JavaScript");
    refused(classic(CATALOG, &["<< /S /Named /N /Print /J#53 (app.alert(1)) >>"]), "escaped /JS");
    refused(
        classic("<< /Type /Catalog /Pages 2 0 R /AA << /WC 6 0 R >> >>", &["<< /S /GoTo /D [3 0 R /Fit] >>"]),
        "/AA",
    );
    refused(
        classic("<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>", &[]),
        "/OpenAction script",
    );
    refused(classic("<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /URI /URI (http://x.test/) >> >>", &[]), "/URI");
    refused(
        classic("<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>", &["<< /S /URI /URI (http://x.test/) >>"]),
        "ref",
    );
    refused(
        classic(CATALOG, &["<< /Type /Filespec /F (a.exe) /EF << /F 7 0 R >> >>", "<< /Type /EmbeddedFile >>"]),
        "file",
    );
    refused(classic("<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /XFA 6 0 R >> >>", &["[]"]), "/XFA");
    refused(classic(CATALOG, &["<< /Type /Annot /Subtype /RichMedia /Rect [0 0 9 9] >>"]), "/RichMedia");
    refused(classic(CATALOG, &["<< /S /Launch /F (cmd.exe) >>"]), "/Launch");
    // Inside a deflated object stream, where a byte search of the file sees nothing.
    refused(modern("<< /Type /Catalog /Pages 2 0 R /Names << /JavaScript << /Names [(a) 6 0 R] >> >> >>"), "objstm");
    refused(modern("<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#53 >> >>"), "objstm /J#53");
    // Behind a PNG predictor, which scrambles the bytes until undone.
    let mut b = Builder::new("1.7");
    let catalog = "<< /Type /Catalog /Pages 2 0 R /AA << /O << /S /JavaScript /JS (x) >> >> >>";
    let (head, body) = Builder::object_stream_text(&[(1, catalog), (2, PAGES), (3, PAGE)]);
    let text = [head.clone(), body].concat();
    let mut rows = Vec::new();
    let mut previous = vec![0u8; 8];
    for row in text.chunks(8) {
        let mut row = row.to_vec();
        row.resize(8, b' ');
        rows.push(2);
        rows.extend(row.iter().zip(&previous).map(|(a, b)| a.wrapping_sub(*b)));
        previous = row;
    }
    let dict = format!(
        "/Type /ObjStm /N 3 /First {} /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 8 >>",
        head.len()
    );
    b.stream(10, &dict, &zlib(&rows));
    refused(b.xref_stream(11, "/Root 1 0 R"), "predictor");
    // In a page's deflated content stream (no reader runs it, but it is looked for all the same).
    let mut b = Builder::new("1.4");
    b.object(1, CATALOG).object(2, PAGES).object(3, PAGE);
    b.stream(4, "/Filter /FlateDecode", &zlib(b"BT /JavaScript 12 Tf ET"));
    refused(b.table("/Root 1 0 R"), "content");
}

#[test]
fn encrypted_files_are_refused() {
    let pdf = classic(CATALOG, &["<< /Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4 >>"]);
    let pdf = String::from_utf8_lossy(&pdf).replace("/Root 1 0 R", "/Root 1 0 R /Encrypt 6 0 R /ID [<01> <01>]");
    let e = check(pdf.as_bytes()).unwrap_err();
    assert_eq!(e.code(), "file_corrupt");
    assert!(e.to_string().contains("加密"), "{e}");
}

#[test]
fn the_parser_never_decodes_what_it_does_not_need() {
    // An "image" that is really a bomb (a reader told it is an object stream would inflate it):
    // it is decoded here within the limits, and the parser is given it as a plain dictionary.
    let mut b = Builder::new("1.7");
    b.object_stream(10, &[(1, CATALOG), (2, PAGES), (3, PAGE)], 0, "");
    b.stream(4, "/Filter /FlateDecode", &zlib(&content()));
    b.stream(
        5,
        "/Subtype /Image /Width 5000 /Height 5000 /BitsPerComponent 8 /Filter /FlateDecode",
        &zlib_zeros(b"", 24 << 20),
    );
    let pdf = b.xref_stream(11, "/Root 1 0 R");
    let scanned = super::prescan(pdf.clone()).unwrap();
    let text = String::from_utf8_lossy(&scanned.data);
    assert_eq!(text.matches(">>\nstream\n").count(), 2, "the object stream and the cross-reference stream");
    assert_eq!(text.matches(">>\nSTREAM\n").count(), 2, "the content stream and the image");
    assert_eq!(code(&pdf), "ok");
}

/// Peak memory of a check of the bomb (not asserted: printed, `cargo test -p govhall-files --
/// --ignored --nocapture peak_memory`). Run alone, so that nothing else in the process counts.
#[test]
#[ignore = "a measurement"]
fn peak_memory_of_a_bomb_check() {
    let mut b = Builder::new("1.7");
    b.object_stream(10, &[(1, CATALOG), (2, PAGES), (3, PAGE)], 2 << 30, "");
    let pdf = b.xref_stream(11, "/Root 1 0 R");
    let status = || std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = |s: String| s.lines().find(|l| l.starts_with("VmHWM")).unwrap_or("VmHWM: ?").to_owned();
    eprintln!("a 2 GiB object stream packed in {} KB; before: {}", pdf.len() / 1024, hwm(status()));
    let started = std::time::Instant::now();
    let e = check(&pdf).unwrap_err();
    eprintln!("{}: {:?}, after: {}", e.code(), started.elapsed(), hwm(status()));
}

/// Checks every PDF in the folder `GOVHALL_PDF_CORPUS` and prints the verdicts (real files:
/// scans, exports, "print to PDF"), to see what a change would refuse.
#[test]
#[ignore = "needs a folder of real PDFs"]
fn corpus() {
    let Ok(dir) = std::env::var("GOVHALL_PDF_CORPUS") else { return };
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let started = std::time::Instant::now();
        let verdict = match crate::verify::verify(Kind::Pdf, &path) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("{}: {e}", e.code()),
        };
        eprintln!("{:>8?} {} {verdict}", started.elapsed(), path.display());
    }
}
