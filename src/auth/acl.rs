//! The ACL file, in Mosquitto's `acl_file` syntax, and the decisions made from it.
//!
//! ```text
//! # comment
//! topic read $SYS/#            # before any `user` line: for anonymous clients
//! user alice
//! topic readwrite home/#       # for alice; the access word defaults to readwrite
//! topic deny home/secret
//! pattern write devices/%c/#   # for every client, whatever the position in the file
//! ```
//!
//! The decision mirrors Mosquitto's default ACL check:
//!
//! 1. The client's own rules (its `user` section, or the anonymous rules when it sent no user
//!    name) are tried, `deny` rules first. A matching `deny` refuses; a matching rule that
//!    grants the access asked for allows.
//! 2. Otherwise the `pattern` rules are tried the same way, with `%u` (user name) and `%c`
//!    (client id) substituted. A client whose user name or client id contains `+` or `#` gets
//!    nothing from patterns, so it cannot widen them.
//! 3. Otherwise access is denied: with an ACL file, only what a rule grants is allowed.
//!
//! `%u` and `%c` must each be a whole topic level (`devices/%c/#`, not `devices-%c`); a value
//! containing `/` never matches, so one client cannot reach into another's subtree. A pattern
//! with `%u` does not apply to clients without a user name.
//!
//! Publishing asks for `write` on the topic; receiving a message asks for `read` on its
//! concrete topic, at each delivery. A subscription is checked up front with the filter
//! relations of [`super::filter`]: refused when a `deny` rule covers the whole filter, allowed
//! when some rule granting `read` shares at least one topic with it (deliveries then carry
//! only what the client may read, as in Mosquitto, which accepts every subscription and
//! filters deliveries).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use super::filter::{check_filter, covers, overlaps};
use super::AuthError;
use crate::protocol::topic;

/// What the ACL file is called in messages.
const WHAT: &str = "ACL file";
/// Its configuration key.
const KEY: &str = "[auth] acl_file";

/// The access a client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Receive messages on a topic.
    Read,
    /// Publish to a topic.
    Write,
}

/// What a rule says about the topics it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grant {
    Read,
    Write,
    ReadWrite,
    Deny,
}

impl Grant {
    fn parse(word: &str) -> Option<Grant> {
        match word {
            "read" => Some(Grant::Read),
            "write" => Some(Grant::Write),
            "readwrite" => Some(Grant::ReadWrite),
            "deny" => Some(Grant::Deny),
            _ => None,
        }
    }

    fn allows(self, access: Access) -> bool {
        matches!(
            (self, access),
            (Grant::ReadWrite, _) | (Grant::Read, Access::Read) | (Grant::Write, Access::Write)
        )
    }
}

/// One `topic` or `pattern` line.
#[derive(Debug, Clone)]
struct Rule {
    filter: String,
    grant: Grant,
    /// A pattern with `%u` or `%c` levels.
    substitutes: bool,
}

impl Rule {
    /// The filter with `%u`/`%c` levels replaced; `None` when the rule cannot apply to this
    /// client (no user name for `%u`, or a value that is not a single level).
    fn resolve(&self, user: Option<&str>, client_id: &str) -> Option<Cow<'_, str>> {
        if !self.substitutes {
            return Some(Cow::Borrowed(&self.filter));
        }
        let mut out = String::with_capacity(self.filter.len() + client_id.len());
        for (i, level) in self.filter.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            let value = match level {
                "%u" => user?,
                "%c" => client_id,
                other => other,
            };
            if level.starts_with('%') && value.contains('/') {
                return None;
            }
            out.push_str(value);
        }
        Some(Cow::Owned(out))
    }
}

/// The client's own rules and the patterns, in the order they are tried.
fn lists<'a>(acl: &'a Acl, user: Option<&str>) -> [Option<&'a [Rule]>; 2] {
    let own = match user {
        Some(u) => acl.users.get(u).map(Vec::as_slice),
        None => Some(acl.anonymous.as_slice()),
    };
    [own, Some(acl.patterns.as_slice())]
}

/// A loaded ACL file.
#[derive(Debug, Clone, Default)]
pub struct Acl {
    /// Rules for clients without a user name (`topic` lines before any `user` line).
    anonymous: Vec<Rule>,
    /// Rules per user name.
    users: HashMap<String, Vec<Rule>>,
    /// `pattern` lines, for everyone.
    patterns: Vec<Rule>,
}

impl Acl {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Acl, AuthError> {
        let text = std::fs::read_to_string(path).map_err(|error| AuthError::Read {
            what: WHAT,
            key: KEY,
            path: path.to_path_buf(),
            error,
        })?;
        Acl::parse(path, &text)
    }

    /// Parses the text of the file at `path` (named in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Acl, AuthError> {
        let mut acl = Acl::default();
        let mut user: Option<String> = None;
        for (index, raw) in text.lines().enumerate() {
            let error = |message: String| AuthError::Parse {
                what: WHAT,
                path: path.to_path_buf(),
                line: index + 1,
                message,
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keyword, rest) = split_word(line);
            match keyword {
                "user" => {
                    if rest.is_empty() {
                        return Err(error("`user` needs a user name".into()));
                    }
                    acl.users.entry(rest.to_string()).or_default();
                    user = Some(rest.to_string());
                }
                "topic" | "pattern" => {
                    let (first, after) = split_word(rest);
                    // One word: the topic, with readwrite access; more: the access word, then
                    // the topic (which may contain spaces).
                    let (grant, filter) = if after.is_empty() {
                        (Grant::ReadWrite, first)
                    } else {
                        let grant = Grant::parse(first).ok_or_else(|| {
                            error(format!(
                                "invalid access {first:?} (expected read, write, readwrite or deny)"
                            ))
                        })?;
                        (grant, after)
                    };
                    if filter.is_empty() {
                        return Err(error(format!("`{keyword}` needs a topic")));
                    }
                    check_filter(filter).map_err(|e| error(e.to_string()))?;
                    let substitutes =
                        keyword == "pattern" && (filter.contains("%u") || filter.contains("%c"));
                    if substitutes {
                        if let Some(level) = filter
                            .split('/')
                            .find(|l| (l.contains("%u") || l.contains("%c")) && *l != "%u" && *l != "%c")
                        {
                            return Err(error(format!(
                                "%u and %c must be a whole topic level, not part of {level:?}"
                            )));
                        }
                    }
                    let rule = Rule {
                        filter: filter.to_string(),
                        grant,
                        substitutes,
                    };
                    let list = match (keyword, &user) {
                        ("pattern", _) => &mut acl.patterns,
                        (_, Some(u)) => acl.users.entry(u.clone()).or_default(),
                        (_, None) => &mut acl.anonymous,
                    };
                    list.push(rule);
                }
                other => {
                    return Err(error(format!(
                        "unknown keyword {other:?} (expected user, topic or pattern)"
                    )))
                }
            }
        }
        // Deny rules are tried first in each list, as Mosquitto puts them at the front.
        let deny_first = |rules: &mut Vec<Rule>| rules.sort_by_key(|r| r.grant != Grant::Deny);
        deny_first(&mut acl.anonymous);
        deny_first(&mut acl.patterns);
        acl.users.values_mut().for_each(deny_first);
        Ok(acl)
    }

    /// Number of rules (`topic` and `pattern` lines).
    pub fn rules(&self) -> usize {
        self.anonymous.len() + self.patterns.len() + self.users.values().map(Vec::len).sum::<usize>()
    }

    /// Whether the file has `user` sections (which only mean something when user names are
    /// verified against a password file).
    pub fn has_users(&self) -> bool {
        !self.users.is_empty()
    }

    /// Whether a client may read or write the concrete `topic`.
    pub fn allows(&self, user: Option<&str>, client_id: &str, topic: &str, access: Access) -> bool {
        self.decide(user, client_id, |filter, grant| {
            if !topic::matches(filter, topic) {
                None
            } else if grant == Grant::Deny {
                Some(false)
            } else {
                grant.allows(access).then_some(true)
            }
        })
    }

    /// Whether a client may subscribe to `filter` (a shared subscription's filter proper,
    /// without `$share/group/`).
    pub fn allows_subscribe(&self, user: Option<&str>, client_id: &str, filter: &str) -> bool {
        self.decide(user, client_id, |rule, grant| {
            if grant == Grant::Deny {
                covers(rule, filter).then_some(false)
            } else {
                (grant.allows(Access::Read) && overlaps(rule, filter)).then_some(true)
            }
        })
    }

    /// Runs `verdict` over the client's rules, then the patterns, until one decides.
    fn decide(
        &self,
        user: Option<&str>,
        client_id: &str,
        verdict: impl Fn(&str, Grant) -> Option<bool>,
    ) -> bool {
        let [own, patterns] = lists(self, user);
        for rule in own.unwrap_or_default() {
            if let Some(decision) = verdict(&rule.filter, rule.grant) {
                return decision;
            }
        }
        let patterns = patterns.unwrap_or_default();
        if patterns.is_empty() {
            return false;
        }
        // A `+` or `#` in a substituted value would turn a pattern into a wider filter.
        if user.is_some_and(|u| u.contains(['+', '#'])) || client_id.contains(['+', '#']) {
            return false;
        }
        for rule in patterns {
            let Some(filter) = rule.resolve(user, client_id) else {
                continue;
            };
            if let Some(decision) = verdict(&filter, rule.grant) {
                return decision;
            }
        }
        false
    }
}

/// The first word of `s` and the rest, trimmed.
fn split_word(s: &str) -> (&str, &str) {
    match s.split_once([' ', '\t']) {
        Some((word, rest)) => (word, rest.trim()),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Access::{Read, Write};

    fn acl(text: &str) -> Acl {
        Acl::parse(Path::new("acl"), text).unwrap()
    }

    #[test]
    fn rules_belong_to_the_user_above_them() {
        let a =
            acl("topic read public/#\n\nuser alice\ntopic home/#\n# comment\nuser bob\ntopic write in/#\n");
        assert!(a.allows(None, "c", "public/x", Read));
        assert!(!a.allows(None, "c", "public/x", Write));
        assert!(!a.allows(None, "c", "home/x", Read));
        assert!(a.allows(Some("alice"), "c", "home/x", Read));
        assert!(a.allows(Some("alice"), "c", "home/x", Write));
        assert!(
            !a.allows(Some("alice"), "c", "public/x", Read),
            "anonymous rules are not alice's"
        );
        assert!(a.allows(Some("bob"), "c", "in/1", Write));
        assert!(!a.allows(Some("bob"), "c", "in/1", Read));
        assert!(
            !a.allows(Some("carol"), "c", "home/x", Read),
            "unknown users get nothing"
        );
        assert_eq!(a.rules(), 3);
    }

    #[test]
    fn deny_wins_over_grants_in_the_same_list() {
        let a = acl("user alice\ntopic readwrite home/#\ntopic deny home/secret\n");
        assert!(a.allows(Some("alice"), "c", "home/x", Read));
        assert!(!a.allows(Some("alice"), "c", "home/secret", Read));
        assert!(!a.allows(Some("alice"), "c", "home/secret", Write));
    }

    #[test]
    fn patterns_apply_to_everyone_wherever_they_are() {
        let a = acl("user alice\ntopic read x/#\npattern readwrite devices/%c/#\npattern read users/%u\n");
        assert!(a.allows(Some("alice"), "d1", "devices/d1/temp", Write));
        assert!(a.allows(None, "d1", "devices/d1", Write));
        assert!(!a.allows(Some("alice"), "d1", "devices/d2/temp", Write));
        assert!(a.allows(Some("bob"), "z", "users/bob", Read));
        assert!(!a.allows(Some("bob"), "z", "users/alice", Read));
        assert!(!a.allows(None, "z", "users/", Read), "%u needs a user name");
    }

    #[test]
    fn dangerous_names_get_nothing_from_patterns() {
        let a = acl("pattern readwrite devices/%c/#\npattern readwrite users/%u/#\n");
        assert!(!a.allows(None, "#", "devices/#", Write));
        assert!(!a.allows(None, "+", "devices/x/y", Write));
        assert!(!a.allows(Some("a/#"), "ok", "users/a/b", Read));
        // A value with '/' cannot reach into another client's subtree.
        assert!(!a.allows(Some("a/b"), "c", "users/a/b", Read));
        assert!(!a.allows(None, "a/b", "devices/a/b", Read));
    }

    #[test]
    fn pattern_deny_comes_before_pattern_grants_but_after_own_rules() {
        let a = acl("pattern readwrite d/%c/#\npattern deny d/%c/admin\nuser root\ntopic d/#\n");
        assert!(!a.allows(None, "x", "d/x/admin", Write));
        assert!(a.allows(None, "x", "d/x/t", Write));
        // Mosquitto tries the user's own rules before any pattern.
        assert!(a.allows(Some("root"), "x", "d/x/admin", Write));
    }

    #[test]
    fn dollar_topics_need_dollar_rules() {
        let a = acl("topic read #\ntopic read $SYS/broker/#\n");
        assert!(a.allows(None, "c", "a/b", Read));
        assert!(a.allows(None, "c", "$SYS/broker/uptime", Read));
        assert!(!a.allows(None, "c", "$CONTROL/x", Read));
    }

    #[test]
    fn subscriptions_are_checked_against_filters() {
        let a = acl("user u\ntopic read a/#\ntopic deny a/secret/#\ntopic write w\n");
        let sub = |f| a.allows_subscribe(Some("u"), "c", f);
        assert!(sub("a/#"));
        assert!(sub("#"), "overlaps a/#: accepted, deliveries are filtered");
        assert!(sub("+/x"));
        assert!(!sub("a/secret/#"), "covered by a deny rule");
        assert!(!sub("a/secret/x"));
        assert!(!sub("b/#"), "no read rule shares a topic with it");
        assert!(!sub("w"), "write only");
        assert!(!sub("$SYS/#"));
    }

    #[test]
    fn parse_errors_name_file_and_line() {
        for (text, line, why) in [
            ("topic rw a", 1, "invalid access \"rw\""),
            ("\nuser", 2, "needs a user name"),
            ("topic", 1, "needs a topic"),
            ("topic read a/#/b", 1, "'#' must be a whole level"),
            ("pattern read dev-%c", 1, "whole topic level"),
            ("allow a", 1, "unknown keyword \"allow\""),
        ] {
            let e = Acl::parse(Path::new("/etc/acl"), text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("ACL file /etc/acl, line {line}: ")), "{e}");
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn topics_may_contain_spaces_and_tabs_separate_words() {
        let a = acl("topic\tread\ta b/c\n  topic  write   x  \n");
        assert!(a.allows(None, "c", "a b/c", Read));
        assert!(a.allows(None, "c", "x", Write));
    }

    #[test]
    fn an_empty_file_denies_everything() {
        let a = acl("# nothing\n");
        assert!(!a.allows(None, "c", "a", Read));
        assert!(!a.allows_subscribe(Some("u"), "c", "#"));
    }
}
