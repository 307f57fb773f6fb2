//! The index's files as searches read them: each read whole into memory once, when tantivy
//! first opens it, and checked against the CRC-32 tantivy writes in its footer. A damaged file is
//! refused (the index is then rebuilt) rather than searched, and what someone or something writes
//! into a file afterwards cannot change what is served: tantivy writes a segment's files once,
//! and its `Directory` contract says an open file's data does not change, which a memory map of a
//! file that is written into does not keep. Writes, locks and the commit files go to the folder
//! through tantivy's own `MmapDirectory`.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::footer::Footer;
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, FileSlice, Lock, MmapDirectory, OwnedBytes, WatchCallback, WatchHandle,
    WritePtr,
};

/// An index folder whose files are read into memory, checked.
#[derive(Debug, Clone)]
pub(crate) struct CheckedDirectory {
    root: PathBuf,
    folder: MmapDirectory,
    /// Files read so far, until tantivy deletes them (segment files never change).
    loaded: Arc<Mutex<HashMap<PathBuf, OwnedBytes>>>,
}

impl CheckedDirectory {
    /// The index folder `root`, which must exist.
    pub fn open(root: &Path) -> tantivy::Result<CheckedDirectory> {
        Ok(CheckedDirectory { root: root.to_owned(), folder: MmapDirectory::open(root)?, loaded: Arc::default() })
    }

    fn loaded(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, OwnedBytes>> {
        self.loaded.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether `file` (a whole index file, footer included) holds what its footer's checksum says.
fn intact(file: &OwnedBytes) -> io::Result<bool> {
    let (footer, body) = Footer::extract_footer(FileSlice::new(Arc::new(file.clone())))?;
    Ok(crc32(body.read_bytes()?.as_slice()) == footer.crc)
}

impl Directory for CheckedDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        if let Some(file) = self.loaded().get(path) {
            return Ok(Arc::new(file.clone()));
        }
        let file = match std::fs::read(self.root.join(path)) {
            Ok(bytes) => OwnedBytes::new(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(OpenReadError::FileDoesNotExist(path.into())),
            Err(e) => return Err(OpenReadError::wrap_io_error(e, path.into())),
        };
        let damaged =
            |why: String| OpenReadError::wrap_io_error(io::Error::new(io::ErrorKind::InvalidData, why), path.into());
        match intact(&file) {
            Ok(true) => {}
            Ok(false) => return Err(damaged("the file does not match its checksum".to_owned())),
            Err(e) => return Err(damaged(format!("the file's footer cannot be read: {e}"))),
        }
        self.loaded().insert(path.to_owned(), file.clone());
        Ok(Arc::new(file))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.loaded().remove(path);
        self.folder.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.folder.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.folder.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.folder.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.folder.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.folder.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.folder.acquire_lock(lock)
    }

    fn watch(&self, callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.folder.watch(callback)
    }
}

/// CRC-32 (ISO-HDLC: reflected 0x04C11DB7, as zlib and tantivy's footer compute it), a byte at a
/// time from a table.
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, &b| TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{STORED, Schema, TEXT};
    use tantivy::{Index, IndexWriter, TantivyDocument, doc};

    #[test]
    fn the_checksum_is_tantivys() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn every_file_is_checked_when_read_and_later_writes_do_not_show() {
        let dir = tempfile::tempdir().unwrap();
        let mut schema = Schema::builder();
        let body = schema.add_text_field("body", TEXT | STORED);
        let index =
            Index::create(CheckedDirectory::open(dir.path()).unwrap(), schema.build(), Default::default()).unwrap();
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..500 {
            writer.add_document(doc!(body => format!("word{i} common"))).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert!(index.validate_checksum().unwrap().is_empty(), "tantivy agrees with our checksum");
        // A byte changed in the middle of each file, as a failing disk or a bad copy would.
        let store = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "store"))
            .unwrap();
        let mut bytes = std::fs::read(&store).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xFF;
        std::fs::write(&store, &bytes).unwrap();
        // What is open was read before: unchanged.
        let doc: TantivyDocument = searcher.doc(tantivy::DocAddress::new(0, 0)).unwrap();
        assert!(doc.get_first(body).is_some());
        // Opened afresh, the file is refused.
        let again = Index::open(CheckedDirectory::open(dir.path()).unwrap()).unwrap();
        assert!(again.validate_checksum().is_err() || !again.validate_checksum().unwrap().is_empty());
        assert!(again.reader().is_err(), "a damaged file is never searched");
    }
}
