//! Opening what claims to be an image, a PDF or an OFD package: a file that does not open is
//! refused, so staff never receive a broken material. Images are decoded whole (with a limit on
//! their pixel count, against decompression bombs); PDFs are parsed and must have pages.

use crate::{FileError, Kind};
use std::io::{BufReader, Read};
use std::path::Path;

/// The most pixels an uploaded image may have (a 40-megapixel photograph; scans are far less).
const MAX_PIXELS: u64 = 40_000_000;

/// The most memory a JPEG's decoding may take.
const MAX_JPEG_BUFFER: usize = 256 * 1024 * 1024;

/// Checks that the file at `path` opens as `kind`.
pub fn verify(kind: Kind, path: &Path) -> Result<(), FileError> {
    match kind {
        Kind::Png => png_opens(path),
        Kind::Jpeg => jpeg_opens(path),
        Kind::Pdf => pdf_opens(path),
        Kind::Ofd => ofd_opens(path),
    }
}

fn corrupt(what: &str) -> FileError {
    FileError::Corrupt(format!("{what}文件已损坏或不完整，无法打开，请重新导出后上传"))
}

fn too_many_pixels() -> FileError {
    FileError::Corrupt("图片像素过大（超过 4000 万像素），请缩小后上传".into())
}

fn png_opens(path: &Path) -> Result<(), FileError> {
    let file = BufReader::new(std::fs::File::open(path)?);
    let mut reader = png::Decoder::new(file).read_info().map_err(|_| corrupt("PNG 图片"))?;
    let info = reader.info();
    if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
        return Err(too_many_pixels());
    }
    // Row by row: memory stays one row, however large the image claims to be.
    while reader.next_row().map_err(|_| corrupt("PNG 图片"))?.is_some() {}
    reader.finish().map_err(|_| corrupt("PNG 图片"))?;
    Ok(())
}

fn jpeg_opens(path: &Path) -> Result<(), FileError> {
    let file = BufReader::new(std::fs::File::open(path)?);
    let mut decoder = jpeg_decoder::Decoder::new(file);
    decoder.set_max_decoding_buffer_size(MAX_JPEG_BUFFER);
    decoder.read_info().map_err(|_| corrupt("JPG 图片"))?;
    let info = decoder.info().ok_or_else(|| corrupt("JPG 图片"))?;
    if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
        return Err(too_many_pixels());
    }
    decoder.decode().map_err(|_| corrupt("JPG 图片"))?;
    Ok(())
}

/// Names of PDF actions that run something when the file is opened (attachments, which
/// electronic invoices carry, are not among them).
const ACTIVE_PDF: [&[u8]; 4] = [b"/JavaScript", b"/JS", b"/Launch", b"/RichMedia"];

fn pdf_opens(path: &Path) -> Result<(), FileError> {
    let data = std::fs::read(path)?;
    // Names written in the clear (not inside compressed object streams: clamd, when configured,
    // looks further).
    let active = ACTIVE_PDF.iter().any(|name| {
        data.windows(name.len())
            .enumerate()
            .any(|(i, w)| w == *name && !data.get(i + name.len()).is_some_and(|b| b.is_ascii_alphanumeric()))
    });
    if active {
        return Err(FileError::Refused(
            "PDF 文件含有脚本或启动程序的动作，不能作为材料上传；请重新“打印为 PDF”后上传".into(),
        ));
    }
    match hayro_syntax::Pdf::new(data) {
        Ok(pdf) if !pdf.pages().is_empty() => Ok(()),
        Ok(_) => Err(FileError::Corrupt("PDF 文件没有页面，请检查后重新上传".into())),
        Err(hayro_syntax::LoadPdfError::Decryption(_)) => {
            Err(FileError::Corrupt("PDF 文件设置了密码，请上传未加密的文件".into()))
        }
        Err(_) => Err(corrupt("PDF ")),
    }
}

fn ofd_opens(path: &Path) -> Result<(), FileError> {
    let file = std::fs::File::open(path)?;
    let not_ofd = || FileError::Refused("压缩包不是 OFD 文档（缺少 OFD.xml），不能作为材料上传".into());
    let mut archive = zip::ZipArchive::new(file).map_err(|_| corrupt("OFD "))?;
    if archive.len() > 10_000 {
        return Err(not_ofd());
    }
    // An OFD package holds XML, images and fonts; anything that runs or renders is refused.
    let refused = [".exe", ".dll", ".js", ".vbs", ".bat", ".cmd", ".ps1", ".sh", ".html", ".htm", ".svg", ".jar"];
    for name in archive.file_names() {
        let name = name.map_err(|_| corrupt("OFD "))?;
        let lower = name.to_lowercase();
        if refused.iter().any(|ext| lower.ends_with(ext)) {
            return Err(FileError::Refused(format!("OFD 文件中含有不允许的内容（{name}），不能作为材料上传")));
        }
    }
    let mut entry = archive.by_name("OFD.xml").map_err(|_| not_ofd())?;
    let mut head = [0u8; 256];
    let n = entry.read(&mut head).map_err(|_| corrupt("OFD "))?;
    let text = String::from_utf8_lossy(&head[..n]);
    if text.contains("ofd:OFD") || text.contains("<OFD") { Ok(()) } else { Err(not_ofd()) }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A real 2×2 PNG.
    pub(crate) fn tiny_png() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, 2, 2);
            encoder.set_color(png::ColorType::Rgb);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[255; 12]).unwrap();
        }
        out
    }

    #[test]
    fn broken_images_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        let mut png = tiny_png();
        std::fs::write(&path, &png).unwrap();
        verify(Kind::Png, &path).unwrap();
        png.truncate(png.len() - 20);
        std::fs::write(&path, &png).unwrap();
        assert_eq!(verify(Kind::Png, &path).unwrap_err().code(), "file_corrupt");
        // A PDF with a script in it.
        std::fs::write(&path, b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>").unwrap();
        assert_eq!(verify(Kind::Pdf, &path).unwrap_err().code(), "file_type_refused");
        let mut png = tiny_png();
        png.truncate(png.len() - 20);
        std::fs::write(&path, &png).unwrap();
        assert_eq!(verify(Kind::Png, &path).unwrap_err().code(), "file_corrupt");
        std::fs::write(&path, [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F']).unwrap();
        assert_eq!(verify(Kind::Jpeg, &path).unwrap_err().code(), "file_corrupt");
    }
}
