//! Framing: find one whole MQTT packet in a byte buffer and enforce the size limit from the fixed header.

use thiserror::Error;

/// The largest remaining length MQTT can express (four variable-byte-integer bytes).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// Where one complete packet sits at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// The first byte: packet type in the high nibble, flags in the low one.
    pub header: u8,
    /// Offset of the first byte after the fixed header.
    pub body_start: usize,
    /// Total length of the packet, fixed header included.
    pub len: usize,
}

/// Why the front of a buffer can never become a valid packet.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    /// The remaining length uses more than four bytes, or more than its value needs
    /// [MQTT-1.5.5-1].
    #[error("malformed remaining length")]
    BadRemainingLength,
    /// The packet announces more bytes than this side accepts.
    #[error("packet of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Bytes the packet announces.
        size: usize,
        /// The most this side accepts.
        max: usize,
    },
}

/// Looks for one whole packet at the front of `buf`.
///
/// Returns `Ok(None)` while more bytes are needed. The size check uses only the fixed header, so an
/// oversize packet is refused before its body is read or buffered.
pub fn next_frame(buf: &[u8], max_packet_size: usize) -> Result<Option<Frame>, FrameError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let mut remaining: usize = 0;
    let mut shift = 0;
    let mut pos = 1;
    loop {
        if pos > 4 {
            return Err(FrameError::BadRemainingLength);
        }
        let Some(&byte) = buf.get(pos) else {
            return Ok(None);
        };
        remaining |= ((byte & 0x7f) as usize) << shift;
        pos += 1;
        if byte & 0x80 == 0 {
            // A last byte of 0 after others adds nothing: the value fits in fewer bytes, and
            // [MQTT-1.5.5-1] asks for the fewest.
            if byte == 0 && pos > 2 {
                return Err(FrameError::BadRemainingLength);
            }
            break;
        }
        shift += 7;
    }
    let len = pos + remaining;
    if len > max_packet_size {
        return Err(FrameError::TooLarge {
            size: len,
            max: max_packet_size,
        });
    }
    if buf.len() < len {
        return Ok(None);
    }
    Ok(Some(Frame {
        header: buf[0],
        body_start: pos,
        len,
    }))
}

/// Appends `value` as an MQTT variable byte integer.
pub fn put_var_int(out: &mut bytes::BytesMut, mut value: usize) {
    loop {
        let mut byte = (value & 0x7f) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        out.extend_from_slice(&[byte]);
        if value == 0 {
            break;
        }
    }
}

/// How many bytes `value` takes as a variable byte integer.
pub fn var_int_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Frames from this size on are shared with the read buffer they were read into; smaller ones
/// are decoded in place and their payload copied out (see [`super::decode::decode_front`]).
pub const SHARE_FRAMES_FROM: usize = 4 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_more_bytes_until_the_whole_packet_is_there() {
        assert_eq!(next_frame(&[0x30], 100), Ok(None));
        assert_eq!(next_frame(&[0x30, 0x05, 0, 1], 100), Ok(None));
        assert_eq!(
            next_frame(&[0x30, 0x02, 0, 0, 0xff], 100),
            Ok(Some(Frame {
                header: 0x30,
                body_start: 2,
                len: 4
            }))
        );
    }

    #[test]
    fn disconnect_with_one_byte_body_frames_as_three_bytes() {
        // The mis-framing that ruled out mqttbytes: E0 01 00 is one whole DISCONNECT.
        let frame = next_frame(&[0xE0, 0x01, 0x00], 100).unwrap().unwrap();
        assert_eq!(frame.len, 3);
        assert_eq!(frame.body_start, 2);
    }

    #[test]
    fn five_byte_remaining_length_is_malformed() {
        // [MQTT-1.5.5] the variable byte integer has at most four bytes
        assert_eq!(
            next_frame(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01], usize::MAX),
            Err(FrameError::BadRemainingLength)
        );
    }

    #[test]
    fn remaining_length_longer_than_needed_is_malformed() {
        // [MQTT-1.5.5-1] the fewest bytes: 0 is 00, never 80 00; 2 is 02, never 82 80 00
        for buf in [&[0xC0, 0x80, 0x00][..], &[0x82, 0x82, 0x80, 0x00, 1, 2]] {
            assert_eq!(
                next_frame(buf, usize::MAX),
                Err(FrameError::BadRemainingLength),
                "{buf:02x?}"
            );
        }
        assert_eq!(
            next_frame(&[0x30, 0x80, 0x01], usize::MAX),
            Ok(None),
            "128 needs two bytes"
        );
    }

    #[test]
    fn oversize_is_refused_from_the_header_alone() {
        assert_eq!(
            next_frame(&[0x30, 0xff, 0x7f], 1000),
            Err(FrameError::TooLarge {
                size: 16_386,
                max: 1000
            })
        );
    }

    #[test]
    fn var_int_round_trip_lengths() {
        for v in [
            0,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            MAX_REMAINING_LENGTH,
        ] {
            let mut out = bytes::BytesMut::new();
            put_var_int(&mut out, v);
            assert_eq!(out.len(), var_int_len(v), "value {v}");
            let mut buf = vec![0x30];
            buf.extend_from_slice(&out);
            buf.resize(1 + out.len() + v.min(10), 0);
            match next_frame(&buf, usize::MAX) {
                Ok(Some(f)) => assert_eq!(f.len, 1 + out.len() + v),
                Ok(None) => assert!(v > 10),
                Err(e) => panic!("{e}"),
            }
        }
    }
}
