//! The reserve: disk space held in a preallocated file beside the data file, given up when the disk fills.
//!
//! A store on a full disk can still shrink: acknowledgements and deletions free pages, and a
//! reconnect rewrites a few bytes. But each commit first needs a few fresh pages (redb never
//! overwrites the pages the last commit relies on), so on a disk filled to the last byte even
//! those fail, and the queue that filled the disk could never drain. The reserve keeps
//! `store.reserve` bytes allocated for that moment: released when a commit finds the disk
//! full, re-created once the disk has room for it again.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Free space wanted beyond the reserve itself before the store takes new data again, when
/// the reserve is small or off: without some room to spare, the next message would fill the
/// disk again at once.
const MIN_SPARE: u64 = 1 << 20;

/// The reserve file of one data directory.
#[derive(Debug)]
pub(crate) struct Reserve {
    path: PathBuf,
    size: u64,
}

impl Reserve {
    /// Name of the reserve file inside the data directory.
    pub(crate) const FILE_NAME: &'static str = "robustmq.reserve";

    /// The reserve of `dir`, `size` bytes (0: none).
    pub(crate) fn new(dir: &Path, size: u64) -> Reserve {
        Reserve {
            path: dir.join(Self::FILE_NAME),
            size,
        }
    }

    /// The reserve file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Its size in bytes.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Free bytes the disk must have before the store takes new data again: the reserve and as
    /// much again to use (at least [`MIN_SPARE`]), so that it does not fill again at once.
    pub(crate) fn room_needed(&self) -> u64 {
        self.size.saturating_add(self.size.max(MIN_SPARE))
    }

    /// Makes the reserve file hold `size` allocated bytes. `Ok(false)` when the disk has no
    /// room for it (nothing is left behind then); with no reserve, removes a stale file.
    pub(crate) fn fill(&self) -> io::Result<bool> {
        if self.size == 0 {
            return self.release().map(|()| true);
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        // A reserve from a larger setting gives back what is over.
        if file.metadata()?.len() > self.size {
            file.set_len(self.size)?;
        }
        match allocate(&file, self.size) {
            Ok(()) => Ok(true),
            Err(e) if is_out_of_space(&e) => {
                drop(file);
                self.release()?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Removes the reserve file, giving its space back to the disk.
    pub(crate) fn release(&self) -> io::Result<()> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether the disk may have room for the reserve and some to spare: `true` when that
    /// cannot be told, so that the caller just tries.
    pub(crate) fn may_fit(&self) -> bool {
        self.available().is_none_or(|free| free >= self.room_needed())
    }

    /// Whether, with the reserve made, the disk has the rest of [`Reserve::room_needed`]
    /// free: `true` when that cannot be told.
    pub(crate) fn has_spare(&self) -> bool {
        self.available()
            .is_none_or(|free| free >= self.room_needed() - self.size)
    }

    fn available(&self) -> Option<u64> {
        available(self.path.parent().unwrap_or(Path::new(".")))
    }
}

/// Whether an I/O error says the disk (or the user's quota, or the file size limit) is full.
pub(crate) fn is_out_of_space(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded | io::ErrorKind::FileTooLarge
    )
}

/// Allocates `len` bytes of `file` on the disk, so that writing them later cannot fail for space.
#[cfg(unix)]
#[allow(unsafe_code)]
fn allocate(file: &File, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let len_off = libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the descriptor is open for writing for the duration of the call.
    match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len_off) } {
        0 => Ok(()),
        // A file system without fallocate (and a C library that does not emulate it).
        libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL => write_zeros(file, len),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

#[cfg(not(unix))]
fn allocate(file: &File, len: u64) -> io::Result<()> {
    write_zeros(file, len)
}

/// Allocates `len` bytes of `file` by writing zeros (a sparse `set_len` would hold no space).
fn write_zeros(file: &File, len: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = file;
    let zeros = vec![0u8; 1 << 20];
    file.seek(SeekFrom::Start(0))?;
    let mut left = len;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        file.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()
}

/// Bytes an unprivileged process may still write to the file system of `dir`.
#[cfg(unix)]
#[allow(unsafe_code)]
fn available(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs only writes into the struct it is given; an all-zero one is valid.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

#[cfg(not(unix))]
fn available(_dir: &Path) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_made_resized_and_released() {
        let dir = tempfile::tempdir().unwrap();
        let reserve = Reserve::new(dir.path(), 64 * 1024);
        assert!(reserve.fill().unwrap());
        assert_eq!(fs::metadata(reserve.path()).unwrap().len(), 64 * 1024);
        let smaller = Reserve::new(dir.path(), 4096);
        assert!(smaller.fill().unwrap());
        assert_eq!(fs::metadata(smaller.path()).unwrap().len(), 4096);
        smaller.release().unwrap();
        assert!(!smaller.path().exists());
        smaller.release().unwrap();
        assert!(Reserve::new(dir.path(), 0).fill().unwrap());
        assert!(!smaller.path().exists());
    }

    #[test]
    fn zeros_are_written_where_the_file_system_cannot_preallocate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zeros");
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        write_zeros(&file, (1 << 20) + 17).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), (1 << 20) + 17);
    }

    #[test]
    fn out_of_space_errors_are_told_apart() {
        assert!(is_out_of_space(&io::Error::from(io::ErrorKind::StorageFull)));
        assert!(!is_out_of_space(&io::Error::from(
            io::ErrorKind::PermissionDenied
        )));
    }
}
