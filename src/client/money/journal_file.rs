//! The journal in a file: one JSON document, rewritten whole (a temporary file renamed over it)
//! while an exclusive lock on a sibling `.lock` file is held, so that two processes never lose
//! each other's entries. Files are created with mode 600 (Unix).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::entry::{JournalEntry, JournalStore};
use crate::error::{Error, Result};

/// The format version written; a newer one is refused rather than overwritten.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    entries: Vec<JournalEntry>,
}

/// A [`JournalStore`] in a file.
#[derive(Debug)]
pub(crate) struct FileStore {
    path: PathBuf,
    lock: PathBuf,
}

fn failed(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::config(format!("journal {}: {what}: {e}", path.display()))
}

/// Opens (creating) `path` for reading and writing, mode 600 where there are modes.
fn private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

impl FileStore {
    /// The store at `path`; its folder is created when missing.
    pub(crate) fn open(path: PathBuf) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| failed(&path, "creating its folder", e))?;
        }
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        let store = Self {
            path,
            lock: lock.into(),
        };
        store.update(&mut |_| {})?;
        Ok(store)
    }

    fn read(&self) -> Result<Vec<JournalEntry>> {
        let text = match fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(failed(&self.path, "reading", e)),
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        let doc: Document =
            serde_json::from_slice(&text).map_err(|e| failed(&self.path, "not a journal", e))?;
        if doc.version > VERSION {
            return Err(failed(
                &self.path,
                "written by a newer opx",
                format!("version {}", doc.version),
            ));
        }
        Ok(doc.entries)
    }

    fn write(&self, entries: Vec<JournalEntry>) -> Result<()> {
        let doc = Document {
            version: VERSION,
            entries,
        };
        let text =
            serde_json::to_vec_pretty(&doc).map_err(|e| failed(&self.path, "encoding", e))?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut file = private(&tmp).map_err(|e| failed(&tmp, "creating", e))?;
        file.set_len(0)
            .and_then(|()| file.write_all(&text))
            .and_then(|()| file.sync_all())
            .map_err(|e| failed(&tmp, "writing", e))?;
        fs::rename(&tmp, &self.path).map_err(|e| failed(&self.path, "replacing", e))?;
        // The rename itself made durable (Unix: the folder synced; elsewhere a no-op).
        #[cfg(unix)]
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    }
}

impl JournalStore for FileStore {
    fn update(&self, change: &mut dyn FnMut(&mut Vec<JournalEntry>)) -> Result<()> {
        let lock = private(&self.lock).map_err(|e| failed(&self.lock, "opening", e))?;
        lock.lock().map_err(|e| failed(&self.lock, "locking", e))?;
        let before = self.read()?;
        let mut entries = before.clone();
        change(&mut entries);
        let written = if entries != before || !self.path.exists() {
            self.write(entries)
        } else {
            Ok(())
        };
        drop(lock);
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::money::entry::MoneyCall;
    use crate::client::money::journal::Journal;

    fn call(n: u8) -> MoneyCall {
        MoneyCall::Extend {
            service_id: format!("65aa1100b2c3d4e5f6a7b8{n:02x}").parse().unwrap(),
            expires_before: chrono::Utc::now(),
        }
    }

    #[test]
    fn entries_survive_a_reopen_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("journal.json");
        let now = chrono::Utc::now();
        let id = Journal::file(&path)
            .unwrap()
            .begin(call(1), Some(10), now, None)
            .unwrap();
        let again = Journal::file(&path).unwrap();
        let unknown = again.unknown().unwrap();
        assert_eq!((unknown.len(), unknown[0].id), (1, id));
        again.settle(id, crate::safe::Charge::Done, None, now);
        assert!(Journal::file(&path).unwrap().unknown().unwrap().is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
    }

    #[test]
    fn two_writers_at_once_lose_no_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.json");
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let journal = Journal::file(&path).unwrap();
                    for n in 0..10u8 {
                        journal
                            .begin(call(t * 10 + n), None, chrono::Utc::now(), None)
                            .unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let entries = Journal::file(&path).unwrap().entries().unwrap();
        let mut ids: Vec<_> = entries.iter().map(|e| e.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 40, "every entry kept, each with its own number");
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.json");
        fs::write(&path, "not json").unwrap();
        let e = Journal::file(&path).unwrap_err();
        assert!(e.message().contains("not a journal"), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "not json");
    }
}
