// Package tasks defines the asynq download task shared by the subscriber
// (producer), the worker (consumer) and the API (queue inspection).
package tasks

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeDownload is the asynq task type of one notification to download.
const TypeDownload = "wis2:download"

// Target is one subscription that matched the notification's topic.
type Target struct {
	ID       string          `json:"id"`
	Topic    string          `json:"topic"` // the subscription's topic filter
	SavePath *string         `json:"save_path"`
	Filter   json.RawMessage `json:"filter,omitempty"`
}

// Download is the task payload: one WIS2 notification and every subscription
// it matched. The worker downloads the data once and stores it for each
// subscription whose filter accepts it.
type Download struct {
	Topic    string          `json:"topic"`  // MQTT topic the message arrived on
	Broker   string          `json:"broker"` // GLOBAL_BROKER_HOST of the subscriber
	Received time.Time       `json:"received"`
	Targets  []Target        `json:"targets"`
	Message  json.RawMessage `json:"payload"` // the notification message as received
}

// TaskID derives the asynq task id from the notification's message id, so the
// same message from several brokers or replicas becomes one task.
func TaskID(messageID string) string { return "msg:" + messageID }

// NewDownload builds the task. messageID is the notification's "id".
func NewDownload(p Download, messageID string, opts ...asynq.Option) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode download task: %w", err)
	}
	o := append([]asynq.Option{asynq.TaskID(TaskID(messageID))}, opts...)
	return asynq.NewTask(TypeDownload, b, o...), nil
}

// ParseDownload decodes a task payload.
func ParseDownload(b []byte) (Download, error) {
	var p Download
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("decode download task: %w", err)
	}
	return p, nil
}
