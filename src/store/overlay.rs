//! A copy-on-write view of a file, so redb can check, recover and read it without writing it.
//!
//! Opening a redb file for writing writes to it before it is fully verified (it marks the file
//! open, and an integrity check commits its result). To keep the promise that a corrupt file, or
//! one from a newer schema, is left byte for byte as it was, the store first opens the file through
//! this backend: reads come from the file, writes stay in memory and are dropped with it. Only a
//! file that passes that dry run is opened for real.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Mutex, MutexGuard};

use redb::StorageBackend;

/// Granularity of the in-memory copies. redb writes whole pages of this size or larger, so
/// copy-on-write rarely has to read a block it is about to overwrite.
const BLOCK: u64 = 4096;

/// A read-only file plus the writes redb made to it, in memory.
pub(crate) struct OverlayBackend {
    state: Mutex<State>,
}

struct State {
    file: File,
    /// Bytes of the file still visible: a shrink hides the rest, and growing again shows zeros.
    file_visible: u64,
    /// Length redb sees.
    len: u64,
    /// Blocks redb wrote, by block index; each is `BLOCK` bytes.
    blocks: HashMap<u64, Box<[u8]>>,
}

impl OverlayBackend {
    /// Wraps a file opened for reading. Nothing will ever be written to it.
    pub(crate) fn new(file: File) -> io::Result<Self> {
        let len = file.metadata()?.len();
        Ok(Self {
            state: Mutex::new(State {
                file,
                file_visible: len,
                len,
                blocks: HashMap::new(),
            }),
        })
    }

    // A panic inside redb while holding the lock is already being turned into an error by the
    // caller, so reading through a poisoned lock is fine.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// Reads `out.len()` bytes at `offset` of the original file, zeros past its visible end.
    fn read_file(&mut self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        out.fill(0);
        if offset >= self.file_visible {
            return Ok(());
        }
        let available = usize::try_from(self.file_visible - offset).unwrap_or(usize::MAX);
        let n = out.len().min(available);
        self.file.seek(SeekFrom::Start(offset))?;
        self.file.read_exact(&mut out[..n])
    }

    /// The block with this index as redb last left it.
    fn block_mut(&mut self, index: u64) -> io::Result<&mut [u8]> {
        if !self.blocks.contains_key(&index) {
            let mut block = vec![0; BLOCK as usize].into_boxed_slice();
            self.read_file(index * BLOCK, &mut block)?;
            self.blocks.insert(index, block);
        }
        self.blocks
            .get_mut(&index)
            .map(|b| &mut b[..])
            .ok_or_else(|| io::Error::other("overlay block vanished"))
    }
}

/// Splits `[offset, offset + len)` into (block index, offset in block, offset in buffer, length).
fn spans(offset: u64, len: usize) -> impl Iterator<Item = (u64, usize, usize, usize)> {
    let mut done = 0usize;
    std::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let at = offset + done as u64;
        let in_block = (at % BLOCK) as usize;
        let n = (BLOCK as usize - in_block).min(len - done);
        let span = (at / BLOCK, in_block, done, n);
        done += n;
        Some(span)
    })
}

fn out_of_range() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "read past the end of the file")
}

impl StorageBackend for OverlayBackend {
    fn len(&self) -> io::Result<u64> {
        Ok(self.lock().len)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let mut state = self.lock();
        let end = offset.checked_add(out.len() as u64).ok_or_else(out_of_range)?;
        if end > state.len {
            return Err(out_of_range());
        }
        for (index, in_block, at, n) in spans(offset, out.len()) {
            let dest = &mut out[at..at + n];
            match state.blocks.get(&index) {
                Some(block) => dest.copy_from_slice(&block[in_block..in_block + n]),
                None => state.read_file(index * BLOCK + in_block as u64, dest)?,
            }
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut state = self.lock();
        if len < state.len {
            state.file_visible = state.file_visible.min(len);
            state.blocks.retain(|index, _| index * BLOCK < len);
            // Zero the cut-off tail of the last block so growing again reads zeros there.
            let tail = (len % BLOCK) as usize;
            if tail != 0 {
                if let Some(block) = state.blocks.get_mut(&(len / BLOCK)) {
                    block[tail..].fill(0);
                }
            }
        }
        state.len = len;
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        let end = offset.checked_add(data.len() as u64).ok_or_else(out_of_range)?;
        for (index, in_block, at, n) in spans(offset, data.len()) {
            state.block_mut(index)?[in_block..in_block + n].copy_from_slice(&data[at..at + n]);
        }
        state.len = state.len.max(end);
        Ok(())
    }
}

impl fmt::Debug for OverlayBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("OverlayBackend")
            .field("len", &state.len)
            .field("blocks_written", &state.blocks.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn writes_stay_in_memory_and_reads_see_them() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let original: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        tmp.write_all(&original).unwrap();
        let overlay = OverlayBackend::new(File::open(tmp.path()).unwrap()).unwrap();

        overlay.write(4090, &[0xAA; 10]).unwrap();
        let mut out = vec![0; 20];
        overlay.read(4085, &mut out).unwrap();
        assert_eq!(&out[..5], &original[4085..4090]);
        assert_eq!(&out[5..15], &[0xAA; 10]);
        assert_eq!(&out[15..], &original[4100..4105]);

        overlay.set_len(5000).unwrap();
        overlay.set_len(9000).unwrap();
        let mut tail = vec![1; 100];
        overlay.read(5000, &mut tail).unwrap();
        assert_eq!(tail, vec![0; 100], "a shrink then grow shows zeros");
        assert!(overlay.read(8999, &mut [0; 2]).is_err());

        overlay.write(20_000, &[7; 3]).unwrap();
        assert_eq!(overlay.len().unwrap(), 20_003);
        assert_eq!(std::fs::read(tmp.path()).unwrap(), original, "file untouched");
    }
}
