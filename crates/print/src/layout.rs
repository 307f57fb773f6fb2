//! A printout as blocks (title, headings, label–value pairs, paragraphs, a QR code), laid out on
//! A4 pages with wrapping and page breaks, and written as PDF.

use crate::{PrintError, PrintFont};
use krilla::Document;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::KrillaGlyph;

/// One part of a printout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// The document's title, centred.
    Title(String),
    /// A section heading with a rule under it.
    Heading(String),
    /// A label and its value (wrapped beside the label).
    Pair(String, String),
    /// A paragraph.
    Text(String),
    /// A QR code of the text, with a caption beside it.
    Qr {
        /// What the code holds.
        content: String,
        /// Lines written beside it.
        caption: Vec<String>,
    },
}

/// A document to print.
#[derive(Debug, Clone, Default)]
pub struct Printout {
    /// Its title (also the PDF's title).
    pub title: String,
    /// Its blocks.
    pub blocks: Vec<Block>,
    /// A line at the foot of every page.
    pub footer: String,
    /// The PDF's keywords (a licence's identifier, for checking an uploaded copy).
    pub keywords: Vec<String>,
}

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const BODY: f32 = 11.0;
const LABEL_WIDTH: f32 = 150.0;

struct Writer<'a> {
    font: &'a PrintFont,
    kfont: krilla::text::Font,
    document: Document,
    pages: Vec<Vec<Draw>>,
    y: f32,
}

enum Draw {
    Text { x: f32, y: f32, size: f32, text: String },
    Rect { x: f32, y: f32, w: f32, h: f32 },
}

impl Writer<'_> {
    fn width(&self, text: &str, size: f32) -> Result<f32, PrintError> {
        Ok(self.font.shape(text)?.iter().map(|(_, a, _)| a * size).sum())
    }

    /// Splits text into lines no wider than `max`: between Chinese characters anywhere, Latin
    /// words and numbers kept whole where they fit, no line starting with closing punctuation.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Result<Vec<String>, PrintError> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            let mut width = 0.0;
            // Where the line may break: the byte offset in `line` and the width before it.
            let mut breakable: Option<(usize, f32)> = None;
            let mut previous: Option<char> = None;
            for (_, advance, range) in self.font.shape(paragraph)? {
                let piece = &paragraph[range];
                let c = piece.chars().next().unwrap_or(' ');
                let w = advance * size;
                if previous.is_some_and(|p| may_break(p, c)) {
                    breakable = Some((line.len(), width));
                }
                if width + w > max && !line.is_empty() {
                    match breakable.filter(|(at, _)| *at > 0) {
                        Some((at, before)) => {
                            let rest = line.split_off(at);
                            lines.push(line.trim_end().to_owned());
                            line = rest.trim_start().to_owned();
                            width -= before;
                        }
                        None => {
                            lines.push(std::mem::take(&mut line));
                            width = 0.0;
                        }
                    }
                    breakable = None;
                }
                line.push_str(piece);
                width += w;
                previous = Some(c);
            }
            lines.push(line);
        }
        Ok(lines)
    }

    fn need(&mut self, height: f32) {
        if self.y + height > HEIGHT - MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn put(&mut self, draw: Draw) {
        if let Some(page) = self.pages.last_mut() {
            page.push(draw);
        }
    }

    fn text(&mut self, x: f32, size: f32, text: &str) {
        self.put(Draw::Text { x, y: self.y + size, size, text: text.to_owned() });
    }

    fn block(&mut self, block: &Block) -> Result<(), PrintError> {
        let line = BODY * 1.6;
        match block {
            Block::Title(title) => {
                let size = 18.0;
                self.need(size * 2.0);
                let w = self.width(title, size)?;
                self.text(((WIDTH - w) / 2.0).max(MARGIN), size, title);
                self.y += size * 2.2;
            }
            Block::Heading(heading) => {
                let size = 13.0;
                self.need(size * 3.0);
                self.y += size * 0.6;
                self.text(MARGIN, size, heading);
                self.y += size * 1.5;
                self.put(Draw::Rect { x: MARGIN, y: self.y, w: WIDTH - 2.0 * MARGIN, h: 0.6 });
                self.y += size * 0.5;
            }
            Block::Pair(label, value) => {
                let labels = self.wrap(label, BODY, LABEL_WIDTH - 10.0)?;
                let values = self.wrap(value, BODY, WIDTH - 2.0 * MARGIN - LABEL_WIDTH)?;
                for i in 0..labels.len().max(values.len()) {
                    self.need(line);
                    if let Some(l) = labels.get(i) {
                        self.text(MARGIN, BODY, l);
                    }
                    if let Some(v) = values.get(i) {
                        self.text(MARGIN + LABEL_WIDTH, BODY, v);
                    }
                    self.y += line;
                }
            }
            Block::Text(text) => {
                for l in self.wrap(text, BODY, WIDTH - 2.0 * MARGIN)? {
                    self.need(line);
                    self.text(MARGIN, BODY, &l);
                    self.y += line;
                }
            }
            Block::Qr { content, caption } => {
                let code = qrcode::QrCode::new(content.as_bytes()).map_err(|e| PrintError::Render(e.to_string()))?;
                let modules = code.width();
                let side = 96.0_f32;
                let cell = side / modules as f32;
                self.need(side + 12.0);
                let top = self.y;
                let colors = code.to_colors();
                for (i, color) in colors.iter().enumerate() {
                    if *color == qrcode::Color::Dark {
                        let (cx, cy) = ((i % modules) as f32, (i / modules) as f32);
                        self.put(Draw::Rect { x: MARGIN + cx * cell, y: top + cy * cell, w: cell, h: cell });
                    }
                }
                self.y = top + 8.0;
                for l in caption {
                    self.text(MARGIN + side + 16.0, BODY, l);
                    self.y += line;
                }
                self.y = top + side + 12.0;
            }
        }
        Ok(())
    }

    fn draw_text(&self, surface: &mut Surface<'_>, x: f32, y: f32, size: f32, text: &str) -> Result<(), PrintError> {
        let glyphs: Vec<KrillaGlyph> = self
            .font
            .shape(text)?
            .into_iter()
            .map(|(id, advance, range)| KrillaGlyph {
                glyph_id: krilla::text::GlyphId::new(id),
                text_range: range,
                x_advance: advance,
                x_offset: 0.0,
                y_offset: 0.0,
                y_advance: 0.0,
                location: None,
            })
            .collect();
        surface.draw_glyphs(Point::from_xy(x, y), &glyphs, self.kfont.clone(), text, size, false);
        Ok(())
    }
}

/// Whether a line may break between `before` and `after`.
fn may_break(before: char, after: char) -> bool {
    const NO_START: &str = "，。、；：！？）》」』】”’,.;:!?)]}%";
    const NO_END: &str = "（《「『【“‘([{";
    let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '@');
    if NO_START.contains(after) || NO_END.contains(before) {
        return false;
    }
    !(word(before) && word(after))
}

impl Printout {
    /// Lays the printout out and writes the PDF.
    pub fn render(&self, font: &PrintFont) -> Result<Vec<u8>, PrintError> {
        let mut w =
            Writer { font, kfont: font.krilla()?, document: Document::new(), pages: vec![Vec::new()], y: MARGIN };
        for block in &self.blocks {
            w.block(block)?;
        }
        let pages = std::mem::take(&mut w.pages);
        let count = pages.len();
        let settings = PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| PrintError::Render("page size".into()))?;
        let mut document = std::mem::take(&mut w.document);
        for (n, draws) in pages.iter().enumerate() {
            let mut page = document.start_page_with(settings.clone());
            let mut surface = page.surface();
            surface.set_fill(Some(Fill::default()));
            for draw in draws {
                match draw {
                    Draw::Text { x, y, size, text } => w.draw_text(&mut surface, *x, *y, *size, text)?,
                    Draw::Rect { x, y, w: width, h } => {
                        let mut path = PathBuilder::new();
                        if let Some(rect) = Rect::from_xywh(*x, *y, *width, *h) {
                            path.push_rect(rect);
                        }
                        if let Some(path) = path.finish() {
                            surface.draw_path(&path);
                        }
                    }
                }
            }
            let foot = format!("{}    第 {} 页 / 共 {count} 页", self.footer, n + 1);
            w.draw_text(&mut surface, MARGIN, HEIGHT - MARGIN / 2.0, 8.0, foot.trim())?;
            surface.finish();
            page.finish();
        }
        document.set_metadata(
            Metadata::new()
                .title(self.title.clone())
                .keywords(self.keywords.clone())
                .language("zh-CN".into())
                .creator("GovHall".into()),
        );
        document.finish().map_err(|e| PrintError::Render(format!("{e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Chinese font is needed; the test suite's set-up installs one.
    fn font() -> Option<PrintFont> {
        PrintFont::locate(None, 0).ok()
    }

    #[test]
    fn lines_break_between_words_and_never_before_closing_punctuation() {
        let Some(font) = font() else { return };
        let w = Writer {
            font: &font,
            kfont: font.krilla().unwrap(),
            document: Document::new(),
            pages: vec![Vec::new()],
            y: MARGIN,
        };
        let lines = w.wrap("申请材料：certificate-of-registration.pdf（3 KB）", 11.0, 150.0).unwrap();
        assert!(lines.iter().any(|l| l.contains("certificate-of-registration.pdf")), "{lines:?}");
        assert!(lines.iter().all(|l| !l.starts_with('）') && !l.starts_with('，')), "{lines:?}");
        let cjk = w.wrap(&"很长的说明文字，".repeat(10), 11.0, 100.0).unwrap();
        assert!(cjk.len() > 5 && cjk.iter().all(|l| !l.starts_with('，')), "{cjk:?}");
    }

    #[test]
    fn chinese_text_and_a_qr_code_make_a_pdf() {
        let Some(font) = font() else {
            assert!(std::env::var("CI").is_err(), "CI must have a CJK font installed");
            return;
        };
        let long = "很长的说明文字，".repeat(60);
        let mut blocks = vec![
            Block::Title("广东省网上办事大厅 申请表".into()),
            Block::Qr {
                content: "https://hall.example/progress".into(), caption: vec!["办件编号 44011100123".into()]
            },
            Block::Heading("申请人信息".into()),
            Block::Pair("申请人姓名".into(), "张三".into()),
            Block::Pair("申请事项说明".into(), long),
        ];
        for i in 0..60 {
            blocks.push(Block::Pair(format!("第{i}项"), "内容".into()));
        }
        let pdf =
            Printout {
                title: "申请表".into(), blocks, footer: "办件编号 44011100123".into(), keywords: Vec::new()
            }
            .render(&font)
            .unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        if let Ok(out) = std::env::var("PRINT_TEST_OUT") {
            std::fs::write(out, &pdf).unwrap();
        }
        // Subset: far smaller than the font file itself.
        let font_size = std::fs::metadata(font.path()).unwrap().len();
        assert!((pdf.len() as u64) < font_size / 10, "{} bytes of PDF for a {font_size}-byte font", pdf.len());
    }
}
