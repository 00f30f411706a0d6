//! `robustmq store export`: NDJSON lines that parse and hold every record.

use base64::Engine;
use robustmq::store::{DeliveryState, Op};
use serde_json::{json, Value};

use super::cli::*;
use super::store_common::*;

fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

fn sample_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = data_dir();
    let mut binary = bare_message("bin/x", &[0xff, 0x00, 0xfe]);
    binary.retain = true;
    write(
        &dir,
        vec![
            Op::PutSession(full_session("c1")),
            Op::PutSession(bare_session("c2")),
            queued("c1", 1),
            Op::PutDelivery {
                client_id: "c1".into(),
                seq: 2,
                delivery: delivery_in(2, 2, DeliveryState::Released { packet_id: 300 }),
            },
            Op::PutIncomingQos2 {
                client_id: "c2".into(),
                packet_id: 17,
            },
            Op::PutRetained(full_message("r/text", "héllo")),
            Op::PutRetained(binary),
        ],
    );
    (tmp, dir)
}

#[test]
fn every_line_is_a_json_object_with_the_expected_contents() {
    let (_tmp, dir) = sample_dir();
    let before = file_hash(&data_file(&dir));
    let lines = export_lines(&dir);
    assert_eq!(lines.len(), 7);
    assert!(lines.iter().all(|l| l["type"].is_string()));

    let sessions = of_type(&lines, "session");
    assert_eq!(sessions.len(), 2);
    let c1 = sessions.iter().find(|s| s["client_id"] == "c1").unwrap();
    assert_eq!(c1["expiry_interval"], u32::MAX);
    assert_eq!(c1["offline_since_ms"], 1_700_000_000_000u64);
    // Subscriptions come in filter order.
    assert_eq!(c1["subscriptions"][0]["filter"], "$share/g/jobs/#");
    assert_eq!(c1["subscriptions"][0]["id"], Value::Null);
    assert_eq!(
        c1["subscriptions"][1],
        json!({"filter": "sensors/+/temp", "qos": 1, "no_local": false,
               "retain_as_published": true, "retain_handling": 1, "id": 7})
    );
    assert_eq!(c1["will"]["delay_interval"], 30);
    assert_eq!(c1["will"]["message"]["topic"], "wills/x");
    assert_eq!(c1["will"]["message"]["payload"], "gone");
    let c2 = sessions.iter().find(|s| s["client_id"] == "c2").unwrap();
    assert_eq!(c2["will"], Value::Null);
    assert_eq!(c2["offline_since_ms"], Value::Null);

    let deliveries = of_type(&lines, "delivery");
    assert_eq!(deliveries.len(), 2);
    let queued = deliveries[0];
    assert_eq!(queued["client_id"], "c1");
    assert_eq!(queued["seq"], 1);
    assert_eq!(queued["state"], "queued");
    assert_eq!(queued["packet_id"], Value::Null);
    assert_eq!(queued["qos"], 1);
    assert_eq!(queued["retain"], false);
    assert_eq!(queued["subscription_ids"], json!([7]));
    assert_eq!(queued["message"]["payload"], "message 1");
    let released = deliveries[1];
    assert_eq!(released["state"], "released");
    assert_eq!(released["packet_id"], 300);
    let props = &released["message"]["properties"];
    assert_eq!(props["content_type"], "text/plain");
    assert_eq!(props["response_topic"], "reply/to");
    assert_eq!(props["payload_format_utf8"], true);
    assert_eq!(props["user_properties"], json!([["a", "1"], ["a", "2"]]));
    // [0, 255, 7] is not UTF-8: base64.
    assert_eq!(props["correlation_data_base64"], "AP8H");
    assert!(props.get("correlation_data").is_none());
    assert_eq!(released["message"]["expires_at_ms"], 1_900_000_000_000u64);
    assert_eq!(released["message"]["publisher"], "publisher-1");

    assert_eq!(
        of_type(&lines, "incoming_qos2"),
        [&json!({"type": "incoming_qos2", "client_id": "c2", "packet_id": 17})]
    );

    let retained = of_type(&lines, "retained");
    assert_eq!(retained.len(), 2);
    let binary = &retained[0]["message"];
    assert_eq!(binary["topic"], "bin/x");
    assert!(binary.get("payload").is_none(), "{binary}");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(binary["payload_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, [0xff, 0x00, 0xfe]);
    assert_eq!(binary["retain"], true);
    assert_eq!(binary["expires_at_ms"], Value::Null);
    let text = &retained[1]["message"];
    assert_eq!(text["topic"], "r/text");
    assert_eq!(text["payload"], "héllo");
    assert!(text.get("payload_base64").is_none());

    assert_eq!(
        file_hash(&data_file(&dir)),
        before,
        "export modified the data file"
    );
}

#[test]
fn output_to_a_file_is_the_same_as_stdout() {
    let (tmp, dir) = sample_dir();
    let file = tmp.path().join("out.ndjson");
    let run = store(&["export", "-o", file.to_str().unwrap()], &dir);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr.contains("exported 2 sessions, 2 deliveries"),
        "{run:?}"
    );
    let stdout = store(&["export"], &dir).stdout;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout);
    // Nothing else was left beside it.
    let names: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn a_broker_written_store_exports_its_queue() {
    use super::binary::Broker;
    use super::mqtt::connect;
    use rumqttc::QoS;

    let (_tmp, dir) = data_dir();
    let broker = Broker::start(&dir);
    {
        let mut sub = connect(broker.port(), "offline-sub", false);
        sub.subscribe("jobs/#", QoS::ExactlyOnce);
        sub.disconnect();
    }
    let mut publisher = connect(broker.port(), "publisher", true);
    for i in 0..3 {
        publisher.publish_acked("jobs/a", QoS::AtLeastOnce, false, &format!("job {i}"));
    }
    publisher.publish_acked("status/x", QoS::AtLeastOnce, true, "up");
    publisher.disconnect();
    assert!(broker.stop().success());

    let stats = stats_json(&dir);
    assert_eq!(stats["sessions"], 1, "{stats}");
    assert_eq!(stats["deliveries_queued"], 3, "{stats}");
    assert_eq!(stats["retained"], 1, "{stats}");
    let lines = export_lines(&dir);
    let payloads: Vec<_> = of_type(&lines, "delivery")
        .iter()
        .map(|d| d["message"]["payload"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(payloads, ["job 0", "job 1", "job 2"]);
    let session = of_type(&lines, "session")[0];
    assert_eq!(session["client_id"], "offline-sub");
    assert_eq!(session["subscriptions"][0]["filter"], "jobs/#");
    assert_eq!(session["subscriptions"][0]["qos"], 2);
    assert_eq!(store(&["verify"], &dir).code, Some(0));
}
