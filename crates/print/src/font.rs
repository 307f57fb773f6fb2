//! The printing font: a configured file, else the first CJK font found in the usual places
//! (Noto Sans CJK SC, WenQuanYi, AR PL). Loaded once; characters are mapped to glyphs with the
//! font's own tables, and characters it lacks are drawn as the font's missing glyph.

use crate::PrintError;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where CJK fonts usually live, with the face to use in a collection.
const CANDIDATES: &[(&str, u32)] = &[
    // Index 2 of the Noto CJK collection is Simplified Chinese.
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
];

/// A loaded font.
#[derive(Clone)]
pub struct PrintFont {
    data: Arc<Vec<u8>>,
    index: u32,
    path: PathBuf,
}

impl std::fmt::Debug for PrintFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintFont").field("path", &self.path).field("index", &self.index).finish()
    }
}

impl PrintFont {
    /// The configured font (`path`, face `index`), else the first one found.
    pub fn locate(configured: Option<&Path>, index: u32) -> Result<PrintFont, PrintError> {
        match configured {
            Some(path) => PrintFont::load(path, index),
            None => CANDIDATES
                .iter()
                .find(|(p, _)| Path::new(p).exists())
                .map(|(p, i)| PrintFont::load(Path::new(p), *i))
                .unwrap_or(Err(PrintError::NoFont)),
        }
    }

    /// Loads the face `index` of the font file at `path`.
    pub fn load(path: &Path, index: u32) -> Result<PrintFont, PrintError> {
        let data = std::fs::read(path).map_err(|e| PrintError::BadFont(format!("{}: {e}", path.display())))?;
        let font = PrintFont { data: Arc::new(data), index, path: path.to_owned() };
        let face = font.face()?;
        if face.charmap().map('中').is_none() {
            return Err(PrintError::BadFont(format!("{} 不含中文字形", path.display())));
        }
        Ok(font)
    }

    /// Where it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn face(&self) -> Result<FontRef<'_>, PrintError> {
        FontRef::from_index(&self.data, self.index).map_err(|e| PrintError::BadFont(e.to_string()))
    }

    pub(crate) fn krilla(&self) -> Result<krilla::text::Font, PrintError> {
        let data: Arc<dyn AsRef<[u8]> + Send + Sync> = self.data.clone();
        krilla::text::Font::new(data.into(), self.index).ok_or_else(|| PrintError::BadFont("krilla".into()))
    }

    /// Glyphs and advances (in em) of `text`.
    pub(crate) fn shape(&self, text: &str) -> Result<Vec<(u32, f32, std::ops::Range<usize>)>, PrintError> {
        let face = self.face()?;
        let charmap = face.charmap();
        let metrics = face.glyph_metrics(Size::unscaled(), LocationRef::default());
        let upem = face.metrics(Size::unscaled(), LocationRef::default()).units_per_em.max(1) as f32;
        Ok(text
            .char_indices()
            .map(|(i, c)| {
                let glyph = charmap.map(c).unwrap_or_default();
                let advance = metrics.advance_width(glyph).unwrap_or(upem / 2.0) / upem;
                (glyph.to_u32(), advance, i..i + c.len_utf8())
            })
            .collect())
    }
}
