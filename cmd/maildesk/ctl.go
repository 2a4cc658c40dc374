package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"maildesk/mailout"
	"maildesk/tickets"
)

// The control channel. bbolt lets one process hold the store, so while
// `maildesk run` runs, the CLI asks it over a unix socket (HTTP with JSON,
// mode 0600: only the daemon's user may talk to it). With no daemon, the
// CLI opens the store itself and calls the same methods in-process, so both
// paths give the same answers.

// api serves the control methods.
type api struct {
	a      *app
	sender *mailout.Sender // nil when no daemon runs
}

func newAPI(a *app, sender *mailout.Sender) *api { return &api{a: a, sender: sender} }

type apiMethod func(ctx context.Context, x *api, args json.RawMessage) (any, error)

// apiMethods are the methods the CLI can call.
var apiMethods = map[string]apiMethod{
	"tickets.list":    apiTicketsList,
	"tickets.show":    apiTicketsShow,
	"outbox.list":     apiOutboxList,
	"outbox.retry":    apiOutboxRetry,
	"quarantine.list": apiQuarantineList,
	"staff.list":      apiStaffList,
	"report":          apiReport,

	"tickets.command":          apiTicketsCommand,
	"customers.list":           apiCustomersList,
	"customers.show":           apiCustomersShow,
	"customers.reset-password": apiCustomersResetPassword,
	"backup":                   apiBackup,
	"import":                   apiImport,
}

// call runs method with JSON args and returns its JSON result.
func (x *api) call(ctx context.Context, method string, args json.RawMessage) (json.RawMessage, error) {
	fn, ok := apiMethods[method]
	if !ok {
		return nil, fmt.Errorf("unknown control method %q", method)
	}
	res, err := fn(ctx, x, args)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

// decodeArgs reads args into v; empty args leave v as it is.
func decodeArgs(args json.RawMessage, v any) error {
	if len(args) == 0 || string(args) == "null" {
		return nil
	}
	if err := json.Unmarshal(args, v); err != nil {
		return fmt.Errorf("arguments: %w", err)
	}
	return nil
}

// listenControl listens on the socket, replacing a stale one left by a
// crash but never one a live daemon still answers on.
func listenControl(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("store.socket %s: another maildesk answers on it", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("store.socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("store.socket %s: %w", path, err)
	}
	return ln, nil
}

type callResponse struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	// Progress lines come before the result when the caller asked for them
	// (header X-Maildesk-Progress), one JSON object per line.
	Progress string `json:"progress,omitempty"`
}

type progressKey struct{}

// withProgress gives a long operation (import, backup) a way to say how
// far it got; progressOf returns it, or a no-op.
func withProgress(ctx context.Context, fn func(string)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

func progressOf(ctx context.Context) func(string) {
	if fn, ok := ctx.Value(progressKey{}).(func(string)); ok {
		return fn
	}
	return func(string) {}
}

// terminalProgress shows progress on stderr when it is a terminal: one
// line, rewritten in place, ended when done.
func terminalProgress(ctx context.Context) (context.Context, func()) {
	fi, err := os.Stderr.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return ctx, func() {}
	}
	shown := false
	return withProgress(ctx, func(s string) {
			fmt.Fprintf(os.Stderr, "\r\033[K%s", s)
			shown = true
		}), func() {
			if shown {
				fmt.Fprintln(os.Stderr)
			}
		}
}

// serveControl answers POST /v1/<method> until ctx ends.
func serveControl(ctx context.Context, ln net.Listener, x *api) error {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/{method}", func(w http.ResponseWriter, r *http.Request) {
		args, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var resp callResponse
		ctx := r.Context()
		if r.Header.Get("X-Maildesk-Progress") != "" {
			// Streamed: the status is sent before the outcome is known, so
			// an error comes in the last line instead.
			w.Header().Set("Content-Type", "application/x-ndjson")
			flusher, _ := w.(http.Flusher)
			enc := json.NewEncoder(w)
			ctx = withProgress(ctx, func(p string) {
				enc.Encode(callResponse{Progress: p})
				if flusher != nil {
					flusher.Flush()
				}
			})
			if err == nil {
				resp.Result, err = x.call(ctx, r.PathValue("method"), args)
			}
			if err != nil {
				resp.Error = err.Error()
			}
			enc.Encode(resp)
			return
		}
		if err == nil {
			resp.Result, err = x.call(ctx, r.PathValue("method"), args)
		}
		if err != nil {
			resp.Error = err.Error()
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		json.NewEncoder(w).Encode(resp)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	os.Remove(ln.Addr().String())
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// controller is how a CLI command reaches maildesk.
type controller interface {
	Call(ctx context.Context, method string, args, result any) error
	Close()
}

// connect reaches the running daemon, or opens the store when none runs.
func connect(g *globals) (controller, error) {
	cfg, err := loadConfig(g.configPath)
	if err != nil {
		return nil, err
	}
	if c, err := net.DialTimeout("unix", cfg.Store.Socket, 2*time.Second); err == nil {
		c.Close()
		return &remote{socket: cfg.Store.Socket}, nil
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := openApp(cfg, log, 500*time.Millisecond)
	if errors.Is(err, tickets.ErrLocked) {
		return nil, fmt.Errorf("%w, but its control socket %s does not answer: is maildesk run starting or stuck?", err, cfg.Store.Socket)
	}
	if err != nil {
		return nil, err
	}
	return &local{api: newAPI(a, nil)}, nil
}

type remote struct{ socket string }

func (r *remote) Call(ctx context.Context, method string, args, result any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", r.socket)
	}}}
	req, err := http.NewRequestWithContext(ctx, "POST", "http://maildesk/v1/"+method, bytes.NewReader(body))
	if err != nil {
		return err
	}
	progress, streamed := ctx.Value(progressKey{}).(func(string))
	if streamed {
		req.Header.Set("X-Maildesk-Progress", "1")
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("control socket %s: %w", r.socket, err)
	}
	defer resp.Body.Close()
	var cr callResponse
	dec := json.NewDecoder(resp.Body)
	for {
		cr = callResponse{}
		if err := dec.Decode(&cr); err != nil {
			return fmt.Errorf("control socket %s: %w", r.socket, err)
		}
		if cr.Progress == "" || !streamed {
			break
		}
		progress(cr.Progress)
	}
	if cr.Error != "" {
		return errors.New(cr.Error)
	}
	if result == nil {
		return nil
	}
	return json.Unmarshal(cr.Result, result)
}

func (r *remote) Close() {}

type local struct{ api *api }

func (l *local) Call(ctx context.Context, method string, args, result any) error {
	body, err := json.Marshal(args)
	if err != nil {
		return err
	}
	res, err := l.api.call(ctx, method, body)
	if err != nil || result == nil {
		return err
	}
	return json.Unmarshal(res, result)
}

func (l *local) Close() { l.api.a.Close() }
