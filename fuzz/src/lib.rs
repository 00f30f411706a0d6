//! Shared code of the fuzz targets: turning fuzzer bytes into what a client writes on one
//! connection, and the seed packets committed under `seeds/`.

pub mod script;
pub mod seeds;
