//! Graceful shutdown as a client sees it: SIGTERM makes the broker send MQTT 5.0 clients
//! DISCONNECT with reason code 0x8B (server shutting down) and exit with code 0.
//!
//! Sending that DISCONNECT is optional in MQTT 5.0 and Mosquitto 2.0 does not, so this is the
//! one test that fails with `INTEROP_REFERENCE_BROKER=mosquitto`; it checks robustmq's own promise.

use super::harness::{Broker, WAIT};
use super::paho::spawn_script;

#[test]
fn sigterm_sends_v5_disconnect_0x8b_and_exits_0() {
    let mut broker = Broker::start();
    let mut client = spawn_script(&broker, "shutdown_client.py", "5", &[]);
    loop {
        match client.next_line(WAIT, "READY") {
            Some(line) if line == "READY" => break,
            Some(_) => {}
            None => panic!(
                "shutdown_client.py exited before it was ready:\n{}",
                client.output()
            ),
        }
    }
    broker.signal("TERM");
    let status = broker.wait_exit(WAIT);
    let client_status = client.wait(WAIT);
    let output = client.output();
    assert!(
        client_status.success(),
        "the v5 client did not see DISCONNECT 0x8B ({client_status}):\n{output}"
    );
    assert_eq!(
        status.code(),
        Some(0),
        "the broker should exit with code 0 after SIGTERM, got {status}"
    );
    println!("{output}");
}
