package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"maildesk/portal"
	"maildesk/tickets"
)

// The monitoring listener (http.listen): /healthz for a load balancer or
// systemd watchdog script, /metrics in the Prometheus text format. It shows
// counts only, never a ticket, an address or a subject, and it is meant for
// 127.0.0.1 or a monitoring network; it changes nothing.

type health struct {
	OK                bool     `json:"ok"`
	IMAPConnected     bool     `json:"imap_connected"`
	OutboxPending     int      `json:"outbox_pending"`
	OutboxOldestSec   float64  `json:"outbox_oldest_seconds"`
	LastMailTakenUnix int64    `json:"last_mail_taken_unix,omitempty"`
	UptimeSeconds     float64  `json:"uptime_seconds"`
	Problems          []string `json:"problems,omitempty"`
}

// healthOf reads the state; unhealthy is what an operator must act on:
// no IMAP connection for a while, or a store that takes no writes.
func (a *app) healthOf() health {
	a.mu.Lock()
	poller, started := a.poller, a.started
	a.mu.Unlock()
	h := health{IMAPConnected: poller != nil && poller.Connected(), UptimeSeconds: time.Since(started).Seconds()}
	err := a.store.View(func(tx *tickets.Tx) error {
		var oldest time.Time
		h.OutboxPending, oldest = tx.OutboxDepth()
		if !oldest.IsZero() {
			h.OutboxOldestSec = time.Since(oldest).Seconds()
		}
		return nil
	})
	if poller != nil {
		st := poller.Stats()
		h.LastMailTakenUnix = st.LastTaken.Load()
		if st.StoreFailing.Load() {
			h.Problems = append(h.Problems, "the store does not take mail (see the log); it stays in the mailbox")
		}
	}
	if !h.IMAPConnected && h.UptimeSeconds > 60 {
		h.Problems = append(h.Problems, "not connected to the IMAP server")
	}
	if err != nil {
		h.Problems = append(h.Problems, "store: "+err.Error())
	}
	if h.OutboxOldestSec > 3600 {
		h.Problems = append(h.Problems, fmt.Sprintf("mail waiting to be sent for %.0f minutes", h.OutboxOldestSec/60))
	}
	h.OK = len(h.Problems) == 0
	return h
}

func (a *app) monitorHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h := a.healthOf()
		w.Header().Set("Content-Type", "application/json")
		if !h.OK {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(h)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write([]byte(a.metrics()))
	})
	return mux
}

// metrics writes the Prometheus text exposition format by hand: a dozen
// gauges and counters do not need a client library.
func (a *app) metrics() string {
	var b strings.Builder
	metric := func(name, kind, help string, values ...any) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
		for i := 0; i+1 < len(values); i += 2 {
			fmt.Fprintf(&b, "%s%v %v\n", name, values[i], values[i+1])
		}
	}
	h := a.healthOf()
	a.mu.Lock()
	poller, sender := a.poller, a.sender
	a.mu.Unlock()
	metric("maildesk_up", "gauge", "1 when healthy (see /healthz)", "", boolNum(h.OK))
	metric("maildesk_imap_connected", "gauge", "1 while connected to the IMAP server", "", boolNum(h.IMAPConnected))
	if poller != nil {
		st := poller.Stats()
		metric("maildesk_mail_in_total", "counter", "mails read from IMAP since start, by result",
			`{result="taken"}`, st.Taken.Load(), `{result="quarantined"}`, st.Quarantined.Load())
		metric("maildesk_store_errors_total", "counter", "times the store refused mail (it stays on the server)", "", st.StoreErrors.Load())
		metric("maildesk_mail_in_last_timestamp_seconds", "gauge", "when the last mail was taken in", "", st.LastTaken.Load())
		fmt.Fprintf(&b, "# HELP maildesk_mail_in_seconds time from fetching a mail to committing it\n# TYPE maildesk_mail_in_seconds summary\n")
		fmt.Fprintf(&b, "maildesk_mail_in_seconds_sum %.6f\nmaildesk_mail_in_seconds_count %d\n",
			time.Duration(st.ProcessNanos.Load()).Seconds(), st.Taken.Load()+st.Quarantined.Load())
	}
	if sender != nil {
		sent, failed := sender.Counts()
		metric("maildesk_mail_out_total", "counter", "mails handed to SMTP since start, by result", `{result="sent"}`, sent, `{result="failed"}`, failed)
	}
	metric("maildesk_outbox_pending", "gauge", "mails waiting to be sent", "", h.OutboxPending)
	metric("maildesk_outbox_oldest_seconds", "gauge", "age of the oldest mail waiting", "", fmt.Sprintf("%.0f", h.OutboxOldestSec))
	var counts map[tickets.Status]int
	a.store.View(func(tx *tickets.Tx) error { counts = tx.StatusCounts(); return nil })
	var values []any
	for _, s := range tickets.Statuses {
		values = append(values, fmt.Sprintf(`{status=%q}`, s), counts[s])
	}
	metric("maildesk_tickets", "gauge", "tickets by status", values...)
	return b.String()
}

func boolNum(b bool) int {
	if b {
		return 1
	}
	return 0
}

// serveMonitor serves the monitoring listener until ctx ends.
func (a *app) serveMonitor(ctx context.Context, addr string) error {
	return a.serveHTTP(ctx, "http.listen", addr, a.monitorHandler())
}

// servePortal serves the customers' page (portal.listen) until ctx ends.
func (a *app) servePortal(ctx context.Context) error {
	p := portal.New(portal.Options{Store: a.store, Desk: a.desk, Files: a.files, Organisations: a.cfg.Portal.Organisations,
		Log: a.log.With("loop", "portal"), Now: a.now})
	return a.serveHTTP(ctx, "portal.listen", a.cfg.Portal.Listen, p)
}

// serveHTTP serves h on addr (the config key key) until ctx ends, with
// timeouts that keep a slow or idle client from holding a connection.
func (a *app) serveHTTP(ctx context.Context, key, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	a.log.Info("listening", "key", key, "addr", ln.Addr().String())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
