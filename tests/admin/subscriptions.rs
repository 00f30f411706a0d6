//! `subscriptions/list`: every subscription, filter and client, paged.

use serde_json::json;

use super::common::*;
use super::support::*;

#[tokio::test]
async fn subscriptions_list_names_the_clients_of_each_filter_online_or_not() {
    let broker = start().await;
    let mut a = v5::connect(&broker, "a").await;
    a.subscribe("home/#", v5::QoS::AtLeastOnce).await;
    a.subscribe("alerts", v5::QoS::AtMostOnce).await;
    let mut o = v3::options(&broker, "b");
    o.set_clean_session(false);
    let (mut b, _) = v3::connect_with(o).await;
    b.subscribe("home/#", v3::QoS::ExactlyOnce).await;
    b.client.disconnect().await.unwrap();
    drop(b);
    let mut admin = Admin5::connect(&broker, "admin").await;
    eventually(&mut admin, "sessions/list", json!({}), "b is offline", |l| {
        l["total"] == 1
    })
    .await;

    let list = admin.ok("subscriptions/list", json!({})).await;
    // The admin client's own reply subscription is listed too.
    assert_eq!(list["total"], 4, "{list}");
    assert_eq!(list["offset"], 0);
    assert_eq!(
        list["subscriptions"],
        json!([
            {"filter": "alerts", "client_id": "a", "connected": true, "qos": 0, "subscription_id": null},
            {"filter": "home/#", "client_id": "a", "connected": true, "qos": 1, "subscription_id": null},
            {"filter": "home/#", "client_id": "b", "connected": false, "qos": 2, "subscription_id": null},
            {"filter": "reply/admin", "client_id": "admin", "connected": true, "qos": 1, "subscription_id": null},
        ]),
        "sorted by filter, then client"
    );
    let page = admin
        .ok("subscriptions/list", json!({"offset": 1, "limit": 2}))
        .await;
    assert_eq!(page["total"], 4);
    assert_eq!(page["offset"], 1);
    let rows: Vec<(&str, &str)> = page["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["filter"].as_str().unwrap(), r["client_id"].as_str().unwrap()))
        .collect();
    assert_eq!(rows, [("home/#", "a"), ("home/#", "b")]);
    let reply = admin
        .request("subscriptions/list", json!({"limit": 5, "filter": "home"}))
        .await;
    assert!(
        reply["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("bad request"),
        "unknown fields are an error: {reply}"
    );
    a.subscribe("zz", v5::QoS::AtMostOnce).await;
    let huge = admin
        .ok("subscriptions/list", json!({"limit": 1_000_000_000u64}))
        .await;
    assert_eq!(huge["subscriptions"].as_array().unwrap().len(), 5, "{huge}");
    broker.stop().await;
}
