//! Topic names and filters: shared-subscription parsing and matching [MQTT-4.7], without allocating.

/// A filter split into its optional shared-subscription group and the filter proper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedFilter<'a> {
    /// `Some(group)` for `$share/group/filter`.
    pub share_group: Option<&'a str>,
    /// The filter that topics are matched against.
    pub filter: &'a str,
}

/// Splits `$share/{group}/{filter}`; other filters come back whole.
///
/// Returns `None` for a malformed shared filter: an empty group, a group with a wildcard, or no
/// filter after the group [MQTT-4.8.2-1], [MQTT-4.8.2-2].
pub fn parse_filter(filter: &str) -> Option<ParsedFilter<'_>> {
    let Some(rest) = filter.strip_prefix("$share/") else {
        return Some(ParsedFilter {
            share_group: None,
            filter,
        });
    };
    let (group, inner) = rest.split_once('/')?;
    if group.is_empty() || group.contains(['+', '#']) || inner.is_empty() {
        return None;
    }
    Some(ParsedFilter {
        share_group: Some(group),
        filter: inner,
    })
}

/// True when `filter` has a `+` or `#` level.
pub fn has_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

/// Whether `topic` matches `filter`.
///
/// Topics starting with `$` are not matched by a filter starting with a wildcard [MQTT-4.7.2-1].
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(fl), Some(tl)) if fl == tl => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_level_wildcard_matches_parent_and_children() {
        // [MQTT-4.7.1-2] "sport/#" also matches "sport"
        assert!(matches("sport/#", "sport"));
        assert!(matches("sport/#", "sport/tennis/player1"));
        assert!(matches("#", "a/b/c"));
        assert!(!matches("sport/#", "sports"));
    }

    #[test]
    fn single_level_wildcard_matches_exactly_one_level() {
        assert!(matches("sport/+/player1", "sport/tennis/player1"));
        assert!(!matches("sport/+", "sport/tennis/player1"));
        assert!(matches("sport/+", "sport/"));
        assert!(matches("+/+", "/finance"));
        assert!(!matches("+", "/finance"));
    }

    #[test]
    fn dollar_topics_are_not_matched_by_leading_wildcards() {
        // [MQTT-4.7.2-1]
        assert!(!matches("#", "$SYS/broker/uptime"));
        assert!(!matches("+/broker/uptime", "$SYS/broker/uptime"));
        assert!(matches("$SYS/#", "$SYS/broker/uptime"));
    }

    #[test]
    fn shared_filters_split_into_group_and_filter() {
        assert_eq!(
            parse_filter("$share/g1/a/+"),
            Some(ParsedFilter {
                share_group: Some("g1"),
                filter: "a/+"
            })
        );
        assert_eq!(parse_filter("$share//a"), None);
        assert_eq!(parse_filter("$share/g1"), None);
        assert_eq!(parse_filter("$share/g+/a"), None);
        assert_eq!(parse_filter("a/b").unwrap().share_group, None);
    }
}
