//! A small disk for the broker: a tmpfs of a few MiB, mounted in a mount namespace of its own.
//!
//! `unshare --user --map-root-user --mount` gives a process the right to mount without being
//! root on the machine (where unprivileged user namespaces are allowed), and the mount is seen
//! by that namespace only: nothing is left mounted on the machine, whatever happens to the
//! test. A `sleep` holds the namespace, so the broker can be stopped and started again on the
//! same disk (`nsenter` puts each broker into it). The test reaches the disk's files through
//! `/proc/<holder>/root`, to fill it and free it again.

#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::broker_process;

/// A tmpfs in a namespace of its own, held open by a child process.
pub struct SmallDisk {
    holder: Child,
    /// Where the disk is mounted, as the broker sees it.
    mount: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (e.g. `"16m"`). Panics, saying why, where the machine does not
    /// let a test mount one (unprivileged user namespaces turned off).
    pub fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let mount = dir.path().join("disk");
        fs::create_dir(&mount).unwrap();
        let ready = dir.path().join("mounted");
        let holder = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "sh", "-c"])
            .arg(r#"mount -t tmpfs -o "size=$1" robustmq-test "$2" && : > "$3" && exec sleep 100000"#)
            .args(["sh", size])
            .arg(&mount)
            .arg(&ready)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run unshare (util-linux) to mount a small tmpfs");
        let mut disk = SmallDisk {
            holder,
            mount,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ready.exists() {
            if let Ok(Some(status)) = disk.holder.try_wait() {
                let mut why = String::new();
                if let Some(mut stderr) = disk.holder.stderr.take() {
                    let _ = io::Read::read_to_string(&mut stderr, &mut why);
                }
                panic!(
                    "cannot mount a tmpfs in a user and mount namespace ({status}): {why}\
                     this test needs unprivileged user namespaces (or root)"
                );
            }
            assert!(Instant::now() < deadline, "the tmpfs was not mounted within 10 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        disk
    }

    /// Where the broker sees `relative` on the disk.
    pub fn inside(&self, relative: &str) -> PathBuf {
        self.mount.join(relative)
    }

    /// Where this process reaches `relative` on the disk.
    pub fn outside(&self, relative: &str) -> PathBuf {
        let mount = self.mount.strip_prefix("/").unwrap_or(&self.mount);
        Path::new("/proc")
            .join(self.holder.id().to_string())
            .join("root")
            .join(mount)
            .join(relative)
    }

    /// Starts `robustmq serve --config config` on this disk, its stderr appended to `log`.
    pub fn serve(&self, config: &Path, log: &Path) -> (Child, broker_process::Bound) {
        let mut serve = Command::new("nsenter");
        serve
            .arg(format!("--target={}", self.holder.id()))
            .args(["--user", "--mount", "--preserve-credentials"])
            .arg(env!("CARGO_BIN_EXE_robustmq"))
            .arg("serve")
            .arg("--config")
            .arg(config);
        broker_process::start(&mut serve, log, Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("the broker did not start: {e}"))
    }

    /// Writes `name` until the disk is full; returns its size.
    pub fn fill(&self, name: &str) -> u64 {
        let mut file = File::create(self.outside(name)).unwrap();
        let block = vec![0x5a; 64 * 1024];
        let mut written = 0u64;
        loop {
            match file.write(&block) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.kind() == io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling the disk failed: {e}"),
            }
        }
        // What the last write buffered may still need blocks the disk does not have.
        let _ = file.sync_all();
        written
    }

    /// Shrinks `name` to `len` bytes, freeing the rest.
    pub fn shrink(&self, name: &str, len: u64) {
        OpenOptions::new()
            .write(true)
            .open(self.outside(name))
            .unwrap()
            .set_len(len)
            .unwrap();
    }

    /// Removes `name`, freeing its space.
    pub fn remove(&self, name: &str) {
        fs::remove_file(self.outside(name)).unwrap();
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Its namespace, and the tmpfs with it, go when the last process in it does.
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}
