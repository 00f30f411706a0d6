//! Listener tests: the real binary with TLS (mosquitto_pub/sub, openssl), mutual TLS and
//! certificate identities, WebSocket and WebSocket over TLS (paho-mqtt, MQTT.js), Unix
//! sockets, SIGHUP certificate reloads, and hostile input on the TLS and WebSocket ports.

mod bridge_tls;
#[path = "../support/broker_process.rs"]
mod broker_process;
mod harness;
mod tls;
mod unix;
#[path = "../support/wait.rs"]
mod wait;
mod websocket;
