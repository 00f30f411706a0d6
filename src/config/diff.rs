//! What changed between the configuration in force and a new one (SIGHUP), key by key, and
//! which of the changes take effect live.
//!
//! The rule, also in the serve manual: `[limits]`, `[auth]`, `server.log_level`, `[[bridges]]`
//! and a listener's `allow_anonymous`, `cert`, `key` and `client_ca` apply live. Everything
//! else needs a restart: a listener added, removed or changed in any other key (its socket is
//! bound once), `server.data_dir`, `server.sys_interval`, `[store]` (the store is opened once)
//! and `[metrics]`.

use std::fmt::Debug;
use std::path::PathBuf;
use std::time::Duration;

use super::{BridgeSettings, Limits, ListenerSettings, MemoryLimit, PublishRateAction, Settings};

/// The differences between two configurations.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// What takes effect live, one entry per key: `limits.max_inflight 100 → 200`.
    pub live: Vec<String>,
    /// Keys that changed but keep their running value until a restart.
    pub restart: Vec<String>,
}

impl Diff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty() && self.restart.is_empty()
    }
}

/// A value as it appears in a change line.
trait Show {
    fn show(&self) -> String;
}

macro_rules! show_display {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
show_display!(u8, u16, u32, u64, usize, bool, String, MemoryLimit);

impl Show for Duration {
    fn show(&self) -> String {
        format!("{self:?}")
    }
}

impl Show for PathBuf {
    fn show(&self) -> String {
        self.display().to_string()
    }
}

impl Show for PublishRateAction {
    fn show(&self) -> String {
        format!("{self:?}").to_lowercase()
    }
}

impl<T: Show> Show for Option<T> {
    fn show(&self) -> String {
        self.as_ref().map_or_else(|| "(none)".to_owned(), Show::show)
    }
}

fn change<T: Show + PartialEq>(out: &mut Vec<String>, key: &str, old: &T, new: &T) {
    if old != new {
        out.push(format!("{key} {} → {}", old.show(), new.show()));
    }
}

/// Compares the configuration in force, `old`, with `new`.
pub fn diff(old: &Settings, new: &Settings) -> Diff {
    let mut d = Diff::default();
    change(
        &mut d.live,
        "server.log_level",
        &old.server.log_level,
        &new.server.log_level,
    );
    for (key, changed) in [
        ("server.data_dir", old.server.data_dir != new.server.data_dir),
        (
            "server.sys_interval",
            old.server.sys_interval != new.server.sys_interval,
        ),
        ("store", old.store != new.store),
        ("metrics", old.metrics != new.metrics),
    ] {
        if changed {
            d.restart.push(key.to_owned());
        }
    }
    listeners(&mut d, &old.listeners, &new.listeners);
    change(
        &mut d.live,
        "auth.password_file",
        &old.auth.password_file,
        &new.auth.password_file,
    );
    change(
        &mut d.live,
        "auth.acl_file",
        &old.auth.acl_file,
        &new.auth.acl_file,
    );
    limits(&mut d.live, &old.limits, &new.limits);
    bridges(&mut d.live, &old.bridges, &new.bridges);
    d
}

/// Whether the listeners can stay bound: same number, each differing at most in the keys that
/// apply live.
pub fn listeners_rebind(old: &[ListenerSettings], new: &[ListenerSettings]) -> bool {
    let live_keys_aside = |l: &ListenerSettings| ListenerSettings {
        allow_anonymous: None,
        cert: None,
        key: None,
        client_ca: None,
        ..l.clone()
    };
    old.len() != new.len()
        || old
            .iter()
            .zip(new)
            .any(|(o, n)| live_keys_aside(o) != live_keys_aside(n))
}

fn listeners(d: &mut Diff, old: &[ListenerSettings], new: &[ListenerSettings]) {
    if listeners_rebind(old, new) {
        d.restart.push("listeners".to_owned());
        return;
    }
    for (index, (o, n)) in old.iter().zip(new).enumerate() {
        let key = |name: &str| format!("listeners[{index}].{name}");
        change(
            &mut d.live,
            &key("allow_anonymous"),
            &o.allow_anonymous,
            &n.allow_anonymous,
        );
        change(&mut d.live, &key("cert"), &o.cert, &n.cert);
        change(&mut d.live, &key("key"), &o.key, &n.key);
        change(&mut d.live, &key("client_ca"), &o.client_ca, &n.client_ca);
    }
}

fn limits(out: &mut Vec<String>, old: &Limits, new: &Limits) {
    // The fields are destructured (no `..`), so that a new one does not compile until it is
    // listed here and compared.
    macro_rules! compare {
        ($($field:ident),*) => {
            let Limits { $($field),* } = new;
            $(change(out, concat!("limits.", stringify!($field)), &old.$field, $field);)*
        };
    }
    compare!(
        max_connections,
        max_connections_per_second,
        max_packet_size,
        max_inflight,
        max_queued_messages,
        max_queued_bytes,
        max_memory,
        stalled_after,
        min_keepalive,
        max_keepalive,
        connect_timeout,
        topic_alias_maximum,
        max_topic_length,
        max_topic_levels,
        max_subscriptions_per_client,
        max_publish_rate,
        max_publish_bytes_rate,
        publish_rate_action
    );
}

fn bridges(out: &mut Vec<String>, old: &[BridgeSettings], new: &[BridgeSettings]) {
    for o in old {
        match new.iter().find(|n| n.name == o.name) {
            None => out.push(format!("bridges.{} removed", o.name)),
            Some(n) if n != o => out.push(format!("bridges.{} changed", o.name)),
            Some(_) => {}
        }
    }
    for n in new {
        if !old.iter().any(|o| o.name == n.name) {
            out.push(format!("bridges.{} added", n.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Settings {
        Settings::from_toml_str(text, "test").unwrap()
    }

    #[test]
    fn unchanged_is_empty() {
        let s = parse("[limits]\nmax_inflight = 5");
        assert!(diff(&s, &s.clone()).is_empty());
    }

    #[test]
    fn live_and_restart_keys() {
        let old = parse("[[listeners]]\nbind = \"127.0.0.1:1\"\n[limits]\nmax_inflight = 100");
        let new = parse(
            "[server]\nlog_level = \"debug\"\n[[listeners]]\nbind = \"127.0.0.1:1\"\nallow_anonymous = true\n\
             [limits]\nmax_inflight = 200\n[store]\ndurability = \"periodic\"",
        );
        let d = diff(&old, &new);
        assert_eq!(
            d.live,
            [
                "server.log_level info → debug",
                "listeners[0].allow_anonymous (none) → true",
                "limits.max_inflight 100 → 200",
            ]
        );
        assert_eq!(d.restart, ["store"]);
    }

    #[test]
    fn a_listener_bound_elsewhere_needs_a_restart() {
        let old = parse("[[listeners]]\nbind = \"127.0.0.1:1\"");
        let new = parse("[[listeners]]\nbind = \"127.0.0.1:2\"\nallow_anonymous = true");
        let d = diff(&old, &new);
        assert_eq!(d.restart, ["listeners"]);
        assert!(d.live.is_empty(), "{:?}", d.live);
    }

    #[test]
    fn bridges_by_name() {
        let bridge = |name: &str, filter: &str| {
            format!("[[bridges]]\nname = \"{name}\"\nremote = \"mqtt://127.0.0.1:1\"\n[[bridges.topics]]\nfilter = \"{filter}\"\n")
        };
        let old = parse(&(bridge("a", "x") + &bridge("b", "x")));
        let new = parse(&(bridge("b", "y") + &bridge("c", "x")));
        assert_eq!(
            diff(&old, &new).live,
            ["bridges.a removed", "bridges.b changed", "bridges.c added"]
        );
    }
}
