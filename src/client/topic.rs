//! Topic name and filter checks a client makes before it connects, with reasons a person can act on.

use crate::protocol::topic::parse_filter;

/// The longest string MQTT can carry.
const MAX_LEN: usize = u16::MAX as usize;

fn common(topic: &str) -> Result<(), &'static str> {
    if topic.is_empty() {
        return Err("it is empty");
    }
    if topic.len() > MAX_LEN {
        return Err("it is longer than 65535 bytes");
    }
    if topic.contains('\0') {
        return Err("it contains the null character U+0000");
    }
    Ok(())
}

/// Checks a topic name to publish to [MQTT-4.7.3]: not empty, no wildcards.
pub fn check_topic_name(topic: &str) -> Result<(), &'static str> {
    common(topic)?;
    if topic.contains(['+', '#']) {
        return Err("a topic name cannot contain the wildcards '+' or '#'");
    }
    Ok(())
}

/// Checks a topic filter to subscribe to [MQTT-4.7.1]: `#` only as the whole last level, `+` only
/// as a whole level, and `$share/GROUP/FILTER` well formed [MQTT-4.8.2].
pub fn check_topic_filter(filter: &str) -> Result<(), &'static str> {
    common(filter)?;
    let Some(parsed) = parse_filter(filter) else {
        return Err("a shared subscription is $share/GROUP/FILTER, with a group that is not empty and has no wildcards");
    };
    let mut levels = parsed.filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err("'#' must be the whole last level of a filter");
        }
        if level.contains('+') && level != "+" {
            return Err("'+' must be a whole level of a filter");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(check_topic_name("a/b").is_ok());
        assert!(check_topic_name("/").is_ok());
        assert!(check_topic_name("$SYS/x").is_ok());
        assert!(check_topic_name("").is_err());
        assert!(check_topic_name("a/+").is_err());
        assert!(check_topic_name("a/#").is_err());
        assert!(check_topic_name("a\0b").is_err());
    }

    #[test]
    fn topic_filters() {
        for ok in ["#", "+", "a/#", "a/+/b", "+/+", "/", "$share/g/a/#", "$SYS/#"] {
            assert!(check_topic_filter(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a/#/b",
            "a#",
            "a/b#",
            "a+/b",
            "a/+b",
            "$share//a",
            "$share/g",
            "$share/g+/a",
        ] {
            assert!(check_topic_filter(bad).is_err(), "{bad}");
        }
    }
}
