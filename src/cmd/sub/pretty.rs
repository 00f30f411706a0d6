//! `--pretty`: JSON indented as mosquitto_sub prints it (a tab per level, a tab after each
//! colon, arrays on one line), shared by `-F %j`/`%J` and `--json`.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, Serializer};

/// Indents objects only: messages are objects of short values, and a payload array of bytes
/// is easier to read on one line.
#[derive(Default)]
struct Tabbed {
    depth: usize,
}

impl Tabbed {
    fn newline<W: ?Sized + Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.depth {
            w.write_all(b"\t")?;
        }
        Ok(())
    }
}

impl Formatter for Tabbed {
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth += 1;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.depth -= 1;
        self.newline(w)?;
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b":\t")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first {
            Ok(())
        } else {
            w.write_all(b", ")
        }
    }
}

/// Appends `value` as JSON, indented with `pretty`.
pub fn write<T: Serialize>(out: &mut Vec<u8>, value: &T, pretty: bool) {
    // Serializing strings, numbers and maps with string keys into a Vec cannot fail.
    let _ = if pretty {
        value.serialize(&mut Serializer::with_formatter(out, Tabbed::default()))
    } else {
        value.serialize(&mut Serializer::with_formatter(out, CompactFormatter))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_like_mosquitto_sub() {
        let value = serde_json::json!({"a": 1, "b": {"c": "d"}, "e": [1, 2]});
        let mut out = Vec::new();
        write(&mut out, &value, true);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\n\t\"a\":\t1,\n\t\"b\":\t{\n\t\t\"c\":\t\"d\"\n\t},\n\t\"e\":\t[1, 2]\n}"
        );
        let mut out = Vec::new();
        write(&mut out, &value, false);
        assert_eq!(out, br#"{"a":1,"b":{"c":"d"},"e":[1,2]}"#);
    }
}
