//! File names made safe: only the last part of a path, no control or direction characters, no
//! leading dots, a sensible length, and the extension of what the file really is.

use crate::Kind;

/// A safe name for a file of `kind` that was called `name` by its sender.
pub fn clean(name: &str, kind: Kind) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
                && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*' | ';')
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    // Everything after the first dot goes: "报告.pdf.exe" must not keep ".exe" nor ".pdf".
    let stem: String = trimmed.split('.').next().unwrap_or_default().chars().take(80).collect();
    let stem = stem.trim();
    let stem = if stem.is_empty() { "文件" } else { stem };
    format!("{stem}.{}", kind.extension())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_tricks_are_undone() {
        assert_eq!(clean("../../etc/passwd", Kind::Pdf), "passwd.pdf");
        assert_eq!(clean("C:\\Users\\x\\身份证.JPG", Kind::Jpeg), "身份证.jpg");
        assert_eq!(clean("report.pdf.exe", Kind::Pdf), "report.pdf");
        assert_eq!(clean("invoice\u{202E}fdp.exe", Kind::Pdf), "invoicefdp.pdf");
        assert_eq!(clean("...", Kind::Png), "文件.png");
        assert_eq!(clean("<script>a.pdf", Kind::Pdf), "scripta.pdf");
        assert_eq!(clean(&"长".repeat(300), Kind::Pdf).chars().count(), 84);
    }
}
