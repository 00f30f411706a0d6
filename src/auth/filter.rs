//! Topic filter relations the ACL needs besides matching one topic: whether a filter covers
//! every topic of another, whether two filters share a topic, and whether a filter is valid.
//!
//! A subscription is a filter, not a topic, so it is checked against ACL filters with these
//! instead of plain matching. As in matching, a filter whose first level is a wildcard never
//! stands for a topic starting with `$` [MQTT-4.7.2-1].

/// Whether `level`, as the first level of a filter, can only stand for `$` topics.
fn dollar(level: &str) -> bool {
    level.starts_with('$')
}

fn is_wildcard(level: &str) -> bool {
    level == "+" || level == "#"
}

/// Whether the first levels of two filters can stand for the same topic, as far as the `$`
/// rule goes: a wildcard first level stands for no `$` topic.
fn first_levels_compatible(a: &str, b: &str) -> bool {
    !((is_wildcard(a) && dollar(b)) || (is_wildcard(b) && dollar(a)))
}

/// Whether every topic that `inner` matches is also matched by `outer`. Conservative for
/// unusual shapes (`+/#` does not count as covering `#`): a false "no" only means the ACL
/// decides per message instead of up front.
pub fn covers(outer: &str, inner: &str) -> bool {
    let (Some(o0), Some(i0)) = (outer.split('/').next(), inner.split('/').next()) else {
        return false;
    };
    if !first_levels_compatible(o0, i0) {
        return false;
    }
    let outer: Vec<&str> = outer.split('/').collect();
    let inner: Vec<&str> = inner.split('/').collect();
    covers_levels(&outer, &inner)
}

fn covers_levels(outer: &[&str], inner: &[&str]) -> bool {
    match (outer.first(), inner.first()) {
        // `#` also matches the parent level [MQTT-4.7.1-2]: `a/#` covers `a`.
        (Some(&"#"), _) => true,
        (None, None) => true,
        (None, Some(_)) | (Some(_), None) => false,
        (Some(_), Some(&"#")) => false,
        (Some(&"+"), Some(_)) => covers_levels(&outer[1..], &inner[1..]),
        (Some(o), Some(i)) => o == i && covers_levels(&outer[1..], &inner[1..]),
    }
}

/// Whether some topic is matched by both `a` and `b`.
pub fn overlaps(a: &str, b: &str) -> bool {
    let (Some(a0), Some(b0)) = (a.split('/').next(), b.split('/').next()) else {
        return false;
    };
    if !first_levels_compatible(a0, b0) {
        return false;
    }
    let a: Vec<&str> = a.split('/').collect();
    let b: Vec<&str> = b.split('/').collect();
    overlap_levels(&a, &b)
}

fn overlap_levels(a: &[&str], b: &[&str]) -> bool {
    match (a.first(), b.first()) {
        (Some(&"#"), _) | (_, Some(&"#")) => true,
        (None, None) => true,
        (None, Some(_)) | (Some(_), None) => false,
        (Some(&"+"), Some(_)) | (Some(_), Some(&"+")) => overlap_levels(&a[1..], &b[1..]),
        (Some(x), Some(y)) => x == y && overlap_levels(&a[1..], &b[1..]),
    }
}

/// Why a topic filter is not valid; each message says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The filter is the empty string.
    #[error("the topic filter is empty")]
    Empty,
    /// The filter contains U+0000.
    #[error("the topic filter contains a NUL character")]
    Nul,
    /// A `#` that is not a whole level, or not the last one.
    #[error("invalid topic filter {0:?}: '#' must be a whole level and the last one")]
    MultiLevel(String),
    /// A `+` that is not a whole level.
    #[error("invalid topic filter {0:?}: '+' must be a whole level")]
    SingleLevel(String),
}

/// Checks a topic filter's syntax [MQTT-4.7.1-1] [MQTT-4.7.1-2] [MQTT-4.7.1-3]; the error
/// says what is wrong.
pub fn check_filter(filter: &str) -> Result<(), FilterError> {
    if filter.is_empty() {
        return Err(FilterError::Empty);
    }
    if filter.contains('\0') {
        return Err(FilterError::Nul);
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return Err(FilterError::MultiLevel(filter.to_string()));
        }
        if level.contains('+') && *level != "+" {
            return Err(FilterError::SingleLevel(filter.to_string()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering() {
        for (outer, inner) in [
            ("#", "a/b"),
            ("#", "+/#"),
            ("a/#", "a"),
            ("a/#", "a/+/c"),
            ("a/+", "a/b"),
            ("a/+", "a/+"),
            ("+/+", "a/+"),
            ("$SYS/#", "$SYS/broker/+"),
            ("a/b", "a/b"),
        ] {
            assert!(covers(outer, inner), "{outer} should cover {inner}");
        }
        for (outer, inner) in [
            ("a/+", "a/#"),
            ("a/+", "a"),
            ("a/b", "a/+"),
            ("a", "a/#"),
            ("a/b", "a/c"),
            ("#", "$SYS/#"),
            ("+/broker", "$SYS/broker"),
            ("a/+/c", "a/#"),
        ] {
            assert!(!covers(outer, inner), "{outer} should not cover {inner}");
        }
    }

    #[test]
    fn overlapping() {
        for (a, b) in [
            ("#", "a/b"),
            ("a/#", "a"),
            ("a/+", "+/b"),
            ("a/+/c", "a/b/#"),
            ("+", "x"),
            ("$SYS/#", "$SYS/broker/uptime"),
            ("+/+", "+/+"),
        ] {
            assert!(overlaps(a, b), "{a} and {b} should overlap");
            assert!(overlaps(b, a), "{b} and {a} should overlap");
        }
        for (a, b) in [
            ("a/b", "a/c"),
            ("a/+", "a/b/c"),
            ("a", "a/+"),
            ("#", "$SYS/#"),
            ("+/broker/#", "$SYS/broker/uptime"),
            ("x/%u", "x/y/z"),
        ] {
            assert!(!overlaps(a, b), "{a} and {b} should not overlap");
            assert!(!overlaps(b, a), "{b} and {a} should not overlap");
        }
    }

    #[test]
    fn filter_syntax() {
        for ok in ["#", "a/#", "+/b/+", "a//b", "/", "$SYS/#", "a b/c"] {
            assert_eq!(check_filter(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a/#/b", "a#", "a/b+", "#/a", "a\0b"] {
            assert!(check_filter(bad).is_err(), "{bad:?}");
        }
    }
}
