//! Store integration tests: real redb files in temp dirs, restarts, crashes of a child process.

mod bytes;
mod common;
mod crash;
mod empty_dir;
mod group_commit;
mod migrate;
mod ops;
mod page;
mod refuse;
mod round_trip;
