//! Uploaded files (上传材料): streamed to a store with a size limit, their content sniffed and
//! checked (images and PDFs must open; HTML, SVG, scripts and executables are refused), hashed
//! with SHA-256 and, when configured, scanned by clamd. Nothing is buffered whole in memory.
//!
//! - [`store`]: the store (a local folder) and the streaming write.
//! - [`sniff`]: what the bytes are, whatever the name says.
//! - [`verify`]: opening images, PDFs and OFD packages, with limits on what they unpack to.
//! - `pdf`: the PDF pre-scan (every stream decoded with limits, refused names looked for).
//! - [`clamd`]: the optional virus scanner.
//! - [`names`]: file names made safe to keep and to send back.

pub mod clamd;
pub mod names;
mod pdf;
pub mod pdf_info;
pub mod sniff;
pub mod store;
pub mod table;
pub mod verify;

pub use sniff::Kind;
pub use store::{FileStore, FilesSettings, Stored};

/// Why a file was not kept. Each has a stable code and a Chinese message.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Larger than allowed (stopped at the limit, nothing kept).
    #[error("文件超过大小上限 {}", human_size(*.0))]
    TooLarge(u64),
    /// Nothing was sent.
    #[error("文件是空的，请重新选择")]
    Empty,
    /// Not one of the accepted types, whatever its name says.
    #[error("{0}")]
    Refused(String),
    /// Of an accepted type but broken.
    #[error("{0}")]
    Corrupt(String),
    /// Unpacks to more than a check may take (a decompression bomb, or near enough).
    #[error("{0}")]
    TooComplex(String),
    /// The scanner found something.
    #[error("文件未通过病毒扫描（{0}），已拒收")]
    Infected(String),
    /// The scanner is configured but does not answer.
    #[error("病毒扫描服务暂时不可用，请稍后再上传")]
    ScannerUnavailable(String),
    /// The upload broke off.
    #[error("上传中断，请重新上传")]
    Interrupted(String),
    /// The store failed.
    #[error("文件存储出错，请稍后再试")]
    Io(#[from] std::io::Error),
}

impl FileError {
    /// The stable code programs see.
    pub fn code(&self) -> &'static str {
        match self {
            FileError::TooLarge(_) => "file_too_large",
            FileError::Empty => "file_empty",
            FileError::Refused(_) => "file_type_refused",
            FileError::Corrupt(_) => "file_corrupt",
            FileError::TooComplex(_) => "file_too_complex",
            FileError::Infected(_) => "file_infected",
            FileError::ScannerUnavailable(_) => "scanner_unavailable",
            FileError::Interrupted(_) => "upload_interrupted",
            FileError::Io(_) => "file_store_error",
        }
    }
}

/// A size as people read it: 10 MB, 512 KB.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        let mb = bytes as f64 / (1024.0 * 1024.0);
        if (mb - mb.round()).abs() < 0.05 { format!("{} MB", mb.round()) } else { format!("{mb:.1} MB") }
    } else if bytes >= 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        format!("{bytes} 字节")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_well() {
        assert_eq!(super::human_size(10 * 1024 * 1024), "10 MB");
        assert_eq!(super::human_size(1536 * 1024), "1.5 MB");
        assert_eq!(super::human_size(2000), "2 KB");
    }
}
