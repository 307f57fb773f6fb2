//! What a file's bytes are. Uploads are judged by content, never by their name: the first bytes
//! decide, and anything that could run or render in a browser is refused by name.

use serde::Serialize;

/// The kinds of file the hall accepts as materials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// PDF.
    Pdf,
    /// OFD (版式文档, the national fixed-layout format; a ZIP package with OFD.xml).
    Ofd,
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::Pdf, Kind::Ofd, Kind::Jpeg, Kind::Png];

    /// The MIME type sent back.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Pdf => "application/pdf",
            Kind::Ofd => "application/ofd",
            Kind::Png => "image/png",
            Kind::Jpeg => "image/jpeg",
        }
    }

    /// The file extension kept.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Pdf => "pdf",
            Kind::Ofd => "ofd",
            Kind::Png => "png",
            Kind::Jpeg => "jpg",
        }
    }

    /// The name people know it by.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Pdf => "PDF",
            Kind::Ofd => "OFD",
            Kind::Png => "PNG",
            Kind::Jpeg => "JPG",
        }
    }

    /// The kinds named in a guide's format text ("pdf、jpg", "PDF/JPG/PNG", "图片" …); all
    /// kinds when it names none.
    pub fn from_formats(text: &str) -> Vec<Kind> {
        let t = text.to_lowercase();
        let mut kinds = Vec::new();
        if t.contains("pdf") {
            kinds.push(Kind::Pdf);
        }
        if t.contains("ofd") {
            kinds.push(Kind::Ofd);
        }
        if t.contains("jpg") || t.contains("jpeg") || t.contains("图片") || t.contains("照片") {
            kinds.push(Kind::Jpeg);
        }
        if t.contains("png") || t.contains("图片") || t.contains("照片") {
            kinds.push(Kind::Png);
        }
        if kinds.is_empty() { Kind::ALL.to_vec() } else { kinds }
    }

    /// The kinds as a list people read: PDF、JPG.
    pub fn list(kinds: &[Kind]) -> String {
        kinds.iter().map(|k| k.label()).collect::<Vec<_>>().join("、")
    }
}

/// What the first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// One of the accepted kinds (OFD still to be confirmed by its package).
    Accepted(Kind),
    /// A ZIP package (OFD when it holds OFD.xml).
    Zip,
    /// Something refused, with what it is.
    Refused(&'static str),
    /// Not recognised.
    Unknown,
}

/// Judges the first bytes of a file (at least 512 of them when the file is that long).
pub fn sniff(head: &[u8]) -> Sniffed {
    let starts = |sig: &[u8]| head.starts_with(sig);
    if starts(b"%PDF-") {
        return Sniffed::Accepted(Kind::Pdf);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Accepted(Kind::Png);
    }
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Accepted(Kind::Jpeg);
    }
    if starts(b"PK\x03\x04") {
        return Sniffed::Zip;
    }
    if starts(b"MZ") {
        return Sniffed::Refused("Windows 可执行程序");
    }
    if starts(b"\x7fELF") {
        return Sniffed::Refused("Linux 可执行程序");
    }
    if starts(&[0xCF, 0xFA, 0xED, 0xFE]) || starts(&[0xCA, 0xFE, 0xBA, 0xBE]) || starts(&[0xFE, 0xED, 0xFA, 0xCE]) {
        return Sniffed::Refused("可执行程序");
    }
    if starts(b"#!") {
        return Sniffed::Refused("脚本");
    }
    // Text formats a browser would render or run: look past a BOM and white space.
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    let lower: Vec<u8> = text[start..].iter().take(256).map(u8::to_ascii_lowercase).collect();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    if has(b"<svg") {
        return Sniffed::Refused("SVG 图形");
    }
    if lower.starts_with(b"<") || has(b"<html") || has(b"<script") || has(b"<!doctype") {
        return Sniffed::Refused("网页（HTML/XML）");
    }
    if has(b"<?php") || has(b"@echo off") || has(b"powershell") {
        return Sniffed::Refused("脚本");
    }
    Sniffed::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides() {
        assert_eq!(sniff(b"%PDF-1.7\n"), Sniffed::Accepted(Kind::Pdf));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Sniffed::Accepted(Kind::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Sniffed::Accepted(Kind::Jpeg));
        assert_eq!(sniff(b"MZ\x90\x00"), Sniffed::Refused("Windows 可执行程序"));
        assert_eq!(sniff(b"\xEF\xBB\xBF  <!DOCTYPE html><html>"), Sniffed::Refused("网页（HTML/XML）"));
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><svg xmlns="), Sniffed::Refused("SVG 图形"));
        assert_eq!(sniff(b"#!/bin/sh\nrm -rf /"), Sniffed::Refused("脚本"));
        assert_eq!(sniff(b"just some text"), Sniffed::Unknown);
    }

    #[test]
    fn guide_formats_are_read() {
        assert_eq!(Kind::from_formats("PDF、JPG"), vec![Kind::Pdf, Kind::Jpeg]);
        assert_eq!(Kind::from_formats("图片"), vec![Kind::Jpeg, Kind::Png]);
        assert_eq!(Kind::from_formats(""), Kind::ALL.to_vec());
    }
}
