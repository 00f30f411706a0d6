//! The Python paho-mqtt checks in `tests/interop/py/`, each run against a fresh broker for
//! MQTT 3.1.1 and 5.0: QoS round trips, retained messages, wills, persistent sessions, shared
//! subscriptions, and (5.0 only) user properties and subscription identifiers.

use std::path::PathBuf;
use std::process::Command;

use super::harness::{require_paho, Broker, Proc, PROCESS_LIMIT};

/// `tests/interop/py/NAME`.
fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop/py")
        .join(name)
}

/// Starts `python3 tests/interop/py/NAME --host 127.0.0.1 --port P --protocol PROTOCOL ...`.
pub fn spawn_script(broker: &Broker, name: &str, protocol: &str, extra: &[&str]) -> Proc {
    require_paho();
    let mut cmd = Command::new("python3");
    cmd.arg(script(name))
        .args(["--host", "127.0.0.1", "--port", &broker.port().to_string()])
        .args(["--protocol", protocol])
        .args(extra)
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    Proc::spawn(format!("{name} --protocol {protocol}"), &mut cmd, None)
}

/// Runs one check script against a fresh broker and fails the test with its output if it fails.
fn check(name: &str, protocol: &str) {
    let broker = Broker::start();
    let mut p = spawn_script(&broker, name, protocol, &[]);
    let status = p.wait(PROCESS_LIMIT);
    let output = p.output();
    assert!(
        status.success() && output.lines().any(|l| l == "PASS"),
        "{name} --protocol {protocol} failed ({status}):\n{output}"
    );
    // Shown with `--nocapture`: what the script verified.
    println!("{output}");
    broker.stop();
}

/// Runs the script `$script` as the tests `$name::v311` and `$name::v5`.
macro_rules! for_both_versions {
    ($($name:ident => $script:literal),* $(,)?) => {$(
        mod $name {
            // [MQTT-7.0.0-2] an independent client needs nothing beyond the specification.
            #[test]
            fn v311() {
                super::check($script, "311")
            }

            #[test]
            fn v5() {
                super::check($script, "5")
            }
        }
    )*};
}

for_both_versions!(
    qos_roundtrip => "qos_roundtrip.py",
    retained => "retained.py",
    will => "will.py",
    persistent_session => "persistent_session.py",
    shared_subscription => "shared_sub.py",
);

/// User properties (order, repeated keys), the other PUBLISH properties, and subscription
/// identifiers (single, maximum value, overlapping, removed on resubscribe).
#[test]
fn v5_properties_and_subscription_identifiers() {
    check("v5_properties.py", "5");
}
