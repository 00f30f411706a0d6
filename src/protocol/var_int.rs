//! The Variable Byte Integers inside a v5 packet (Property Lengths, Subscription Identifiers)
//! use the fewest bytes [MQTT-1.5.5-1]: mqtt-proto reads a longer encoding without complaint.
//!
//! Runs on a body mqtt-proto has already decoded, so the layout is known to be sound; every
//! access is still checked, and a body that does not fit is simply not looked at further.

use super::decode::DecodeError;

/// A Variable Byte Integer at `pos`: its value and its length; an error when it is longer
/// than its value needs. `None` when the bytes run out.
fn read(body: &[u8], pos: usize) -> Option<Result<(usize, usize), DecodeError>> {
    let mut value = 0usize;
    for i in 0..4 {
        let b = *body.get(pos + i)?;
        value |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            // A last byte of 0 after others adds nothing to the value.
            if b == 0 && i > 0 {
                return Some(Err(DecodeError::Malformed(
                    "variable byte integer longer than its value needs".into(),
                )));
            }
            return Some(Ok((value, i + 1)));
        }
    }
    None
}

/// Checks the Property Length at `pos` and, among the properties, every Subscription
/// Identifier; returns where the properties end.
fn properties(body: &[u8], pos: usize) -> Result<Option<usize>, DecodeError> {
    let Some(read_len) = read(body, pos) else {
        return Ok(None);
    };
    let (len, used) = read_len?;
    let end = pos + used + len;
    let mut at = pos + used;
    while at < end {
        let Some(&id) = body.get(at) else {
            return Ok(None);
        };
        at += 1;
        let size = match id {
            0x0B => match read(body, at) {
                Some(r) => r?.1,
                None => return Ok(None),
            },
            0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => 1,
            0x13 | 0x21 | 0x22 | 0x23 => 2,
            0x02 | 0x11 | 0x18 | 0x27 => 4,
            0x26 => {
                let Some(name) = string_len(body, at) else {
                    return Ok(None);
                };
                let Some(value) = string_len(body, at + name) else {
                    return Ok(None);
                };
                name + value
            }
            _ => match string_len(body, at) {
                Some(n) => n,
                None => return Ok(None),
            },
        };
        at += size;
    }
    Ok(Some(end))
}

/// Length of the string or binary field at `pos`, its two length bytes included.
fn string_len(body: &[u8], pos: usize) -> Option<usize> {
    Some(2 + u16::from_be_bytes([*body.get(pos)?, *body.get(pos + 1)?]) as usize)
}

/// Checks every Variable Byte Integer after the fixed header of a v5 packet other than
/// PUBLISH (whose decoder checks its own); `header` is the packet's first byte.
pub fn check_minimal(header: u8, body: &[u8]) -> Result<(), DecodeError> {
    match header >> 4 {
        // CONNECT: after protocol name, level, flags and keep alive; then the will's, after
        // the client identifier, if the will flag is set.
        1 => {
            let Some(name) = string_len(body, 0) else {
                return Ok(());
            };
            let flags = body.get(name + 1).copied().unwrap_or(0);
            let Some(end) = properties(body, name + 4)? else {
                return Ok(());
            };
            if flags & 0x04 != 0 {
                if let Some(client_id) = string_len(body, end) {
                    properties(body, end + client_id)?;
                }
            }
            Ok(())
        }
        // CONNACK: after the flags and the reason code.
        2 => properties(body, 2).map(drop),
        // PUBACK, PUBREC, PUBREL, PUBCOMP: after the packet identifier and reason code, if any.
        4..=7 if body.len() > 3 => properties(body, 3).map(drop),
        // SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK: after the packet identifier.
        8..=11 => properties(body, 2).map(drop),
        // DISCONNECT, AUTH: after the reason code, if any.
        14 | 15 if body.len() > 1 => properties(body, 1).map(drop),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed(header: u8, body: &[u8]) -> bool {
        matches!(check_minimal(header, body), Err(DecodeError::Malformed(_)))
    }

    #[test]
    fn longer_than_needed_is_malformed_wherever_it_is() {
        // [MQTT-1.5.5-1]: SUBSCRIBE's Property Length 0 in two bytes, a Subscription Identifier
        // of 1 in two bytes, an ack's and a DISCONNECT's Property Length.
        assert!(malformed(0x82, &[0, 1, 0x80, 0x00, 0, 1, b'a', 0]));
        assert!(malformed(0x82, &[0, 1, 3, 0x0B, 0x81, 0x00, 0, 1, b'a', 0]));
        assert!(malformed(0x40, &[0, 1, 0, 0x80, 0x00]));
        assert!(malformed(0xE0, &[0, 0x80, 0x00]));
        // CONNECT: its own properties, then the will's.
        let mut connect = vec![0, 4, b'M', b'Q', b'T', b'T', 5, 0x06, 0, 60, 0x80, 0x00];
        assert!(malformed(0x10, &connect));
        connect.truncate(10);
        connect.extend([0, 0, 1, b'c', 0x80, 0x00]);
        assert!(malformed(0x10, &connect));
    }

    #[test]
    fn minimal_encodings_pass() {
        assert_eq!(check_minimal(0x82, &[0, 1, 2, 0x0B, 0x01, 0, 1, b'a', 0]), Ok(()));
        let two_bytes = [0, 1, 3, 0x0B, 0x80, 0x01, 0, 1, b'a', 0];
        assert_eq!(check_minimal(0x82, &two_bytes), Ok(()), "128 needs two bytes");
        assert_eq!(check_minimal(0x40, &[0, 1, 0x10]), Ok(()));
        assert_eq!(check_minimal(0xE0, &[]), Ok(()));
    }

    #[test]
    fn short_bodies_are_left_alone() {
        for body in [&[][..], &[0], &[0, 1, 0x80], &[0, 1, 5, 0x26, 0]] {
            for header in [0x10, 0x20, 0x40, 0x82, 0xE0] {
                let _ = check_minimal(header, body);
            }
        }
    }
}
