//! Opening what claims to be an image, a PDF or an OFD package: a file that does not open is
//! refused, so staff never receive a broken material. Images are decoded whole (with a limit on
//! their pixel count, against decompression bombs); PDFs are pre-scanned (see `crate::pdf`:
//! every stream decoded within limits, scripts and attachments refused), then parsed and must
//! have pages; every member of an OFD package is unpacked through a limit.

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

fn pdf_opens(path: &Path) -> Result<(), FileError> {
    // The whole file is read (it is at most the upload limit) and checked before it is parsed:
    // every stream decoded with limits, scripts, automatic actions and attachments looked for.
    let scanned = crate::pdf::prescan(std::fs::read(path)?)?;
    let pdf = match hayro_syntax::Pdf::new(scanned.data) {
        Ok(pdf) => pdf,
        Err(hayro_syntax::LoadPdfError::Decryption(_)) => {
            return Err(FileError::Corrupt("PDF 文件设置了密码，请上传未加密的文件".into()));
        }
        Err(_) => return Err(corrupt("PDF ")),
    };
    if pdf.pages().is_empty() {
        return Err(FileError::Corrupt("PDF 文件没有页面，请检查后重新上传".into()));
    }
    // The pre-scan judged every `/OpenAction` written out; one given as a reference is judged
    // here, on the object the catalog names.
    if crate::pdf::open_action_runs(&pdf) {
        return Err(crate::pdf::active("/OpenAction"));
    }
    Ok(())
}

/// The most bytes one member of an OFD package may unpack to.
const OFD_MEMBER_LIMIT: u64 = 64 << 20;

/// The most bytes all members of an OFD package may unpack to.
const OFD_TOTAL_LIMIT: u64 = 256 << 20;

/// Past 1 MiB, a member may unpack to at most 100 times its packed size (XML packs 10 to 20
/// times, images and fonts hardly at all).
const OFD_RATIO: (u64, u64) = (1 << 20, 100);

/// The most members an OFD package may hold.
const OFD_MEMBERS: usize = 10_000;

fn ofd_too_complex() -> FileError {
    FileError::TooComplex("OFD 文件解压后的内容超过上限，请重新导出后上传".into())
}

fn ofd_opens(path: &Path) -> Result<(), FileError> {
    let file = BufReader::new(std::fs::File::open(path)?);
    let not_ofd = || FileError::Refused("压缩包不是 OFD 文档（缺少 OFD.xml），不能作为材料上传".into());
    let mut archive = zip::ZipArchive::new(file).map_err(|_| corrupt("OFD "))?;
    if archive.len() > OFD_MEMBERS {
        return Err(not_ofd());
    }
    // An OFD package holds XML, images and fonts; anything that runs or renders is refused.
    let refused = [".exe", ".dll", ".js", ".vbs", ".bat", ".cmd", ".ps1", ".sh", ".html", ".htm", ".svg", ".jar"];
    let mut total: u64 = 0;
    let mut has_ofd_xml = false;
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|_| corrupt("OFD "))?;
        let name = member.name().map_err(|_| corrupt("OFD "))?.into_owned();
        let lower = name.to_lowercase();
        if refused.iter().any(|ext| lower.ends_with(ext)) {
            return Err(FileError::Refused(format!("OFD 文件中含有不允许的内容（{name}），不能作为材料上传")));
        }
        if member.is_dir() {
            continue;
        }
        // What the package says first (central directory), then what the member really holds,
        // read through a limit so that a header that lies cannot make it more.
        let declared = member.size();
        let (floor, ratio) = OFD_RATIO;
        total = total.saturating_add(declared);
        if declared > OFD_MEMBER_LIMIT
            || total > OFD_TOTAL_LIMIT
            || (declared > floor && declared > ratio.saturating_mul(member.compressed_size().max(1)))
        {
            return Err(ofd_too_complex());
        }
        let mut head = [0u8; 256];
        let head_len = if name == "OFD.xml" {
            has_ofd_xml = true;
            read_up_to(&mut member, &mut head).map_err(|_| corrupt("OFD "))?
        } else {
            0
        };
        let rest =
            std::io::copy(&mut (&mut member).take(declared + 1), &mut std::io::sink()).map_err(|_| corrupt("OFD "))?;
        if rest + head_len as u64 > declared {
            return Err(ofd_too_complex());
        }
        if name == "OFD.xml" {
            let text = String::from_utf8_lossy(&head[..head_len]);
            if !(text.contains("ofd:OFD") || text.contains("<OFD")) {
                return Err(not_ofd());
            }
        }
    }
    if has_ofd_xml { Ok(()) } else { Err(not_ofd()) }
}

/// Reads until `buf` is full or the reader ends.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
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

    const OFD_XML: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:OFD xmlns:ofd=\"http://www.ofdspec.org/2016\" \
                             Version=\"1.0\"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>";

    /// A package whose members are `(name, piece, times)`: `piece` written `times` over.
    fn package(members: &[(&str, &[u8], usize)]) -> Vec<u8> {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, piece, times) in members {
            w.start_file(*name, options).unwrap();
            for _ in 0..*times {
                w.write_all(piece).unwrap();
            }
        }
        w.finish().unwrap().into_inner()
    }

    fn ofd_code(bytes: &[u8]) -> &'static str {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ofd");
        std::fs::write(&path, bytes).unwrap();
        verify(Kind::Ofd, &path).map_or_else(|e| e.code(), |()| "ok")
    }

    #[test]
    fn ofd_packages_are_unpacked_within_limits() {
        let page = b"<ofd:Page><ofd:Content><ofd:Layer><ofd:TextObject/></ofd:Layer></ofd:Content></ofd:Page>";
        assert_eq!(ofd_code(&package(&[("OFD.xml", OFD_XML, 1), ("Doc_0/Pages/Page_0/Content.xml", page, 100)])), "ok");
        assert_eq!(ofd_code(&package(&[("Doc_0/Document.xml", page, 1)])), "file_type_refused");
        assert_eq!(ofd_code(&package(&[("OFD.xml", OFD_XML, 1), ("Doc_0/run.js", b"x", 1)])), "file_type_refused");
        // A member that unpacks to 80 MiB (from about 80 KB).
        let mib = vec![0u8; 1 << 20];
        let bomb = package(&[("OFD.xml", OFD_XML, 1), ("Doc_0/Res/image.xml", &mib, 80)]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        assert_eq!(ofd_code(&bomb), "file_too_complex");
        // 2 MiB at a thousandfold: past the ratio.
        assert_eq!(ofd_code(&package(&[("OFD.xml", OFD_XML, 1), ("Doc_0/a.xml", &mib, 2)])), "file_too_complex");
        // A header that says 1000 bytes for a member of 1 MiB: read through the limit, refused.
        let mut lying = package(&[("OFD.xml", OFD_XML, 1), ("Doc_0/a.xml", &mib, 1)]);
        let real = (1u32 << 20).to_le_bytes();
        for (signature, at) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
            let mut i = 0;
            while let Some(p) = lying[i..].windows(4).position(|w| w == signature) {
                let field = i + p + at;
                if lying[field..field + 4] == real {
                    lying[field..field + 4].copy_from_slice(&1000u32.to_le_bytes());
                }
                i += p + 4;
            }
        }
        assert!(["file_too_complex", "file_corrupt"].contains(&ofd_code(&lying)), "{}", ofd_code(&lying));
    }
}
