//! What robustmq says about the Mosquitto settings it does not carry over, and which words are
//! Mosquitto settings at all.

/// Every setting mosquitto.conf(5) documents (Mosquitto 2.0), so that a line can be told apart
/// as "Mosquitto's, without an equivalent" or "not a Mosquitto setting".
const KNOWN: &[&str] = &[
    "accept_protocol_versions",
    "acl_file",
    "address",
    "addresses",
    "allow_anonymous",
    "allow_duplicate_messages",
    "allow_zero_length_clientid",
    "auth_plugin",
    "auth_plugin_deny_special_chars",
    "auto_id_prefix",
    "autosave_interval",
    "autosave_on_changes",
    "bind_address",
    "bind_interface",
    "bridge_alpn",
    "bridge_attempt_unsubscribe",
    "bridge_bind_address",
    "bridge_cafile",
    "bridge_capath",
    "bridge_certfile",
    "bridge_identity",
    "bridge_insecure",
    "bridge_keyfile",
    "bridge_max_packet_size",
    "bridge_outgoing_retain",
    "bridge_protocol_version",
    "bridge_psk",
    "bridge_receive_maximum",
    "bridge_require_ocsp",
    "bridge_session_expiry_interval",
    "bridge_tls_version",
    "cafile",
    "capath",
    "certfile",
    "check_retain_source",
    "ciphers",
    "ciphers_tls1.3",
    "cleansession",
    "clientid",
    "clientid_prefixes",
    "connection",
    "connection_messages",
    "crlfile",
    "dhparamfile",
    "enable_control_api",
    "global_plugin",
    "http_dir",
    "idle_timeout",
    "include_dir",
    "keepalive_interval",
    "keyfile",
    "listener",
    "local_cleansession",
    "local_clientid",
    "local_password",
    "local_username",
    "log_dest",
    "log_facility",
    "log_timestamp",
    "log_timestamp_format",
    "log_type",
    "max_connections",
    "max_inflight_bytes",
    "max_inflight_messages",
    "max_keepalive",
    "max_packet_size",
    "max_qos",
    "max_queued_bytes",
    "max_queued_messages",
    "max_topic_alias",
    "memory_limit",
    "message_size_limit",
    "mount_point",
    "notification_topic",
    "notifications",
    "notifications_local_only",
    "password",
    "password_file",
    "per_listener_settings",
    "persistence",
    "persistence_file",
    "persistence_location",
    "persistent_client_expiration",
    "pid_file",
    "plugin",
    "port",
    "protocol",
    "psk_file",
    "psk_hint",
    "queue_qos0_messages",
    "remote_clientid",
    "remote_password",
    "remote_username",
    "require_certificate",
    "restart_timeout",
    "retain_available",
    "round_robin",
    "set_tcp_nodelay",
    "socket_domain",
    "start_type",
    "sys_interval",
    "threshold",
    "tls_engine",
    "tls_engine_kpass_sha1",
    "tls_keyform",
    "tls_version",
    "topic",
    "try_private",
    "upgrade_outgoing_qos",
    "use_identity_as_username",
    "use_subject_as_username",
    "use_username_as_clientid",
    "user",
    "username",
    "websockets_headers_size",
    "websockets_log_level",
];

/// Whether `key` is a Mosquitto setting (plugin options included).
pub fn is_known(key: &str) -> bool {
    KNOWN.contains(&key)
        || key.starts_with("plugin_opt_")
        || key.starts_with("auth_opt_")
        || key.starts_with("global_plugin_opt_")
}

/// Why a Mosquitto setting robustmq has no equivalent for is not carried over.
pub fn no_equivalent(key: &str) -> &'static str {
    match key {
        "log_dest"
        | "log_type"
        | "log_facility"
        | "log_timestamp"
        | "log_timestamp_format"
        | "connection_messages"
        | "websockets_log_level" => {
            "robustmq logs to stderr (the journal under systemd); choose what with \
             `robustmq serve --log-level` or RUST_LOG"
        }
        "pid_file" => "robustmq writes no pid file; run it under systemd (the package's unit)",
        "user" => "robustmq does not switch user; start it as the user it should run as",
        "autosave_interval" | "autosave_on_changes" | "persistence_file" => {
            "robustmq commits every acknowledged message to its store ([store] durability)"
        }
        "plugin" | "auth_plugin" | "global_plugin" | "auth_plugin_deny_special_chars" => {
            "robustmq has no plugins; it authenticates with [auth] password_file and acl_file"
        }
        k if k.starts_with("plugin_opt_")
            || k.starts_with("auth_opt_")
            || k.starts_with("global_plugin_opt_") =>
        {
            "robustmq has no plugins"
        }
        "psk_file" | "psk_hint" | "bridge_psk" | "bridge_identity" => {
            "TLS with pre-shared keys is not supported; use certificates"
        }
        "capath" | "bridge_capath" => "a directory of CA files is not supported; use one cafile",
        "crlfile" => {
            "certificate revocation lists are not supported: revoked client certificates \
             would be accepted"
        }
        "ciphers"
        | "ciphers_tls1.3"
        | "tls_version"
        | "dhparamfile"
        | "tls_engine"
        | "tls_keyform"
        | "tls_engine_kpass_sha1"
        | "bridge_tls_version"
        | "bridge_alpn"
        | "bridge_require_ocsp" => {
            "TLS versions and ciphers are fixed in robustmq (TLS 1.2 and 1.3, safe defaults)"
        }
        "mount_point" => "no equivalent: clients of this listener now see topics without the mount point",
        "http_dir" => "robustmq serves no files over HTTP",
        "bind_interface" => "no equivalent; bind to the interface's address instead",
        "use_subject_as_username" => {
            "no equivalent; use_identity_as_username takes the certificate's Common Name"
        }
        "use_username_as_clientid" => "no equivalent",
        "allow_zero_length_clientid" | "auto_id_prefix" => {
            "no equivalent: robustmq always gives a client id to a v5 client that sends none"
        }
        "clientid_prefixes" => "no equivalent; restrict clients with the ACL file",
        "max_qos"
        | "retain_available"
        | "upgrade_outgoing_qos"
        | "queue_qos0_messages"
        | "allow_duplicate_messages"
        | "check_retain_source"
        | "set_tcp_nodelay"
        | "max_inflight_bytes"
        | "max_topic_alias"
        | "websockets_headers_size"
        | "accept_protocol_versions"
        | "enable_control_api" => "no equivalent in robustmq",
        "persistent_client_expiration" => {
            "no equivalent: v5 clients choose their session expiry; 3.1.1 persistent sessions \
             are kept until the client cleans them"
        }
        "local_clientid" => "a bridge's local client id is always $bridge/NAME",
        "local_username" | "local_password" | "local_cleansession" => {
            "a bridge is part of the broker, it does not log in locally"
        }
        "start_type" | "restart_timeout" | "idle_timeout" | "threshold" => {
            "a bridge always connects at start and reconnects by itself (1 s, doubling up to \
             2 min)"
        }
        "notifications" | "notification_topic" | "notifications_local_only" => {
            "bridge state is in $SYS/broker/bridges/ and the admin API instead"
        }
        "round_robin" => "a bridge connects to one address",
        "bridge_attempt_unsubscribe"
        | "bridge_outgoing_retain"
        | "bridge_max_packet_size"
        | "bridge_bind_address"
        | "bridge_receive_maximum"
        | "bridge_session_expiry_interval" => "no equivalent for bridges in robustmq",
        _ => "no equivalent in robustmq",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_options_are_known_and_toml_keys_are_not() {
        assert!(is_known("listener"));
        assert!(is_known("plugin_opt_host"));
        assert!(!is_known("[server]"));
        assert!(!is_known("bind"));
        assert!(no_equivalent("crlfile").contains("revoked"));
    }
}
