//! Where the index's files live: tantivy's memory-mapped directory, with the
//! durability of commits and the file system taken out of the path of
//! freshness.
//!
//! tantivy syncs every file of a commit to disk before the commit returns
//! (each file of each new segment, then `meta.json` and the directory): about
//! ten `fsync`s, 40–60 ms on a virtual disk, between a change on another node
//! and the search that finds it. Even unsynced, creating those files costs a
//! one-story commit more time than indexing it (ext4 allocates an inode per
//! file, then each is mapped for reading). The index is derived data (the
//! database's change log is the truth and the index records how far it
//! applied it), so a commit here keeps its new files in memory and makes them
//! visible at once; [`IndexDirectory::checkpoint`] writes them out and syncs
//! them, every few seconds from [`crate::follow`], after a rebuild and when
//! the server stops. Large files (a rebuild's segments, big merges) go to disk
//! as they are written and are synced at the checkpoint too.
//!
//! What is on disk is always a checkpoint: files tantivy deletes that the last
//! checkpoint's `meta.json` may name are removed only after the next one has
//! written its own. A crash or power loss between two checkpoints loses at
//! most those seconds of commits: on the next start the index opens at the
//! last checkpoint (its recorded change is earlier too, so the follower
//! applies the rest again), or, if the disk lost what a checkpoint wrote,
//! fails to open and is rebuilt from the database
//! ([`crate::SearchIndex::open_or_create`]).

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, TerminatingWrite,
    WatchCallback, WatchHandle, WritePtr,
};

/// A file larger than this goes to disk as it is written instead of being held.
const HOLD_FILE_LIMIT: usize = 4 << 20;
/// Held files take at most about this much memory; beyond it new files go to disk.
const HOLD_TOTAL_LIMIT: usize = 64 << 20;
/// The file tantivy's commits end with; written last at a checkpoint.
const META: &str = "meta.json";

/// The index directory: reads of files on disk, locks and watches are
/// tantivy's [`MmapDirectory`]; new files are held in memory (or, when large,
/// written unsynced) until [`IndexDirectory::checkpoint`].
#[derive(Clone)]
pub(crate) struct IndexDirectory {
    mmap: MmapDirectory,
    root: PathBuf,
    pending: Arc<Mutex<Pending>>,
    /// One checkpoint at a time.
    checkpointing: Arc<Mutex<()>>,
}

/// What the disk does not have yet, or still has.
#[derive(Default)]
struct Pending {
    /// Files written since the last checkpoint and held in memory.
    held: HashMap<PathBuf, Held>,
    held_bytes: usize,
    /// Numbers the held versions (an atomic file is written again in place).
    version: u64,
    /// Files written to disk since the last checkpoint, not yet synced.
    unsynced: BTreeSet<PathBuf>,
    /// Files deleted by tantivy that are still on disk: the last checkpoint's
    /// `meta.json` may name them, so they go once the next one is written.
    doomed: BTreeSet<PathBuf>,
}

#[derive(Clone)]
struct Held {
    bytes: OwnedBytes,
    version: u64,
    /// Written with [`Directory::atomic_write`] (replaced as a whole).
    atomic: bool,
}

impl Pending {
    fn hold(&mut self, path: PathBuf, bytes: OwnedBytes, atomic: bool) {
        self.version += 1;
        self.held_bytes += bytes.len();
        let held = Held { bytes, version: self.version, atomic };
        if let Some(old) = self.held.insert(path, held) {
            self.held_bytes -= old.bytes.len();
        }
    }

    fn release(&mut self, path: &Path) -> Option<Held> {
        let held = self.held.remove(path)?;
        self.held_bytes -= held.bytes.len();
        Some(held)
    }
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
            pending: Arc::new(Mutex::new(Pending::default())),
            checkpointing: Arc::new(Mutex::new(())),
        })
    }

    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many files the disk does not have as the index has them (written
    /// and not yet synced, or deleted and still there) since the last checkpoint.
    pub(crate) fn unsynced_files(&self) -> usize {
        let pending = self.pending();
        pending.held.len() + pending.unsynced.len() + pending.doomed.len()
    }

    /// Makes the disk hold the index as it is now: writes out and syncs every
    /// file written since the last checkpoint (`meta.json` last, each atomic
    /// file through a new file renamed over the old one), syncs the directory,
    /// then removes the files deleted before this checkpoint began. Commits may
    /// go on meanwhile; what they write waits for the next checkpoint.
    pub(crate) fn checkpoint(&self) -> io::Result<()> {
        let _one = self.checkpointing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (mut held, unsynced, doomed) = {
            let mut pending = self.pending();
            let held: Vec<(PathBuf, Held)> = pending.held.iter().map(|(p, h)| (p.clone(), h.clone())).collect();
            (held, std::mem::take(&mut pending.unsynced), std::mem::take(&mut pending.doomed))
        };
        if held.is_empty() && unsynced.is_empty() && doomed.is_empty() {
            return Ok(());
        }
        // Segment files, then the atomic ones, meta.json last.
        held.sort_by_key(|(path, h)| (h.atomic, path.as_os_str() == META));
        let written = (|| {
            for (path, h) in held.iter().filter(|(_, h)| !h.atomic) {
                let mut file = File::create(self.root.join(path))?;
                file.write_all(h.bytes.as_slice())?;
                file.sync_data()?;
            }
            for path in &unsynced {
                match File::open(self.root.join(path)) {
                    Ok(file) => file.sync_data()?,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            let directory = File::open(&self.root)?;
            directory.sync_all()?;
            for (path, h) in held.iter().filter(|(_, h)| h.atomic) {
                let mut temp = tempfile::Builder::new().prefix(".atomic").tempfile_in(&self.root)?;
                temp.write_all(h.bytes.as_slice())?;
                temp.as_file().sync_data()?;
                temp.into_temp_path().persist(self.root.join(path)).map_err(|e| e.error)?;
            }
            directory.sync_all()
        })();
        let mut pending = self.pending();
        if let Err(e) = written {
            // Tried again at the next checkpoint; what is held stays held.
            pending.unsynced.extend(unsynced);
            pending.doomed.extend(doomed);
            return Err(e);
        }
        for (path, h) in held {
            match pending.held.get(&path) {
                // On disk as held: read from there from now on.
                Some(now) if now.version == h.version => {
                    pending.release(&path);
                }
                // Written again meanwhile (an atomic file): the next checkpoint writes it.
                Some(_) => {}
                // Deleted while being written out: it goes at the next checkpoint.
                None => {
                    pending.doomed.insert(path);
                }
            }
        }
        drop(pending);
        // The meta.json on disk now is newer than these deletions.
        for path in doomed {
            match std::fs::remove_file(self.root.join(&path)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    self.pending().doomed.insert(path);
                    return Err(e);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn create_on_disk(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(self.root.join(path))
    }
}

/// A file being written: held in memory until it grows past
/// [`HOLD_FILE_LIMIT`], then written to disk (synced at the next checkpoint).
struct NewFile {
    dir: IndexDirectory,
    path: PathBuf,
    held: Vec<u8>,
    disk: Option<File>,
}

impl NewFile {
    fn to_disk(&mut self) -> io::Result<&mut File> {
        if self.disk.is_none() {
            let mut file = self.dir.create_on_disk(&self.path)?;
            self.dir.pending().unsynced.insert(self.path.clone());
            file.write_all(&std::mem::take(&mut self.held))?;
            self.disk = Some(file);
        }
        Ok(self.disk.as_mut().expect("just set"))
    }
}

impl Write for NewFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.disk.is_none() && self.held.len() + buf.len() <= HOLD_FILE_LIMIT {
            self.held.extend_from_slice(buf);
            return Ok(buf.len());
        }
        self.to_disk()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TerminatingWrite for NewFile {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        match &mut self.disk {
            Some(file) => file.flush(),
            None => {
                let bytes = OwnedBytes::new(std::mem::take(&mut self.held));
                self.dir.pending().hold(self.path.clone(), bytes, false);
                Ok(())
            }
        }
    }
}

impl Directory for IndexDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        {
            let pending = self.pending();
            if let Some(h) = pending.held.get(path) {
                return Ok(Arc::new(h.bytes.clone()));
            }
            if pending.doomed.contains(path) {
                return Err(OpenReadError::FileDoesNotExist(path.to_path_buf()));
            }
        }
        self.mmap.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        let mut pending = self.pending();
        if pending.release(path).is_some() {
            return Ok(());
        }
        if pending.doomed.contains(path) {
            return Err(DeleteError::FileDoesNotExist(path.to_path_buf()));
        }
        if !self.root.join(path).exists() {
            return Err(DeleteError::FileDoesNotExist(path.to_path_buf()));
        }
        // Written to disk since the last checkpoint or not: the checkpoint
        // under way may be writing a meta.json that names it.
        pending.unsynced.remove(path);
        pending.doomed.insert(path.to_path_buf());
        Ok(())
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        {
            let pending = self.pending();
            if pending.held.contains_key(path) {
                return Ok(true);
            }
            if pending.doomed.contains(path) {
                return Ok(false);
            }
        }
        self.mmap.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let exists = self.exists(path).map_err(|e| OpenWriteError::wrap_io_error(io::Error::other(e), path.into()))?;
        if exists {
            return Err(OpenWriteError::FileAlreadyExists(path.to_path_buf()));
        }
        let mut file = NewFile { dir: self.clone(), path: path.to_path_buf(), held: Vec::new(), disk: None };
        if self.pending().held_bytes >= HOLD_TOTAL_LIMIT {
            file.to_disk().map_err(|e| OpenWriteError::wrap_io_error(e, path.to_path_buf()))?;
        }
        Ok(BufWriter::new(Box::new(file)))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        {
            let pending = self.pending();
            if let Some(h) = pending.held.get(path) {
                return Ok(h.bytes.as_slice().to_vec());
            }
        }
        self.mmap.atomic_read(path)
    }

    /// Readers see the old or the new content, never a part; written to disk
    /// (a new file renamed over the old one) at the next checkpoint.
    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.pending().hold(path.to_path_buf(), OwnedBytes::new(data.to_vec()), true);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &IndexDirectory, name: &str, bytes: &[u8]) {
        let mut w = dir.open_write(Path::new(name)).expect("open_write");
        w.write_all(bytes).expect("write");
        w.terminate().expect("terminate");
    }

    fn read(dir: &IndexDirectory, name: &str) -> Vec<u8> {
        let handle = dir.get_file_handle(Path::new(name)).expect("open");
        handle.read_bytes(0..handle.len()).expect("read").as_slice().to_vec()
    }

    #[test]
    fn new_files_reach_the_disk_at_the_checkpoint_meta_last() {
        let tmp = tempfile::tempdir().expect("dir");
        let dir = IndexDirectory::open(tmp.path()).expect("open");
        write(&dir, "a.idx", b"postings");
        dir.atomic_write(Path::new(META), b"{\"v\":1}").expect("meta");
        assert_eq!(read(&dir, "a.idx"), b"postings", "readable at once");
        assert_eq!(dir.atomic_read(Path::new(META)).expect("meta"), b"{\"v\":1}");
        assert!(dir.exists(Path::new("a.idx")).expect("exists"));
        assert!(!tmp.path().join("a.idx").exists(), "held in memory until the checkpoint");
        assert!(!tmp.path().join(META).exists());
        assert!(matches!(dir.open_write(Path::new("a.idx")), Err(OpenWriteError::FileAlreadyExists(_))));
        assert_eq!(dir.unsynced_files(), 2);

        dir.checkpoint().expect("checkpoint");
        assert_eq!(dir.unsynced_files(), 0);
        assert_eq!(std::fs::read(tmp.path().join("a.idx")).expect("on disk"), b"postings");
        assert_eq!(std::fs::read(tmp.path().join(META)).expect("on disk"), b"{\"v\":1}");
        assert_eq!(read(&dir, "a.idx"), b"postings", "read from the disk now");
        let stray: Vec<_> = std::fs::read_dir(tmp.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .filter(|n| n.to_string_lossy().starts_with(".atomic"))
            .collect();
        assert!(stray.is_empty(), "temporary files left: {stray:?}");
    }

    #[test]
    fn deleted_files_stay_on_disk_until_the_next_checkpoint_has_written_its_meta() {
        let tmp = tempfile::tempdir().expect("dir");
        let dir = IndexDirectory::open(tmp.path()).expect("open");
        write(&dir, "old.idx", b"old");
        dir.atomic_write(Path::new(META), b"old").expect("meta");
        dir.checkpoint().expect("checkpoint");

        write(&dir, "new.idx", b"new");
        dir.atomic_write(Path::new(META), b"new").expect("meta");
        dir.delete(Path::new("old.idx")).expect("delete");
        assert!(!dir.exists(Path::new("old.idx")).expect("exists"));
        assert!(dir.get_file_handle(Path::new("old.idx")).is_err());
        assert!(matches!(dir.delete(Path::new("old.idx")), Err(DeleteError::FileDoesNotExist(_))));
        // The disk still holds the last checkpoint, whole.
        assert_eq!(std::fs::read(tmp.path().join(META)).expect("meta"), b"old");
        assert!(tmp.path().join("old.idx").exists());
        assert!(!tmp.path().join("new.idx").exists());

        dir.checkpoint().expect("checkpoint");
        assert_eq!(std::fs::read(tmp.path().join(META)).expect("meta"), b"new");
        assert!(tmp.path().join("new.idx").exists());
        assert!(!tmp.path().join("old.idx").exists(), "removed once the new meta is on disk");

        // A file held and deleted before any checkpoint never reaches the disk.
        write(&dir, "brief.idx", b"brief");
        dir.delete(Path::new("brief.idx")).expect("delete");
        dir.checkpoint().expect("checkpoint");
        assert!(!tmp.path().join("brief.idx").exists());
        assert_eq!(dir.unsynced_files(), 0);
    }

    #[test]
    fn a_large_file_goes_to_disk_as_it_is_written() {
        let tmp = tempfile::tempdir().expect("dir");
        let dir = IndexDirectory::open(tmp.path()).expect("open");
        let big = vec![7u8; HOLD_FILE_LIMIT + 1];
        write(&dir, "big.store", &big);
        assert_eq!(std::fs::metadata(tmp.path().join("big.store")).expect("on disk").len(), big.len() as u64);
        assert_eq!(read(&dir, "big.store"), big);
        assert_eq!(dir.unsynced_files(), 1, "synced at the next checkpoint");
        dir.checkpoint().expect("checkpoint");
        assert_eq!(dir.unsynced_files(), 0);
    }
}
