//! Where the index's files live: tantivy's memory-mapped directory, with the
//! durability of commits taken out of the path of freshness.
//!
//! tantivy syncs every file of a commit to disk before the commit returns
//! (each file of each new segment, then `meta.json` and the directory): about
//! ten `fsync`s, 40–60 ms on a virtual disk, between a change on another node
//! and the search that finds it. The index is derived data (the database's
//! change log is the truth and the index records how far it applied it), so a
//! commit here only writes its files and makes them visible; they are synced
//! to disk by [`IndexDirectory::checkpoint`], every few seconds from
//! [`crate::follow`], after a rebuild and when the server stops. A power loss
//! between two checkpoints loses at most those seconds of commits: on the next
//! start the index either opens at an earlier commit (its recorded change is
//! earlier too, so the follower applies the rest again) or fails to open (a
//! file it names was not written out), and then it is rebuilt from the
//! database ([`crate::SearchIndex::open_or_create`]).

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, TerminatingWrite, WatchCallback,
    WatchHandle, WritePtr,
};

/// The index directory: reads, locks and watches are tantivy's
/// [`MmapDirectory`]; writes are not synced until [`IndexDirectory::checkpoint`].
#[derive(Clone)]
pub(crate) struct IndexDirectory {
    mmap: MmapDirectory,
    root: PathBuf,
    /// Files written since the last checkpoint (paths relative to `root`).
    unsynced: Arc<Mutex<BTreeSet<PathBuf>>>,
}

impl std::fmt::Debug for IndexDirectory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexDirectory").field("root", &self.root).finish_non_exhaustive()
    }
}

impl IndexDirectory {
    /// The directory `root`, which must exist.
    pub(crate) fn open(root: &Path) -> Result<IndexDirectory, tantivy::directory::error::OpenDirectoryError> {
        Ok(IndexDirectory {
            mmap: MmapDirectory::open(root)?,
            root: root.to_path_buf(),
            unsynced: Arc::new(Mutex::new(BTreeSet::new())),
        })
    }

    fn unsynced(&self) -> std::sync::MutexGuard<'_, BTreeSet<PathBuf>> {
        self.unsynced.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many files were written since the last checkpoint.
    pub(crate) fn unsynced_files(&self) -> usize {
        self.unsynced().len()
    }

    /// Syncs to disk every file written since the last checkpoint, then the
    /// directory (so their names and the last `meta.json` are durable). Files
    /// deleted meanwhile (merged segments) are skipped.
    pub(crate) fn checkpoint(&self) -> io::Result<()> {
        let files = std::mem::take(&mut *self.unsynced());
        if files.is_empty() {
            return Ok(());
        }
        let result = (|| {
            for path in &files {
                match File::open(self.root.join(path)) {
                    Ok(file) => file.sync_data()?,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            File::open(&self.root)?.sync_all()
        })();
        if result.is_err() {
            // Tried again at the next checkpoint.
            self.unsynced().extend(files);
        }
        result
    }

    fn written(&self, path: &Path) {
        self.unsynced().insert(path.to_path_buf());
    }
}

/// A file being written: flushed to the operating system when tantivy
/// terminates it, synced at the next checkpoint.
struct UnsyncedFile(File);

impl Write for UnsyncedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TerminatingWrite for UnsyncedFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        self.0.flush()
    }
}

impl Directory for IndexDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.mmap.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.unsynced().remove(path);
        self.mmap.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.mmap.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let file = OpenOptions::new().write(true).create_new(true).open(self.root.join(path)).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                OpenWriteError::FileAlreadyExists(path.to_path_buf())
            } else {
                OpenWriteError::wrap_io_error(e, path.to_path_buf())
            }
        })?;
        self.written(path);
        Ok(BufWriter::new(Box::new(UnsyncedFile(file))))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.mmap.atomic_read(path)
    }

    /// Readers see the old or the new content, never a part (a new file
    /// renamed over the old one); synced at the next checkpoint.
    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let target = self.root.join(path);
        let mut temp = tempfile::Builder::new().prefix(".atomic").tempfile_in(&self.root)?;
        temp.write_all(data)?;
        temp.flush()?;
        temp.into_temp_path().persist(&target).map_err(|e| e.error)?;
        self.written(path);
        Ok(())
    }

    fn sync_directory(&self) -> io::Result<()> {
        // The directory is synced at the next checkpoint.
        Ok(())
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.mmap.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.mmap.watch(watch_callback)
    }
}
