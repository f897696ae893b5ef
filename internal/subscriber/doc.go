// Package subscriber holds the connection to one WIS2 Global Broker and turns
// every notification into a download task on the asynq queue.
//
// The pieces, one file each:
//   - mqtt.go: the autopaho MQTT v5 connection (persistent session, QoS 1,
//     manual acknowledgement, reconnect with backoff and jitter).
//   - table.go: the in-memory copy of global:subscriptions and the routing of
//     a topic to every matching subscription.
//   - commands.go and reconcile.go: keeping that copy equal to Redis, from the
//     subscription_commands channel and from a periodic re-read of the hash.
//   - brokersubs.go: keeping the broker's subscriptions equal to the distinct
//     topic filters of the table (one SUBSCRIBE per filter).
//   - handler.go: a bounded pool of enqueuers; a message is acknowledged to the
//     broker only once its task is in the queue.
//   - heartbeat.go: the subscriber:health:<client id> key and the health check.
package subscriber
