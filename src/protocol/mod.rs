//! Glue over the mqtt-proto codec, PUBLISH decoded and encoded by our own code: framing, one version-neutral packet model, topic rules. No I/O.

pub mod decode;
mod decode_publish;
pub mod encode;
pub mod frame;
pub mod packet;
pub mod reason;
pub mod topic;
mod var_int;

pub use decode::{connect_version, decode, decode_connect, decode_front, decode_shared, DecodeError, Sender};
pub use encode::{
    encode, encode_publish, encode_publish_parts, encode_within, publish_len, publish_parts_len, EncodeError,
    PublishRef,
};
pub use frame::{next_frame, Frame, FrameError};
pub use packet::*;
pub use reason::ReasonCode;

#[cfg(test)]
mod tests;
