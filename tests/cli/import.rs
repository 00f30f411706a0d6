//! `robustmq import mosquitto`: Mosquitto's packaged and example configurations and
//! hand-written ones are imported, and the output passes `robustmq serve --check-config`;
//! end to end, a broker started from an imported configuration takes the users of a
//! `mosquitto_passwd` file and enforces the Mosquitto ACL file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};

use assert_cmd::Command;
use robustmq::config::Settings;

use super::broker_process;
use super::harness::{require_mosquitto, Broker, Kind, Running, WAIT};

/// What to tell the user when Mosquitto's files are missing.
const SETUP_HINT: &str = "run `.ci/setup-test-deps.sh` (as root) to install the test dependencies";

const PACKAGED: &str = "/etc/mosquitto/mosquitto.conf";
const EXAMPLE: &str = "/usr/share/doc/mosquitto/examples/mosquitto.conf";

fn robustmq() -> Command {
    Command::cargo_bin("robustmq").unwrap()
}

/// `robustmq import mosquitto INPUT -o OUT` (OUT in `dir`), which must succeed; its stderr.
fn import(input: &Path, dir: &Path) -> (PathBuf, String) {
    let out = dir.join("robustmq.toml");
    let output = robustmq()
        .args(["import", "mosquitto"])
        .arg(input)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "import failed: {stderr}");
    assert!(output.stdout.is_empty(), "the TOML went to -o, not stdout");
    (out, stderr)
}

/// `robustmq serve --check-config --config FILE` must accept the file.
fn assert_check_config(file: &Path) {
    let output = robustmq()
        .args(["serve", "--check-config", "--config"])
        .arg(file)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "--check-config refused {}:\n{}\n---\n{}",
        file.display(),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
}

/// Mosquitto's full example configuration (installed plain or gzipped).
fn example_text() -> String {
    if let Ok(text) = std::fs::read_to_string(EXAMPLE) {
        return text;
    }
    let gz = format!("{EXAMPLE}.gz");
    let output = StdCommand::new("gzip")
        .args(["-dc", &gz])
        .output()
        .unwrap_or_else(|e| panic!("cannot run gzip for {gz}: {e}"));
    assert!(
        output.status.success(),
        "neither {EXAMPLE} nor {gz} can be read: {SETUP_HINT}"
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_packaged_mosquitto_conf_imports_and_passes_check_config() {
    assert!(
        Path::new(PACKAGED).exists(),
        "{PACKAGED} is missing: {SETUP_HINT}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = import(Path::new(PACKAGED), dir.path());
    assert_check_config(&out);
    // pid_file and log_dest have no equivalent, and say so with their line.
    assert!(stderr.contains("mosquitto.conf:"), "{stderr}");
    assert!(stderr.contains(": pid_file: "), "{stderr}");
    assert!(stderr.contains(": log_dest: "), "{stderr}");
    assert!(stderr.contains("not carried over"), "{stderr}");
    let settings = Settings::from_file(&out).unwrap();
    assert_eq!(
        settings.server.data_dir,
        Path::new("/var/lib/mosquitto/robustmq"),
        "persistence_location, in a directory of its own"
    );
}

#[test]
fn mosquittos_example_imports_as_it_is_and_with_every_setting_uncommented() {
    let text = example_text();
    let dir = tempfile::tempdir().unwrap();
    let as_is = dir.path().join("example.conf");
    std::fs::write(&as_is, &text).unwrap();
    let (out, _) = import(&as_is, dir.path());
    assert_check_config(&out);
    // Every setting is commented out: Mosquitto's defaults, which are ours.
    assert_eq!(Settings::from_file(&out).unwrap().listeners.len(), 1);

    // Uncommented, the example holds every setting once, most with placeholder or empty
    // values: each must be carried over or noted, never fail the import.
    let uncommented: String = text
        .lines()
        .map(|line| match line.strip_prefix('#') {
            Some(rest) if rest.starts_with(|c: char| c.is_ascii_lowercase()) => rest,
            _ => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let all = dir.path().join("all.conf");
    std::fs::write(&all, uncommented).unwrap();
    let sub = dir.path().join("all");
    std::fs::create_dir(&sub).unwrap();
    let (out, stderr) = import(&all, &sub);
    assert_check_config(&out);
    for key in ["crlfile", "mount_point", "psk_file", "auth_plugin", "log_type"] {
        assert!(
            stderr.contains(&format!(": {key}: ")),
            "{key} not noted:\n{stderr}"
        );
    }
    for line in stderr.lines().filter(|l| l.starts_with(all.to_str().unwrap())) {
        let number: usize = line.split(':').nth(1).unwrap().parse().unwrap();
        assert!(number > 0, "{line}");
    }
}

#[test]
fn listeners_tls_auth_limits_and_a_bridge_carry_over() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("mosquitto.conf");
    let conf_d = dir.path().join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    std::fs::write(
        conf_d.join("bridge.conf"),
        "connection cloud\naddress cloud.example:8883 backup.example:8883\n\
         bridge_protocol_version mqttv50\nremote_clientid edge-1\nremote_username edge\n\
         remote_password s3cret\ncleansession true\nkeepalive_interval 30\n\
         bridge_cafile certs/ca.crt\ntry_private true\n\
         topic sensors/# out 1 \"\" site1/\ntopic commands/# in 2 local/ site1/\n\
         start_type lazy\n",
    )
    .unwrap();
    std::fs::write(
        &conf,
        format!(
            "# a broker with everything\nper_listener_settings false\nallow_anonymous false\n\
             password_file passwd\nacl_file acl\nmax_inflight_messages 40\n\
             max_queued_messages 500\nmax_queued_bytes 1000000\nmessage_size_limit 2000\n\
             max_keepalive 120\nsys_interval 30\nmax_connections 200\n\
             listener 1883 127.0.0.1\n\
             listener 8883\ncertfile certs/server.crt\nkeyfile certs/server.key\n\
             cafile certs/ca.crt\nrequire_certificate true\nuse_identity_as_username true\n\
             max_connections 50\n\
             listener 9001 127.0.0.1\nprotocol websockets\nmount_point tenant/\n\
             include_dir {}\n",
            conf_d.display()
        ),
    )
    .unwrap();
    // --check-config reads the files a configuration names.
    let certs = robustmq()
        .args(["certs", "init"])
        .arg(dir.path().join("certs"))
        .output()
        .unwrap();
    assert!(
        certs.status.success(),
        "{}",
        String::from_utf8_lossy(&certs.stderr)
    );
    std::fs::write(dir.path().join("passwd"), "").unwrap();
    std::fs::write(dir.path().join("acl"), "topic read #\n").unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let (out, stderr) = import(&conf, &out_dir);
    assert_check_config(&out);

    let s = Settings::from_file(&out).unwrap();
    let protocols: Vec<String> = s.listeners.iter().map(|l| l.protocol.to_string()).collect();
    assert_eq!(protocols, ["mqtt", "mqtts", "ws"]);
    assert_eq!(s.listeners[0].bind, Some("127.0.0.1:1883".parse().unwrap()));
    assert_eq!(s.listeners[1].bind, Some("0.0.0.0:8883".parse().unwrap()));
    assert!(s.listeners.iter().all(|l| l.allow_anonymous == Some(false)));
    let tls = &s.listeners[1];
    assert_eq!(
        tls.cert.as_deref(),
        Some(dir.path().join("certs/server.crt").as_path())
    );
    assert_eq!(
        tls.client_ca.as_deref(),
        Some(dir.path().join("certs/ca.crt").as_path())
    );
    assert!(tls.require_certificate && tls.use_identity_as_username);
    assert_eq!(tls.max_connections, Some(50));
    assert_eq!(
        s.auth.password_file.as_deref(),
        Some(dir.path().join("passwd").as_path())
    );
    assert_eq!(s.auth.acl_file.as_deref(), Some(dir.path().join("acl").as_path()));
    assert_eq!(s.limits.max_inflight, 40);
    assert_eq!(s.limits.max_queued_messages, 500);
    assert_eq!(s.limits.max_queued_bytes, 1_000_000);
    assert_eq!(s.limits.max_packet_size, 2000 + 2048);
    assert_eq!(s.limits.max_keepalive, 120);
    assert_eq!(s.limits.max_connections, 200);
    assert_eq!(s.server.sys_interval.as_secs(), 30);

    let b = &s.bridges[0];
    assert_eq!(
        (b.name.as_str(), b.remote.as_str()),
        ("cloud", "mqtts://cloud.example:8883")
    );
    assert_eq!((b.protocol, b.client_id.as_deref()), (5, Some("edge-1")));
    assert_eq!(
        (b.username.as_deref(), b.password.as_deref()),
        (Some("edge"), Some("s3cret"))
    );
    assert!(b.clean_start);
    assert_eq!(b.keepalive.as_secs(), 30);
    // Relative to the main file's directory, wherever the line is.
    assert_eq!(
        b.cafile.as_deref(),
        Some(dir.path().join("certs/ca.crt").as_path())
    );
    let rules: Vec<(&str, u8, &str, &str)> = b
        .topics
        .iter()
        .map(|t| {
            (
                t.filter.as_str(),
                t.qos,
                t.local_prefix.as_str(),
                t.remote_prefix.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("sensors/#", 1, "", "site1/"),
            ("commands/#", 2, "local/", "site1/")
        ]
    );

    // What did not carry over, each on its own line with file and line number.
    let conf_name = conf.display().to_string();
    let bridge_name = conf_d.join("bridge.conf").display().to_string();
    for expected in [
        format!("{conf_name}:23: mount_point: "),
        format!("{conf_name}:22: protocol: "),
        format!("{conf_name}:9: message_size_limit: "),
        format!("{bridge_name}:2: address: "),
        format!("{bridge_name}:13: start_type: "),
    ] {
        assert!(stderr.contains(&expected), "no {expected:?} in:\n{stderr}");
    }
    assert!(!stderr.contains(": try_private: "), "{stderr}");
    let summary = stderr.lines().last().unwrap();
    assert!(summary.contains("not carried over as they were"), "{summary}");
    assert!(summary.contains(&out.display().to_string()), "{summary}");
}

#[test]
fn without_o_the_toml_goes_to_stdout_and_the_notes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("m.conf");
    std::fs::write(
        &conf,
        "listener 1884 127.0.0.1\nallow_anonymous true\npid_file /x\n",
    )
    .unwrap();
    let output = robustmq()
        .args(["import", "mosquitto"])
        .arg(&conf)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let toml = String::from_utf8(output.stdout).unwrap();
    let s = Settings::from_toml_str(&toml, "stdout").unwrap();
    assert_eq!(s.listeners[0].allow_anonymous, Some(true));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("m.conf:3: pid_file: "), "{stderr}");
    // The file keeps the notes as comments.
    assert!(toml.contains("m.conf:3: pid_file: "), "{toml}");
}

#[test]
fn an_existing_output_is_kept_unless_force() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("m.conf");
    std::fs::write(&conf, "listener 1884\n").unwrap();
    let out = dir.path().join("robustmq.toml");
    std::fs::write(&out, "# mine\n").unwrap();
    let run = |force: bool| -> Output {
        let mut cmd = robustmq();
        cmd.args(["import", "mosquitto"]).arg(&conf).arg("-o").arg(&out);
        if force {
            cmd.arg("--force");
        }
        cmd.output().unwrap()
    };
    let refused = run(false);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "# mine\n");
    assert_eq!(run(true).status.code(), Some(0));
    assert_check_config(&out);
}

#[test]
fn unreadable_or_foreign_input_exits_4_and_usage_errors_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = robustmq()
        .args(["import", "mosquitto"])
        .arg(dir.path().join("nope.conf"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(4));
    let toml = dir.path().join("robustmq.toml");
    std::fs::write(
        &toml,
        "[server]\nsys_interval = \"5s\"\n[[listeners]]\nbind = \"0.0.0.0:1\"\n",
    )
    .unwrap();
    let foreign = robustmq()
        .args(["import", "mosquitto"])
        .arg(&toml)
        .output()
        .unwrap();
    assert_eq!(foreign.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&foreign.stderr).contains("not a Mosquitto configuration"));
    assert!(foreign.stdout.is_empty());
    let usage = robustmq().args(["import", "mosquitto"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

/// A broker process killed when the test ends, however it ends.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Imports `conf` (in `dir`) and starts `robustmq serve` with the result, its first listener
/// moved to a port of the broker's choosing; returns the broker and that port.
fn serve_imported(conf: &Path, dir: &Path) -> (Serve, u16) {
    let (out, _) = import(conf, dir);
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(toml.contains("bind = \"127.0.0.1:1883\""), "{toml}");
    std::fs::write(&out, toml.replace("127.0.0.1:1883", "127.0.0.1:0")).unwrap();
    let mut serve = StdCommand::new(env!("CARGO_BIN_EXE_robustmq"));
    serve
        .arg("serve")
        .arg("--config")
        .arg(&out)
        .arg("--data-dir")
        .arg(dir.join("data"));
    let (child, bound) = broker_process::start(&mut serve, &dir.join("broker.log"), WAIT)
        .unwrap_or_else(|e| panic!("robustmq did not start from the imported config: {e}"));
    (Serve(child), bound.port(0, "mqtt"))
}

#[test]
fn an_imported_bridge_forwards_to_mosquitto_under_the_remote_prefix() {
    let remote = Broker::start(Kind::Mosquitto);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener 1883 127.0.0.1\nallow_anonymous true\nconnection up\n\
             address 127.0.0.1:{}\ntopic sensors/# out 1 \"\" site1/\n",
            remote.port()
        ),
    )
    .unwrap();
    let upstream = Running::spawn_mosquitto_sub(remote.port(), &["-t", "site1/#", "-v", "-C", "1"]);
    let (_serve, port) = serve_imported(&conf, dir.path());
    // QoS 1 out of a bridge is stored and forwarded, so it arrives whenever the link is up.
    let sent = mosquitto(
        "mosquitto_pub",
        port,
        &["-t", "sensors/t1", "-m", "21.5", "-q", "1"],
    );
    assert!(sent.status.success(), "{}", String::from_utf8_lossy(&sent.stderr));
    let got = upstream.finish();
    assert!(got.stdout.contains("site1/sensors/t1 21.5"), "{}", got.stdout);
}

fn mosquitto(tool: &str, port: u16, args: &[&str]) -> Output {
    StdCommand::new(tool)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}; {SETUP_HINT}"))
}

#[test]
fn a_broker_from_an_imported_config_takes_mosquitto_passwd_users_and_the_acl() {
    require_mosquitto();
    let dir = tempfile::tempdir().unwrap();
    let passwd = dir.path().join("passwd");
    let made = StdCommand::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args(["alice", "wonderland"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run mosquitto_passwd: {e}; {SETUP_HINT}"));
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    std::fs::write(
        dir.path().join("acl"),
        "user alice\ntopic readwrite garden/#\ntopic read news/#\n",
    )
    .unwrap();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        "listener 1883 127.0.0.1\nallow_anonymous false\npassword_file passwd\nacl_file acl\n\
         persistence true\npersistence_location data/\n",
    )
    .unwrap();
    let (out, _) = import(&conf, dir.path());
    // The broker gets a port of its own choosing; nothing else about the import changes.
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(toml.contains("bind = \"127.0.0.1:1883\""), "{toml}");
    std::fs::write(&out, toml.replace("127.0.0.1:1883", "127.0.0.1:0")).unwrap();

    let mut serve = StdCommand::new(env!("CARGO_BIN_EXE_robustmq"));
    serve.arg("serve").arg("--config").arg(&out);
    let (child, bound) = broker_process::start(&mut serve, &dir.path().join("broker.log"), WAIT)
        .unwrap_or_else(|e| panic!("robustmq did not start from the imported config: {e}"));
    let _serve = Serve(child);
    let port = bound.port(0, "mqtt");
    assert!(
        dir.path().join("data/robustmq").is_dir(),
        "persistence_location → data_dir"
    );

    let alice = ["-u", "alice", "-P", "wonderland"];
    let published = mosquitto(
        "mosquitto_pub",
        port,
        &[&alice[..], &["-t", "garden/rose", "-m", "red", "-r", "-q", "1"]].concat(),
    );
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    let received = mosquitto(
        "mosquitto_sub",
        port,
        &[&alice[..], &["-t", "garden/#", "-C", "1", "-W", "10"]].concat(),
    );
    assert!(
        received.status.success(),
        "{}",
        String::from_utf8_lossy(&received.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&received.stdout).trim(), "red");

    let wrong = mosquitto(
        "mosquitto_pub",
        port,
        &["-u", "alice", "-P", "queen", "-t", "garden/rose", "-m", "x"],
    );
    assert!(!wrong.status.success(), "a wrong password was let in");
    let anonymous = mosquitto("mosquitto_pub", port, &["-t", "garden/rose", "-m", "x"]);
    assert!(!anonymous.status.success(), "an anonymous client was let in");

    // The ACL: alice may not subscribe to what no rule grants her (v5 tells the client).
    let denied = mosquitto(
        "mosquitto_sub",
        port,
        &[&alice[..], &["-V", "5", "-t", "secret/#", "-C", "1", "-W", "5"]].concat(),
    );
    let said = String::from_utf8_lossy(&denied.stderr);
    assert!(
        said.contains("All subscription requests were denied"),
        "a subscription the ACL denies was granted: {said}"
    );
    // Nor publish where she may only read: the message never reaches a reader.
    let _ = mosquitto(
        "mosquitto_pub",
        port,
        &[&alice[..], &["-t", "news/today", "-m", "forged", "-r", "-q", "1"]].concat(),
    );
    let news = mosquitto(
        "mosquitto_sub",
        port,
        &[&alice[..], &["-t", "news/#", "--retained-only", "-W", "2"]].concat(),
    );
    assert!(
        !String::from_utf8_lossy(&news.stdout).contains("forged"),
        "a publish the ACL denies was delivered"
    );
}
