//! Glue over the mqtt-proto codec: framing, one version-neutral packet model, topic rules. No I/O.

pub mod decode;
pub mod encode;
pub mod frame;
pub mod packet;
pub mod reason;
pub mod topic;

pub use decode::{connect_version, decode, decode_connect, DecodeError};
pub use encode::{
    encode, encode_publish, encode_publish_parts, encode_within, publish_len, publish_parts_len, EncodeError,
    PublishRef,
};
pub use frame::{next_frame, Frame, FrameError};
pub use packet::*;

#[cfg(test)]
mod tests;
