//! The store: a local folder (`<data>/files` by default). A write streams the body to a
//! temporary file while hashing and counting, stops at the size limit, judges the first bytes as
//! soon as they arrive, checks the whole file, scans it when clamd is configured, and only then
//! moves it under its key. A refused upload leaves nothing behind.
//!
//! Materials are ID scans and the like: on unix the store's folders are made `0700` and its
//! files `0600`, readable by the service's own user only (folders made before are tightened
//! when the store opens).

use crate::sniff::{Sniffed, sniff};
use crate::{FileError, Kind, clamd, verify};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// How the store behaves.
#[derive(Debug, Clone)]
pub struct FilesSettings {
    /// The folder files are kept in.
    pub dir: PathBuf,
    /// The largest file taken, in bytes.
    pub max_file_bytes: u64,
    /// clamd's address (`127.0.0.1:3310`), when uploads are to be scanned.
    pub clamd: Option<String>,
}

/// A file that was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stored {
    /// Where it is in the store.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// SHA-256 of its content, hex.
    pub sha256: String,
    /// What it is.
    pub kind: Kind,
}

/// The file store.
#[derive(Debug, Clone)]
pub struct FileStore {
    settings: FilesSettings,
}

const HEAD: usize = 512;

static VERIFYING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// A temporary file removed when dropped (a no-op once it has been renamed away).
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl FileStore {
    /// A store in `settings.dir` (made when missing).
    pub fn open(settings: FilesSettings) -> std::io::Result<FileStore> {
        for dir in [settings.dir.join("tmp"), settings.dir.join("objects")] {
            private_dir_builder().create(&dir)?;
        }
        for dir in [settings.dir.clone(), settings.dir.join("tmp"), settings.dir.join("objects")] {
            tighten(&dir);
        }
        Ok(FileStore { settings })
    }

    /// The settings.
    pub fn settings(&self) -> &FilesSettings {
        &self.settings
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        // Keys are ours (objects/xx/uuid); anything else is not looked up.
        let ok = key.len() < 80 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'-');
        (ok && key.starts_with("objects/") && !key.contains("..")).then(|| self.settings.dir.join(key))
    }

    /// The key a file stored as `id` will have.
    pub fn key_for(id: Uuid) -> String {
        format!("objects/{}/{id}", &id.simple().to_string()[28..30])
    }

    /// Streams `body` into the store when it is one of `accepted` and no larger than `limit`
    /// (at most the store's own limit).
    pub async fn put<S, E>(&self, body: S, accepted: &[Kind], limit: u64) -> Result<Stored, FileError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        self.put_as(Uuid::now_v7(), body, accepted, limit).await
    }

    /// [`FileStore::put`] under the key of `id` (see [`FileStore::key_for`]), for a caller that
    /// notes the key before the file arrives.
    pub async fn put_as<S, E>(&self, id: Uuid, body: S, accepted: &[Kind], limit: u64) -> Result<Stored, FileError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let limit = limit.min(self.settings.max_file_bytes);
        // Removed on every way out, a dropped request included, unless it became the object.
        let tmp = TempFile(self.settings.dir.join("tmp").join(id.to_string()));
        let (size, sha256, kind) = self.write(body, accepted, limit, &tmp.0).await?;
        let key = Self::key_for(id);
        let target = self.settings.dir.join(&key);
        if let Some(parent) = target.parent() {
            let mut builder = tokio::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            builder.mode(0o700);
            builder.create(parent).await?;
        }
        tokio::fs::rename(&tmp.0, &target).await?;
        Ok(Stored { key, size, sha256, kind })
    }

    async fn write<S, E>(
        &self,
        body: S,
        accepted: &[Kind],
        limit: u64,
        tmp: &Path,
    ) -> Result<(u64, String, Kind), FileError>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(tmp).await?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::with_capacity(HEAD);
        let mut judged: Option<Sniffed> = None;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| FileError::Interrupted(e.to_string()))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(FileError::TooLarge(limit));
            }
            if judged.is_none() {
                let take = (HEAD - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
                if head.len() >= HEAD {
                    judged = Some(judge(&head, accepted)?);
                }
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        if size == 0 {
            return Err(FileError::Empty);
        }
        let sniffed = match judged {
            Some(s) => s,
            None => judge(&head, accepted)?,
        };
        let kind = match sniffed {
            Sniffed::Accepted(kind) => kind,
            _ => Kind::Ofd,
        };
        let path = tmp.to_owned();
        // Opening images and PDFs takes memory and time: two at once per node.
        let _turn = VERIFYING.acquire().await.map_err(|e| FileError::Io(std::io::Error::other(e.to_string())))?;
        let checked = tokio::task::spawn_blocking(move || verify::verify(kind, &path))
            .await
            .map_err(|e| FileError::Io(std::io::Error::other(e.to_string())))?;
        checked?;
        if !accepted.contains(&kind) {
            return Err(refused_kind(kind, accepted));
        }
        if let Some(address) = &self.settings.clamd {
            clamd::scan(address, tmp).await?;
        }
        Ok((size, hex::encode(hasher.finalize()), kind))
    }

    /// Reads a whole stored file (small files: printing, tests).
    pub async fn read(&self, key: &str) -> Result<Vec<u8>, FileError> {
        let path = self.path(key).ok_or_else(|| FileError::Io(std::io::ErrorKind::NotFound.into()))?;
        Ok(tokio::fs::read(path).await?)
    }

    /// Opens a stored file for streaming back.
    pub async fn open_file(&self, key: &str) -> Result<tokio::fs::File, FileError> {
        let path = self.path(key).ok_or_else(|| FileError::Io(std::io::ErrorKind::NotFound.into()))?;
        Ok(tokio::fs::File::open(path).await?)
    }

    /// Removes a stored file; a missing one is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), FileError> {
        let Some(path) = self.path(key) else { return Ok(()) };
        match tokio::fs::remove_file(path).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Removes temporary files older than an hour (uploads that broke off with the process).
    pub async fn sweep_temporary(&self) -> Result<usize, FileError> {
        let mut removed = 0;
        let mut dir = tokio::fs::read_dir(self.settings.dir.join("tmp")).await?;
        while let Some(entry) = dir.next_entry().await? {
            let old = entry
                .metadata()
                .await
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            if old && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Makes folders, with their parents, readable by this user only.
fn private_dir_builder() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

/// Takes group and other permissions off a folder made by an older version (best effort: a
/// folder another user owns is left as it is, with a warning).
fn tighten(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(dir) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
                    tracing::warn!(dir = %dir.display(), error = %e, "could not make the file store's folder private");
                }
            }
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

fn refused_kind(kind: Kind, accepted: &[Kind]) -> FileError {
    FileError::Refused(format!("此材料只接受 {} 格式，所选文件是 {}", Kind::list(accepted), kind.label()))
}

fn judge(head: &[u8], accepted: &[Kind]) -> Result<Sniffed, FileError> {
    match sniff(head) {
        Sniffed::Refused(what) => {
            Err(FileError::Refused(format!("文件内容是{what}，不能作为材料上传（只接受 {}）", Kind::list(accepted))))
        }
        Sniffed::Unknown => Err(FileError::Refused(format!(
            "无法识别文件内容，只接受 {} 格式；请不要只修改扩展名",
            Kind::list(accepted)
        ))),
        Sniffed::Accepted(kind) if !accepted.contains(&kind) => Err(refused_kind(kind, accepted)),
        Sniffed::Zip if !accepted.contains(&Kind::Ofd) => {
            Err(FileError::Refused(format!("压缩包不能作为材料上传，只接受 {} 格式", Kind::list(accepted))))
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path, max: u64) -> FileStore {
        FileStore::open(FilesSettings { dir: dir.to_owned(), max_file_bytes: max, clamd: None }).unwrap()
    }

    fn chunks(data: Vec<u8>, size: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
        let parts: Vec<Result<Bytes, std::io::Error>> =
            data.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        futures::stream::iter(parts)
    }

    fn leftovers(dir: &Path) -> usize {
        std::fs::read_dir(dir.join("tmp")).unwrap().count()
    }

    #[tokio::test]
    async fn a_png_is_kept_with_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 1 << 20);
        let png = verify::tests::tiny_png();
        let stored = s.put(chunks(png.clone(), 7), &Kind::ALL, 1 << 20).await.unwrap();
        assert_eq!(stored.kind, Kind::Png);
        assert_eq!(stored.size, png.len() as u64);
        assert_eq!(stored.sha256, hex::encode(Sha256::digest(&png)));
        assert_eq!(s.read(&stored.key).await.unwrap(), png);
        assert!(s.read("../../etc/passwd").await.is_err());
        s.delete(&stored.key).await.unwrap();
        assert!(s.read(&stored.key).await.is_err());
    }

    #[tokio::test]
    async fn refusals_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path(), 4096);
        let mut pdf = b"%PDF-1.4\n".to_vec();
        pdf.resize(10_000, b' ');
        let big = s.put(chunks(pdf, 1000), &Kind::ALL, 1 << 20).await.unwrap_err();
        assert!(matches!(big, FileError::TooLarge(4096)), "{big:?}");
        let mut exe = b"MZ".to_vec();
        exe.resize(2000, 0);
        let e = s.put(chunks(exe, 100), &Kind::ALL, 4096).await.unwrap_err();
        assert_eq!(e.code(), "file_type_refused");
        assert!(e.to_string().contains("Windows 可执行程序"), "{e}");
        let e = s.put(chunks(b"<html><script>alert(1)</script>".to_vec(), 5), &[Kind::Pdf], 4096).await.unwrap_err();
        assert!(e.to_string().contains("网页"), "{e}");
        let e = s.put(chunks(b"%PDF-1.4\nnot really".to_vec(), 5), &[Kind::Pdf], 4096).await.unwrap_err();
        assert_eq!(e.code(), "file_corrupt");
        let e = s.put(chunks(verify::tests::tiny_png(), 5), &[Kind::Pdf], 4096).await.unwrap_err();
        assert!(e.to_string().contains("只接受 PDF"), "{e}");
        let e = s.put(chunks(Vec::new(), 5), &[Kind::Pdf], 4096).await.unwrap_err();
        assert_eq!(e.code(), "file_empty");
        assert_eq!(leftovers(dir.path()), 0);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn files_and_folders_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("files");
        // A store made by an older version: world-readable folders.
        std::fs::create_dir_all(root.join("objects")).unwrap();
        for d in [&root, &root.join("objects")] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let s = store(&root, 1 << 20);
        let stored = s.put(chunks(verify::tests::tiny_png(), 7), &Kind::ALL, 1 << 20).await.unwrap();
        let object = root.join(&stored.key);
        assert_eq!(mode(&object), 0o600, "the stored file");
        for d in [root.clone(), root.join("tmp"), root.join("objects"), object.parent().unwrap().to_owned()] {
            assert_eq!(mode(&d), 0o700, "{}", d.display());
        }
    }
}
