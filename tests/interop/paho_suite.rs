//! The Eclipse Paho interoperability suite's cases, re-expressed in `tests/interop/py/suite_*.py`
//! with the paho-mqtt client: one test per case and version, each against a fresh broker
//! configured as that suite expects (`max_keepalive = 60`, subscriptions to `test/nosubscribe`
//! denied). `tests/interop/py/README.md` maps the Paho cases to these tests.
//!
//! They always run against robustmq, whatever `INTEROP_REFERENCE_BROKER` says: the configuration
//! is robustmq's, and Mosquitto 2.0.11 fails several cases (it grants the denied subscription
//! and filters deliveries instead, delivers 3.1.1 overlapping subscriptions at the lower QoS,
//! sends no topic aliases, waits out a will delay past the end of the session, and does not
//! disconnect a client over its Receive Maximum).

use super::harness::{Broker, PROCESS_LIMIT};
use super::paho::spawn_script;

/// The ACL: everything allowed but subscribing to `test/nosubscribe`. `#` does not cover
/// topics starting with `$`, so the `$` topic the suite publishes to is granted by name.
const ACL: &str = "topic deny test/nosubscribe\ntopic readwrite #\ntopic readwrite $TopicA/#\n";

/// Runs `--case CASE` of `SCRIPT` against a fresh broker and fails with its output if it fails.
fn check(script: &str, protocol: &str, case: &str) {
    let acl_dir = tempfile::Builder::new()
        .prefix("robustmq-paho-acl-")
        .tempdir()
        .expect("temp dir");
    let acl = acl_dir.path().join("acl");
    std::fs::write(&acl, ACL).expect("write the ACL file");
    let broker = Broker::start_robustmq_with(&format!(
        "[auth]\nacl_file = {:?}\n\n[limits]\nmax_keepalive = 60\n",
        acl.display().to_string()
    ));
    let mut p = spawn_script(&broker, script, protocol, &["--case", case]);
    let status = p.wait(PROCESS_LIMIT);
    let output = p.output();
    assert!(
        status.success() && output.lines().any(|l| l == "PASS"),
        "{script} --protocol {protocol} --case {case} failed ({status}):\n{output}"
    );
    println!("{output}");
    broker.stop();
}

/// One test per case of `suite_common.py`, for 3.1.1 (`v311::CASE`) and 5.0 (`v5::CASE`).
macro_rules! common_cases {
    ($($case:ident),* $(,)?) => {
        mod v311 {$(
            #[test]
            fn $case() {
                super::check("suite_common.py", "311", stringify!($case))
            }
        )*}

        mod v5 {$(
            #[test]
            fn $case() {
                super::check("suite_common.py", "5", stringify!($case))
            }
        )*}
    };
}

common_cases!(
    basic,
    retained_messages,
    zero_length_clientid,
    offline_message_queueing,
    overlapping_subscriptions,
    keepalive,
    redelivery_on_reconnect,
    subscribe_failure,
    dollar_topics,
    unsubscribe,
);

/// One test per case of `suite_v5.py` (`v5_only::CASE`).
macro_rules! v5_cases {
    ($($case:ident),* $(,)?) => {
        mod v5_only {$(
            #[test]
            fn $case() {
                super::check("suite_v5.py", "5", stringify!($case))
            }
        )*}
    };
}

v5_cases!(
    will_message,
    session_expiry,
    user_properties,
    payload_format,
    publication_expiry,
    subscribe_options,
    assigned_clientid,
    subscribe_identifiers,
    request_response,
    client_topic_alias,
    server_topic_alias,
    maximum_packet_size,
    server_keep_alive,
    flow_control1,
    flow_control2,
    will_delay,
    shared_subscriptions,
);
