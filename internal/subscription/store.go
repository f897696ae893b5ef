package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned when no subscription has the requested id.
var ErrNotFound = errors.New("subscription not found")

// errConflict means the record changed between reading and writing it; the
// store retries.
var errConflict = errors.New("subscription changed concurrently")

// VersionKey is a counter that every change made through the Store
// increments, in the same script as the change: readers can cache the list
// and re-read it only when the counter moved.
const VersionKey = "global:subscriptions:version"

// maxAttempts bounds the optimistic retries of Update and Delete.
const maxAttempts = 32

// Store keeps subscriptions in the hash global:subscriptions and announces
// every change on the subscription_commands channel. Each change is one Lua
// script: the write and its PUBLISH run as one atomic Redis transaction, so
// no state is ever saved but not announced (or announced but not saved), and
// the choice between "subscribe" and "add_subscription" (or "unsubscribe"
// and "remove_subscription") is made on the data the script sees.
type Store struct {
	rdb      redis.Cmdable
	onChange func(version int64)
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// OnChange registers f, called with the new change counter after every
// successful Create, Update and Delete of this Store.
func OnChange(f func(version int64)) StoreOption {
	return func(s *Store) { s.onChange = f }
}

// NewStore returns a store over rdb (the application database).
func NewStore(rdb redis.Cmdable, opts ...StoreOption) *Store {
	s := &Store{rdb: rdb, onChange: func(int64) {}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// sameTopicLua counts stored records other than ARGV[1] whose topic is
// ARGV[2]. Records that are not JSON objects are ignored.
const sameTopicLua = `
local function others_on_topic(key, id, topic)
  local all = redis.call('HGETALL', key)
  local n = 0
  for i = 1, #all, 2 do
    if all[i] ~= id then
      local ok, rec = pcall(cjson.decode, all[i + 1])
      if ok and type(rec) == 'table' and rec['topic'] == topic then
        n = n + 1
      end
    end
  end
  return n
end
`

// createScript stores ARGV[3] under id ARGV[1] and publishes ARGV[4]
// ("subscribe") when no other record has topic ARGV[2], else ARGV[5]
// ("add_subscription"). It returns the action sent.
var createScript = redis.NewScript(sameTopicLua + `
local key, channel = KEYS[1], ARGV[6]
if redis.call('HEXISTS', key, ARGV[1]) == 1 then
  return redis.error_reply('EXISTS subscription id already stored')
end
local others = others_on_topic(key, ARGV[1], ARGV[2])
redis.call('HSET', key, ARGV[1], ARGV[3])
local v = redis.call('INCR', KEYS[2])
if others == 0 then
  redis.call('PUBLISH', channel, ARGV[4])
  return {'subscribe', v}
end
redis.call('PUBLISH', channel, ARGV[5])
return {'add_subscription', v}
`)

// updateScript replaces record ARGV[1] with ARGV[3] when it still equals
// ARGV[2], and publishes ARGV[4]. It returns 'missing', 'conflict' or the
// action sent.
var updateScript = redis.NewScript(`
local key = KEYS[1]
local cur = redis.call('HGET', key, ARGV[1])
if not cur then return {'missing', 0} end
if cur ~= ARGV[2] then return {'conflict', 0} end
redis.call('HSET', key, ARGV[1], ARGV[3])
local v = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[5], ARGV[4])
return {'update_subscription', v}
`)

// deleteScript removes record ARGV[1] when it still equals ARGV[2] and
// publishes ARGV[4] ("unsubscribe") when no record with topic ARGV[3] remains,
// else ARGV[5] ("remove_subscription").
var deleteScript = redis.NewScript(sameTopicLua + `
local key, channel = KEYS[1], ARGV[6]
local cur = redis.call('HGET', key, ARGV[1])
if not cur then return {'missing', 0} end
if cur ~= ARGV[2] then return {'conflict', 0} end
redis.call('HDEL', key, ARGV[1])
local v = redis.call('INCR', KEYS[2])
if others_on_topic(key, ARGV[1], ARGV[3]) == 0 then
  redis.call('PUBLISH', channel, ARGV[4])
  return {'unsubscribe', v}
end
redis.call('PUBLISH', channel, ARGV[5])
return {'remove_subscription', v}
`)

// keys are the keys every change script touches.
var keys = []string{HashKey, VersionKey}

// List returns every stored subscription, ordered by topic then id. Records
// that cannot be decoded are skipped.
func (s *Store) List(ctx context.Context) ([]Subscription, error) {
	subs, _, err := s.Snapshot(ctx)
	return subs, err
}

// Version returns the change counter (0 before the first change).
func (s *Store) Version(ctx context.Context) (int64, error) {
	v, err := s.rdb.Get(ctx, VersionKey).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read subscriptions version: %w", err)
	}
	return v, nil
}

// Snapshot is List together with the change counter it corresponds to,
// read in one transaction.
func (s *Store) Snapshot(ctx context.Context) ([]Subscription, int64, error) {
	var (
		ver *redis.StringCmd
		all *redis.MapStringStringCmd
	)
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		ver = p.Get(ctx, VersionKey)
		all = p.HGetAll(ctx, HashKey)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("list subscriptions: %w", err)
	}
	if err := all.Err(); err != nil {
		return nil, 0, fmt.Errorf("list subscriptions: %w", err)
	}
	v, verr := ver.Int64()
	if verr != nil && !errors.Is(verr, redis.Nil) {
		return nil, 0, fmt.Errorf("read subscriptions version: %w", verr)
	}
	m := all.Val()
	out := make([]Subscription, 0, len(m))
	for id, raw := range m {
		sub, err := decode(id, raw)
		if err != nil {
			continue
		}
		out = append(out, sub)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].ID < out[j].ID
	})
	return out, v, nil
}

// Get returns the subscription with the given id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (Subscription, error) {
	sub, _, err := s.get(ctx, id)
	return sub, err
}

func (s *Store) get(ctx context.Context, id string) (Subscription, string, error) {
	cmd := s.rdb.HGet(ctx, HashKey, id)
	err := cmd.Err()
	if errors.Is(err, redis.Nil) {
		return Subscription{}, "", ErrNotFound
	}
	if err != nil {
		return Subscription{}, "", fmt.Errorf("get subscription %s: %w", id, err)
	}
	sub, err := decode(id, cmd.Val())
	if err != nil {
		return Subscription{}, "", fmt.Errorf("get subscription %s: %w", id, err)
	}
	return sub, cmd.Val(), nil
}

// Create stores sub (giving it a new id when ID is empty) and announces it.
// It returns the stored subscription and the action published.
func (s *Store) Create(ctx context.Context, sub Subscription) (Subscription, string, error) {
	if sub.ID == "" {
		sub.ID = uuid.NewString()
	}
	sub.Filter = normFilter(sub.Filter)
	rec, err := json.Marshal(sub)
	if err != nil {
		return Subscription{}, "", fmt.Errorf("encode subscription: %w", err)
	}
	subscribe, err := json.Marshal(subscribeCommand{
		Action: ActionSubscribe, Topic: sub.Topic,
		Subscriptions: map[string]Entry{sub.ID: {ID: sub.ID, SavePath: sub.SavePath, Filter: sub.Filter}},
	})
	if err != nil {
		return Subscription{}, "", fmt.Errorf("encode command: %w", err)
	}
	add, err := json.Marshal(entryCommand(ActionAddSubscription, sub))
	if err != nil {
		return Subscription{}, "", fmt.Errorf("encode command: %w", err)
	}
	action, err := s.run(ctx, createScript, sub.ID, sub.Topic, rec, subscribe, add, CommandChannel)
	if err != nil {
		return Subscription{}, "", fmt.Errorf("create subscription: %w", err)
	}
	return sub, action, nil
}

// Update replaces the target and filter of subscription id through change,
// which receives the stored subscription and returns the new one (the id
// and topic cannot change). It publishes "update_subscription" and returns
// the stored result, or ErrNotFound.
func (s *Store) Update(ctx context.Context, id string, change func(Subscription) (Subscription, error)) (Subscription, error) {
	for range maxAttempts {
		cur, raw, err := s.get(ctx, id)
		if err != nil {
			return Subscription{}, err
		}
		next, err := change(cur)
		if err != nil {
			return Subscription{}, err
		}
		next.ID, next.Topic, next.Filter = cur.ID, cur.Topic, normFilter(next.Filter)
		rec, err := json.Marshal(next)
		if err != nil {
			return Subscription{}, fmt.Errorf("encode subscription: %w", err)
		}
		cmd, err := json.Marshal(entryCommand(ActionUpdateSubscription, next))
		if err != nil {
			return Subscription{}, fmt.Errorf("encode command: %w", err)
		}
		res, err := s.run(ctx, updateScript, id, raw, rec, cmd, CommandChannel)
		if err != nil {
			return Subscription{}, fmt.Errorf("update subscription %s: %w", id, err)
		}
		switch res {
		case "missing":
			return Subscription{}, ErrNotFound
		case "conflict":
			continue
		}
		return next, nil
	}
	return Subscription{}, fmt.Errorf("update subscription %s: %w", id, errConflict)
}

// Delete removes subscription id and announces it: "unsubscribe" when no
// other subscription has its topic, else "remove_subscription". It returns
// the removed subscription and the action, or ErrNotFound.
func (s *Store) Delete(ctx context.Context, id string) (Subscription, string, error) {
	for range maxAttempts {
		cur, raw, err := s.get(ctx, id)
		if err != nil {
			return Subscription{}, "", err
		}
		unsub, err := json.Marshal(Command{Action: ActionUnsubscribe, Topic: cur.Topic})
		if err != nil {
			return Subscription{}, "", fmt.Errorf("encode command: %w", err)
		}
		remove, err := json.Marshal(Command{Action: ActionRemoveSubscription, Topic: cur.Topic, SubID: cur.ID})
		if err != nil {
			return Subscription{}, "", fmt.Errorf("encode command: %w", err)
		}
		res, err := s.run(ctx, deleteScript, id, raw, cur.Topic, unsub, remove, CommandChannel)
		if err != nil {
			return Subscription{}, "", fmt.Errorf("delete subscription %s: %w", id, err)
		}
		switch res {
		case "missing":
			return Subscription{}, "", ErrNotFound
		case "conflict":
			continue
		}
		return cur, res, nil
	}
	return Subscription{}, "", fmt.Errorf("delete subscription %s: %w", id, errConflict)
}

// run executes a change script, which answers {result, version}, and
// reports a new version to the OnChange hook.
func (s *Store) run(ctx context.Context, script *redis.Script, args ...any) (string, error) {
	res, err := script.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return "", err
	}
	if len(res) != 2 {
		return "", fmt.Errorf("unexpected script answer %v", res)
	}
	result, _ := res[0].(string)
	if v, _ := res[1].(int64); v > 0 {
		s.onChange(v)
	}
	return result, nil
}

// decode reads a stored record. The hash field is the authority for the id.
func decode(id, raw string) (Subscription, error) {
	var sub Subscription
	if err := json.Unmarshal([]byte(raw), &sub); err != nil {
		return Subscription{}, fmt.Errorf("decode record: %w", err)
	}
	sub.ID = id
	sub.Filter = normFilter(sub.Filter)
	return sub, nil
}

// normFilter stores an absent or null filter as {} (the original's default).
func normFilter(f json.RawMessage) json.RawMessage {
	if len(f) == 0 || string(f) == "null" {
		return json.RawMessage(`{}`)
	}
	return f
}

// subscribeCommand is the "subscribe" message of spec §1.4.
type subscribeCommand struct {
	Action        string           `json:"action"`
	Topic         string           `json:"topic"`
	Subscriptions map[string]Entry `json:"subscriptions"`
}

// singleCommand is the "add_subscription"/"update_subscription" message of
// spec §1.4; save_path and filter are always present (null / {}).
type singleCommand struct {
	Action   string          `json:"action"`
	Topic    string          `json:"topic"`
	SubID    string          `json:"sub_id"`
	SavePath *string         `json:"save_path"`
	Filter   json.RawMessage `json:"filter"`
}

func entryCommand(action string, sub Subscription) singleCommand {
	return singleCommand{Action: action, Topic: sub.Topic, SubID: sub.ID, SavePath: sub.SavePath, Filter: sub.Filter}
}
