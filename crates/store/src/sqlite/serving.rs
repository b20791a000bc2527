//! One server process per SQLite file, held by a lock.
//!
//! The serving process keeps state of the file in its memory (which device
//! authorization holds each user code, device authorizations per address),
//! which is exact only while no other process creates device
//! authorizations in the file. Admin commands open the file beside the
//! server, but never create or look up device authorizations; a second
//! server would, so it is refused.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::{StoreError, StoreResult};

/// Held while a server serves the file; dropping it (or the process ending,
/// however it ends) lets the next server start.
#[derive(Debug)]
pub struct ServeLock {
    _file: File,
}

/// The lock file beside the database: `sitegpt.db` is held through
/// `sitegpt.db.serve-lock`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".serve-lock");
    PathBuf::from(name)
}

impl ServeLock {
    /// Takes the lock on `database`'s lock file, or says which file is
    /// already served.
    pub fn acquire(database: &Path) -> StoreResult<ServeLock> {
        ServeLock::acquire_for(database, "sitegpt-server")
    }

    /// [`ServeLock::acquire`] for the server binary named `server` (the
    /// refusal names it).
    pub fn acquire_for(database: &Path, server: &str) -> StoreResult<ServeLock> {
        let path = lock_path(database);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::Backend(format!("cannot create {}: {e}", parent.display())))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => Ok(ServeLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Backend(format!(
                "another {server} is serving {}: stop it first (one server process per SQLite file; \
                 several nodes need PostgreSQL, see docs/deploy.md)",
                database.display()
            ))),
            Err(TryLockError::Error(e)) => Err(StoreError::Backend(format!("cannot lock {}: {e}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_server_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().expect("dir");
        let database = dir.path().join("data").join("sitegpt.db");
        let first = ServeLock::acquire(&database).expect("first");
        let second = ServeLock::acquire(&database).expect_err("second");
        let message = second.to_string();
        assert!(message.contains("another sitegpt-server is serving"), "{message}");
        assert!(message.contains("sitegpt.db"), "{message}");
        drop(first);
        ServeLock::acquire(&database).expect("after the first let go");
        assert!(lock_path(&database).ends_with("sitegpt.db.serve-lock"));
    }
}
