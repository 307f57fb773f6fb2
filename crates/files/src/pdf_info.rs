//! What a PDF says about itself: its keywords (the document information dictionary), read
//! without rendering anything, for checking an uploaded copy of a document GovHall printed.

/// The most a PDF read here may have.
pub const MAX_BYTES: usize = 10 << 20;

/// The PDF's keywords as text, if it is a PDF (of at most [`MAX_BYTES`]) that has any.
pub fn keywords(bytes: &[u8]) -> Option<String> {
    if bytes.len() > MAX_BYTES || !bytes.starts_with(b"%PDF-") {
        return None;
    }
    let pdf = hayro_syntax::Pdf::new(bytes.to_vec()).ok()?;
    let raw = pdf.metadata().keywords.as_deref()?;
    Some(text(raw))
}

/// A PDF text string: UTF-16BE with its byte order mark, or (for the ASCII GovHall writes)
/// bytes as they are.
fn text(raw: &[u8]) -> String {
    match raw.strip_prefix(&[0xFE, 0xFF]) {
        Some(utf16) => {
            let units: Vec<u16> = utf16.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        None => String::from_utf8_lossy(raw).into_owned(),
    }
}
