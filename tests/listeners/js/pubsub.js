// MQTT over WebSocket with MQTT.js: subscribe, publish, and check the message comes back.
// usage: node pubsub.js URL VERSION(4|5)    e.g. ws://localhost:9001/mqtt 5
// Prints "ok <topic> <payload>" and exits 0 when the message arrives; exits 1 otherwise.
const mqtt = require("mqtt");

const [url, version] = process.argv.slice(2);
const topic = `mqttjs/${version}`;
const client = mqtt.connect(url, { protocolVersion: Number(version), connectTimeout: 10000, reconnectPeriod: 0 });
const fail = (why) => {
  console.error(why);
  process.exit(1);
};
setTimeout(() => fail("timed out"), 20000);
client.on("error", (e) => fail(`error: ${e.message}`));
client.on("connect", () => {
  client.subscribe(topic, { qos: 1 }, (err) => {
    if (err) fail(`subscribe: ${err.message}`);
    client.publish(topic, "from-mqtt.js", { qos: 1 });
  });
});
client.on("message", (t, payload) => {
  console.log(`ok ${t} ${payload.toString()}`);
  client.end(false, () => process.exit(0));
});
