//! Value syntax (sizes, durations, addresses, enums) and parse errors.

use std::time::Duration;

use super::*;

#[test]
fn sizes_accept_integers_and_unit_strings() {
    for (value, bytes) in [
        ("1000", 1000),
        ("\"1000\"", 1000),
        ("\"512KiB\"", 512 * 1024),
        ("\"1MiB\"", 1_048_576),
        ("\"64MiB\"", 64 * 1_048_576),
        ("\"1GiB\"", 1 << 30),
        ("\"1MB\"", 1_000_000),
        ("\"1.5KiB\"", 1536),
        ("\" 2 MiB \"", 2 * 1_048_576),
        ("\"20B\"", 20),
    ] {
        let text = format!("max_packet_size = 16\nmax_queued_bytes = {value}");
        assert_eq!(limits(&text).max_queued_bytes, bytes, "{value}");
    }
    for (value, bytes) in [("16", 16), ("\"256KiB\"", 256 * 1024), ("268435455", 268_435_455)] {
        let text = format!("max_packet_size = {value}\nmax_queued_bytes = \"1GiB\"");
        assert_eq!(limits(&text).max_packet_size, bytes, "{value}");
    }
}

#[test]
fn bad_sizes_are_refused() {
    refused(
        "[limits]\nmax_queued_bytes = \"lots\"",
        &["line 2", "limits.max_queued_bytes", "\"lots\"", "MiB"],
    );
    refused(
        "[limits]\nmax_queued_bytes = \"12 parsecs\"",
        &["limits.max_queued_bytes", "parsecs"],
    );
    refused(
        "[limits]\nmax_queued_bytes = -1",
        &["limits.max_queued_bytes", "negative"],
    );
    refused(
        "[limits]\nmax_queued_bytes = 1.5",
        &["limits.max_queued_bytes", "1.5"],
    );
    refused(
        "[limits]\nmax_queued_bytes = true",
        &["limits.max_queued_bytes", "boolean"],
    );
}

#[test]
fn durations_need_a_unit() {
    let settings = parse(
        "[server]\nsys_interval = \"1m 30s\"\n[limits]\nconnect_timeout = \"2500ms\"\n[store]\ncommit_interval = \"1s\"",
    );
    assert_eq!(settings.server.sys_interval, Duration::from_secs(90));
    assert_eq!(settings.limits.connect_timeout, Duration::from_millis(2500));
    assert_eq!(settings.store.commit_interval, Duration::from_secs(1));

    refused(
        "[server]\nsys_interval = 10",
        &["line 2", "server.sys_interval", "\"10s\""],
    );
    refused(
        "[server]\nsys_interval = \"10\"",
        &["server.sys_interval", "time unit needed"],
    );
    refused(
        "[limits]\nconnect_timeout = \"soon\"",
        &["limits.connect_timeout", "\"soon\""],
    );
    refused(
        "[store]\ncommit_interval = \"-1s\"",
        &["store.commit_interval", "\"-1s\""],
    );
}

// ---- parse errors -------------------------------------------------------------------------

#[test]
fn unknown_keys_are_refused() {
    refused(
        "colour = \"blue\"",
        &["line 1", "colour", "unknown field", "limits"],
    );
    refused(
        "[limits]\nmax_inflight = 5\nmax_infligth = 5",
        &["line 3", "limits.max_infligth", "unknown field", "max_inflight"],
    );
    refused(
        "[[listeners]]\nbind = \"127.0.0.1:1\"\n[[listeners]]\nbind = \"127.0.0.1:2\"\nport = 3",
        &["line 5", "listeners[1].port", "unknown field"],
    );
    refused("[serve]\ndata_dir = \"x\"", &["serve", "unknown field"]);
    for table in ["server", "auth", "store", "metrics"] {
        refused(&format!("[{table}]\nnope = 1"), &[&format!("{table}.nope")]);
    }
}

#[test]
fn wrong_types_are_refused() {
    refused(
        "[limits]\nmax_inflight = \"many\"",
        &["line 2", "limits.max_inflight", "\"many\"", "65535"],
    );
    refused(
        "[limits]\nmax_inflight = 70000",
        &["limits.max_inflight", "70000", "too large", "65535"],
    );
    refused(
        "[limits]\nmax_connections = -5",
        &["limits.max_connections", "negative"],
    );
    refused(
        "[[listeners]]\nbind = \"127.0.0.1:1\"\nallow_anonymous = \"yes\"",
        &["listeners[0].allow_anonymous", "\"yes\""],
    );
    refused("[[listeners]]\nbind = 1883", &["listeners[0].bind", "1883"]);
    refused(
        "[[listeners]]\nbind = \"localhost:1883\"",
        &["listeners[0].bind", "localhost:1883", "host names"],
    );
    refused("limits = 5", &["line 1", "limits", "integer, expected a table"]);
    refused("[[listeners]]\nbind = \"127.0.0.1:1\"\n[listeners]", &["line 3"]);
    refused(
        "listeners = [\"127.0.0.1:1\"]",
        &["listeners[0]", "string, expected a table"],
    );
    // serde would read a struct from an array, field by field; a table is required.
    refused("server = []", &["server", "expected a table"]);
    refused(
        "server = [\"/data\", \"10s\"]",
        &["line 1", "server", "expected a table"],
    );
    refused(
        "listeners = [[\"127.0.0.1:1\"]]",
        &["listeners[0]", "expected a table"],
    );
    refused("listeners = 5", &["listeners", "5"]);
    refused("[metrics]\nlisten = \"9100\"", &["metrics.listen", "\"9100\""]);
    refused(
        r#"listeners = [{ bind = "127.0.0.1:1" }, { bind = "127.0.0.1:2", protocol = 3 }]"#,
        &["listeners[1].protocol"],
    );
}

#[test]
fn syntax_errors_give_the_position() {
    refused("[limits\nmax_inflight = 1", &["line 1", "column"]);
    refused("[limits]\nmax_inflight = ", &["line 2"]);
    refused("[server]\n[server]", &["line 2", "duplicate"]);
    refused("a = \"unterminated", &["line 1"]);
}
