//! Printable PDFs: the filled application form for the paper file (反向打印) and the receipt.
//! Text is laid out line by line in a CJK font found on the machine (or configured), and only
//! the glyphs used are embedded (krilla subsets the font). Serial numbers are drawn as text
//! (so they can be searched and copied) and as a QR code.
//!
//! - [`font`]: finding and loading the font, mapping characters to glyphs.
//! - [`layout`]: the document as blocks, and its rendering on A4 pages.

pub mod font;
pub mod layout;

pub use font::PrintFont;
pub use layout::{Block, Printout};

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// No Chinese font is installed or configured.
    #[error("服务器未安装中文字体，暂时无法生成 PDF，请联系管理员（配置 [print] font）")]
    NoFont,
    /// The font file could not be read.
    #[error("打印字体无法读取：{0}")]
    BadFont(String),
    /// The PDF writer failed.
    #[error("PDF 生成失败：{0}")]
    Render(String),
}

impl PrintError {
    /// The stable code programs see.
    pub fn code(&self) -> &'static str {
        match self {
            PrintError::NoFont | PrintError::BadFont(_) => "print_font_missing",
            PrintError::Render(_) => "print_failed",
        }
    }
}
