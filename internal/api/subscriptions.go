package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/wmo-im/wis2downloader/internal/subscription"
)

// createRequest is the body of POST /subscriptions.
type createRequest struct {
	Topic   *string         `json:"topic"`
	Target  *string         `json:"target"`
	Filter  json.RawMessage `json:"filter"`
	Filters json.RawMessage `json:"filters"` // legacy alias of filter
}

// updateRequest is the body of PUT /subscriptions/{id}. Absent fields keep
// their stored value; the topic cannot change.
type updateRequest struct {
	Topic  *string         `json:"topic"`
	Target json.RawMessage `json:"target"`
	Filter json.RawMessage `json:"filter"`
}

// entry is one subscription in the grouped list (id and topic are the keys).
type entry struct {
	SavePath *string         `json:"save_path"`
	Filter   json.RawMessage `json:"filter"`
}

// deleted is the body of a successful DELETE.
type deleted struct {
	Status string `json:"status"`
	ID     string `json:"id"`
}

func (a *API) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	e, err := a.list.get(r.Context())
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	writeEncoded(w, r, "application/json", e.body, e.gz)
}

func (a *API) createSubscription(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := decodeJSON(w, r, a.bodyLimit, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	sub, err := req.validate()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	sub, action, err := a.store.Create(r.Context(), sub)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	a.logger.Info("subscription created", "id", sub.ID, "topic", sub.Topic, "command", action)
	w.Header().Set("Location", "/subscriptions/"+sub.ID)
	writeJSON(w, http.StatusCreated, sub)
}

func (req createRequest) validate() (subscription.Subscription, error) {
	if req.Topic == nil {
		return subscription.Subscription{}, badRequest("No topic provided")
	}
	t, err := normTopic(*req.Topic)
	if err != nil {
		return subscription.Subscription{}, err
	}
	savePath, err := normTarget(req.Target)
	if err != nil {
		return subscription.Subscription{}, err
	}
	raw := req.Filter
	if len(req.Filters) > 0 {
		if len(req.Filter) > 0 {
			return subscription.Subscription{}, badRequest("give either filter or its legacy alias filters, not both")
		}
		raw = req.Filters
	}
	f, err := normFilter(raw)
	if err != nil {
		return subscription.Subscription{}, err
	}
	return subscription.Subscription{Topic: t, SavePath: savePath, Filter: f}, nil
}

func (a *API) getSubscription(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	sub, err := a.store.Get(r.Context(), id)
	if err != nil {
		a.storeError(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusOK, sub)
}

func (a *API) updateSubscription(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	var req updateRequest
	if err := decodeJSON(w, r, a.bodyLimit, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	var (
		savePath  *string
		newFilter json.RawMessage
		err       error
	)
	if len(req.Target) > 0 {
		var t *string
		if err := json.Unmarshal(req.Target, &t); err != nil {
			a.fail(w, r, badRequest("field \"target\" must be a string or null"))
			return
		}
		if savePath, err = normTarget(t); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if len(req.Filter) > 0 {
		if newFilter, err = normFilter(req.Filter); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	sub, err := a.store.Update(r.Context(), id, func(cur subscription.Subscription) (subscription.Subscription, error) {
		if req.Topic != nil && *req.Topic != cur.Topic {
			return cur, badRequest("the topic of a subscription cannot change; delete it and create a new one")
		}
		if len(req.Target) > 0 {
			cur.SavePath = savePath
		}
		if newFilter != nil {
			cur.Filter = newFilter
		}
		return cur, nil
	})
	if err != nil {
		a.storeError(w, r, id, err)
		return
	}
	a.logger.Info("subscription updated", "id", sub.ID, "topic", sub.Topic)
	writeJSON(w, http.StatusOK, sub)
}

func (a *API) deleteSubscription(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	sub, action, err := a.store.Delete(r.Context(), id)
	if err != nil {
		a.storeError(w, r, id, err)
		return
	}
	a.logger.Info("subscription deleted", "id", sub.ID, "topic", sub.Topic, "command", action)
	writeJSON(w, http.StatusOK, deleted{Status: "deleted", ID: id})
}

// storeError answers 404 for an unknown id, the client error for a
// rejected change, else 503.
func (a *API) storeError(w http.ResponseWriter, r *http.Request, id string, err error) {
	var re *requestError
	switch {
	case errors.Is(err, subscription.ErrNotFound):
		writeError(w, http.StatusNotFound, "Subscription '"+id+"' not found")
	case errors.As(err, &re):
		a.fail(w, r, err)
	default:
		a.unavailable(w, r, err)
	}
}

// fail answers a client error.
func (a *API) fail(w http.ResponseWriter, _ *http.Request, err error) {
	var re *requestError
	if errors.As(err, &re) {
		writeError(w, re.status, re.msg)
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

// unavailable answers 503 for a Redis failure and logs it.
func (a *API) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	a.logger.Error("redis request failed", "path", r.URL.Path, "error", err)
	writeError(w, http.StatusServiceUnavailable, "Failed to connect to Redis: "+err.Error())
}
