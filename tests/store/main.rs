//! Store integration tests: real redb files in temp dirs, restarts, crashes of a child process.

mod common;
mod crash;
mod group_commit;
mod ops;
mod refuse;
mod round_trip;
