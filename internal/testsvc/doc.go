// Package testsvc starts the real servers that integration tests need — a
// redis-server and a mosquitto MQTT broker — on free loopback ports in the
// test's temporary directory, waits until they answer and stops them when the
// test ends.
//
// It is a normal package so that the tests of every other package can import
// it. Nothing here is mocked: a missing binary fails the test with the command
// that installs it (apt-get install -y redis-server mosquitto).
//
// Both servers can be stopped (SIGTERM), killed (SIGKILL) and started again on
// the same port and data directory, for fault-tolerance tests. Redis keeps its
// data across restarts through the append-only file; mosquitto keeps sessions
// and queued QoS 1 messages through its persistence file, which it writes on a
// clean shutdown and every second.
//
// Stop, Kill and Start report failures with t.Fatalf, so call them from the
// test's own goroutine.
//
// It also holds the small helpers the services' tests share: FreePort,
// LogBuffer (a goroutine-safe log sink) and StartRun, which runs a binary's
// run() in a goroutine with an environment map and stops it when the test
// ends.
package testsvc

// InstallHint is the command that installs every binary this package runs.
const InstallHint = "apt-get install -y redis-server mosquitto"
