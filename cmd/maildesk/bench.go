package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/spf13/cobra"

	"maildesk/internal/memmail"
	"maildesk/mailin"
	"maildesk/tickets"
)

// The benchmark runs the real maildesk binary (this one, as a child
// process) against in-process mail servers, and measures in the same run
// what limits it: a bare go-imap client fetching the same mail from the same
// server. The child is a separate process so that its peak RSS and start-up
// are its own, not the servers' or the generator's.

type benchOptions struct {
	Messages      int
	Latency       int
	Scale         []int
	ScaleMessages int
	// Runs is how often each ingest is measured; the median counts.
	Runs       int
	Seed       uint64
	OutDir     string
	ProfileDir string
	// External mail system (make bench-e2e): IMAP and SMTP addresses, the
	// accounts' domain and password. Empty IMAPAddr: in-process servers.
	IMAPAddr, SMTPAddr, Domain, Password string
}

type benchResult struct {
	When       time.Time       `json:"when"`
	Version    string          `json:"version"`
	GoVersion  string          `json:"go_version"`
	CPUs       int             `json:"cpus"`
	Seed       uint64          `json:"seed"`
	Throughput *benchThrough   `json:"throughput,omitempty"`
	Latency    *benchLatency   `json:"latency,omitempty"`
	Scale      []benchScaleRow `json:"scale,omitempty"`
}

type benchThrough struct {
	Messages          int     `json:"messages"`
	Bytes             int64   `json:"bytes"`
	NewTickets        int     `json:"new_tickets"`
	Replies           int     `json:"replies"`
	BaselineSeconds   float64 `json:"baseline_seconds"`
	BaselinePerSecond float64 `json:"baseline_per_second"`
	MaildeskSeconds   float64 `json:"maildesk_seconds"`
	MaildeskPerSecond float64 `json:"maildesk_per_second"`
	Ratio             float64 `json:"ratio"`
	Tickets           int     `json:"tickets"`
	PeakRSSMB         float64 `json:"peak_rss_mb"` // the highest of the runs
	// Runs are the rates of every run; MaildeskPerSecond is their median.
	Runs []float64 `json:"runs_per_second"`
}

type benchLatency struct {
	Messages int     `json:"messages"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Maxms    float64 `json:"max_ms"`
}

type benchScaleRow struct {
	Existing        int       `json:"existing_tickets"`
	Messages        int       `json:"messages"`
	PerSecond       float64   `json:"per_second"` // median of Runs
	Runs            []float64 `json:"runs_per_second"`
	BytesPerMessage float64   `json:"store_bytes_per_message"` // pages in use, not file size
	StartupMS       float64   `json:"startup_ms"`
	ListOpenMS      float64   `json:"list_open_ms"`
	StoreMB         float64   `json:"store_file_mb"`
}

func benchCommand() *cobra.Command {
	var o benchOptions
	var scale string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure mail-in against the speed of the mail server (make bench)",
		Long: `Runs this maildesk binary against in-process IMAP and SMTP servers and measures, in one
run: throughput against a bare go-imap client fetching the same mail (the limit the server
sets), the time from delivery to the acknowledgement reaching SMTP while maildesk idles in
IDLE, and ingest rate, store growth, start-up and "tickets list" with many tickets already in
the store. Prints a table and writes the same as JSON into --out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range strings.Split(scale, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				n, err := strconv.Atoi(f)
				if err != nil {
					return fmt.Errorf("--scale: %q is not a number", f)
				}
				o.Scale = append(o.Scale, n)
			}
			return runBench(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	cmd.Flags().IntVar(&o.Messages, "messages", 5000, "messages for the throughput run (0 skips it)")
	cmd.Flags().IntVar(&o.Latency, "latency", 200, "messages sent one at a time for the latency run (0 skips it)")
	cmd.Flags().StringVar(&scale, "scale", "0,10000,100000", "tickets already in the store, for the scale runs (empty skips them)")
	cmd.Flags().IntVar(&o.ScaleMessages, "scale-messages", 2000, "messages taken in at each scale")
	cmd.Flags().IntVar(&o.Runs, "runs", 5, "times each ingest is measured (the median is reported)")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "seed of the generated mail")
	cmd.Flags().StringVar(&o.OutDir, "out", "bench/results", "folder for the JSON result")
	cmd.Flags().StringVar(&o.ProfileDir, "profile", "", "write a CPU profile of each maildesk run into this folder")
	cmd.Flags().StringVar(&o.IMAPAddr, "imap", "", "measure against this IMAP server (host:port, no TLS) instead of in-process ones")
	cmd.Flags().StringVar(&o.SMTPAddr, "smtp", "", "with --imap: the SMTP server")
	cmd.Flags().StringVar(&o.Domain, "domain", "", "with --imap: the domain of the accounts support, alice and customer")
	cmd.Flags().StringVar(&o.Password, "password", "", "with --imap: the accounts' password")
	return cmd
}

// profile is where the named run's CPU profile goes, or "" for none.
func (o benchOptions) profile(name string) string {
	if o.ProfileDir == "" {
		return ""
	}
	os.MkdirAll(o.ProfileDir, 0o755)
	return filepath.Join(o.ProfileDir, name+".pprof")
}

func runBench(ctx context.Context, o benchOptions, out io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "maildesk-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	say := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }
	res := benchResult{When: time.Now().UTC().Truncate(time.Second), Version: version, GoVersion: runtime.Version(),
		CPUs: runtime.NumCPU(), Seed: o.Seed}

	if o.Messages > 0 {
		var runs []*benchThrough
		for i := range max(o.Runs, 1) {
			say("throughput: %d messages, run %d of %d", o.Messages, i+1, max(o.Runs, 1))
			r, err := benchThroughput(ctx, exe, filepath.Join(dir, fmt.Sprintf("throughput-%d", i)), o)
			if err != nil {
				return fmt.Errorf("throughput: %w", err)
			}
			runs = append(runs, r)
		}
		res.Throughput = medianThroughput(runs)
	}
	if o.Latency > 0 {
		say("latency: %d messages, one at a time", o.Latency)
		if res.Latency, err = benchLatencyRun(ctx, exe, filepath.Join(dir, "latency"), o); err != nil {
			return fmt.Errorf("latency: %w", err)
		}
	}
	if len(o.Scale) > 0 {
		if res.Scale, err = benchScales(ctx, exe, dir, o, say); err != nil {
			return err
		}
	}
	printBench(out, &res)
	if o.OutDir != "" {
		if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
			return err
		}
		data, _ := json.MarshalIndent(res, "", "  ")
		path := filepath.Join(o.OutDir, res.When.Format("2006-01-02T150405Z")+".json")
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nwritten to %s\n", path)
	}
	return nil
}

func printBench(out io.Writer, r *benchResult) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "maildesk %s, %s, %d CPUs, seed %d\n\n", r.Version, r.GoVersion, r.CPUs, r.Seed)
	if t := r.Throughput; t != nil {
		fmt.Fprintf(w, "THROUGHPUT\tmessages\tseconds\tmsg/s\n")
		fmt.Fprintf(w, "bare go-imap fetch (baseline)\t%d\t%.2f\t%.0f\n", t.Messages, t.BaselineSeconds, t.BaselinePerSecond)
		fmt.Fprintf(w, "maildesk: tickets + mails queued\t%d\t%.2f\t%.0f\n", t.Messages, t.MaildeskSeconds, t.MaildeskPerSecond)
		if len(t.Runs) > 1 {
			fmt.Fprintf(w, "  median of %d runs\t\t\t%s\n", len(t.Runs), joinRates(t.Runs))
		}
		fmt.Fprintf(w, "ratio maildesk/baseline\t\t\t%.0f%%\n", 100*t.Ratio)
		fmt.Fprintf(w, "peak RSS of maildesk\t\t\t%.1f MB\n", t.PeakRSSMB)
		fmt.Fprintf(w, "mix\t%d new, %d replies, %.1f MB\t\t\n\n", t.NewTickets, t.Replies, float64(t.Bytes)/(1<<20))
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "LATENCY delivery -> ack accepted by SMTP\tmessages\tp50\tp99\tmax\n")
		fmt.Fprintf(w, "maildesk in IDLE\t%d\t%.0f ms\t%.0f ms\t%.0f ms\n\n", l.Messages, l.P50ms, l.P99ms, l.Maxms)
	}
	if len(r.Scale) > 0 {
		fmt.Fprintf(w, "SCALE existing tickets\tmsg/s (median)\truns\tstore bytes/msg\tstart-up\ttickets list --status open\tstore file\n")
		for _, s := range r.Scale {
			fmt.Fprintf(w, "%d\t%.0f\t%s\t%.0f\t%.0f ms\t%.0f ms\t%.0f MB\n", s.Existing, s.PerSecond, joinRates(s.Runs), s.BytesPerMessage, s.StartupMS, s.ListOpenMS, s.StoreMB)
		}
		if first, last := r.Scale[0], r.Scale[len(r.Scale)-1]; len(r.Scale) > 1 && first.PerSecond > 0 {
			fmt.Fprintf(w, "ingest at %d tickets against %d\t%+.0f%%\n", last.Existing, first.Existing, 100*(last.PerSecond/first.PerSecond-1))
		}
	}
	w.Flush()
}

// benchEnv is one set of servers, a store folder and a config for the
// child: in-process servers (sys), or an external mail system (ext).
type benchEnv struct {
	sys    *memmail.System
	ext    *benchOptions
	dir    string
	config string
	cfg    *Config

	mu        sync.Mutex
	delivered map[string][]time.Time // recipient -> acceptance times (in-process)
	notify    chan struct{}
}

func newBenchEnv(dir string, o *benchOptions) (*benchEnv, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	e := &benchEnv{dir: dir, delivered: map[string][]time.Time{}, notify: make(chan struct{}, 1)}
	imapAddr, smtpAddr, password := o.IMAPAddr, o.SMTPAddr, o.Password
	if o.IMAPAddr != "" {
		e.ext = o
		if err := e.emptyMailboxes(); err != nil {
			return nil, err
		}
	} else {
		sys, err := memmail.Start(memmail.Options{AcceptUnknown: true, OnDelivery: e.onDelivery})
		if err != nil {
			return nil, err
		}
		e.sys = sys
		for _, u := range []string{"support", "alice"} {
			if err := sys.AddUser(u, "bench"); err != nil {
				sys.Close()
				return nil, err
			}
		}
		imapAddr, smtpAddr, password = sys.IMAPAddr(), sys.SMTPAddr(), "bench"
	}
	host, iport, _ := net.SplitHostPort(imapAddr)
	shost, sport, _ := net.SplitHostPort(smtpAddr)
	e.config = filepath.Join(dir, "maildesk.yaml")
	yaml := fmt.Sprintf(`helpdesk:
  name: Bench Support
  address: %s
  staff: [{email: %s, name: Alice}]
  auto_reply_limit: 100000
imap: {host: %s, port: %s, security: none, password: %q, processed_mailbox: Processed}
smtp: {host: %s, port: %s, security: none}
store: {path: %s}
log: {level: info, format: json}
`, e.address("support"), e.address("alice"), host, iport, password, shost, sport, filepath.Join(dir, "maildesk.db"))
	if err := os.WriteFile(e.config, []byte(yaml), 0o600); err != nil {
		e.Close()
		return nil, err
	}
	var err error
	if e.cfg, err = loadConfig(e.config); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func (e *benchEnv) Close() {
	if e.sys != nil {
		e.sys.Close()
	}
}

func (e *benchEnv) address(local string) string {
	if e.ext != nil {
		return local + "@" + e.ext.Domain
	}
	return e.sys.Address(local)
}

func (e *benchEnv) imapAddr() string {
	if e.ext != nil {
		return e.ext.IMAPAddr
	}
	return e.sys.IMAPAddr()
}

func (e *benchEnv) password() string {
	if e.ext != nil {
		return e.ext.Password
	}
	return "bench"
}

// generator writes mail from customers the mail system can deliver to:
// plus-addresses of one account on an external system.
func (e *benchEnv) generator(seed uint64, firstNumber int) *benchGenerator {
	g := newBenchGenerator(seed, e.address("support"), firstNumber)
	if e.ext != nil {
		g.domain, g.fromFormat = e.ext.Domain, "customer+c%d@%s"
	}
	return g
}

// login opens an IMAP session as the account local.
func (e *benchEnv) login(local string) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(e.imapAddr(), nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(e.address(local), e.password()).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login %s: %w", e.address(local), err)
	}
	return c, nil
}

// emptyMailboxes clears the external accounts before a run.
func (e *benchEnv) emptyMailboxes() error {
	for _, local := range []string{"support", "alice", "customer"} {
		c, err := e.login(local)
		if err != nil {
			return err
		}
		for _, mbox := range []string{"Processed", "Quarantine"} {
			c.Delete(mbox).Wait()
		}
		if sel, err := c.Select("INBOX", nil).Wait(); err == nil && sel.NumMessages > 0 {
			var all imap.SeqSet
			all.AddRange(1, 0)
			c.Store(all, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close()
			c.Expunge().Close()
		}
		c.Close()
	}
	return nil
}

// inboxCount is the number of mails in the account's INBOX (external system).
func inboxCount(c *imapclient.Client) (uint32, error) {
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		return 0, err
	}
	return *st.NumMessages, nil
}

func (e *benchEnv) onDelivery(d memmail.Delivery) {
	e.mu.Lock()
	for _, to := range d.To {
		to = strings.ToLower(to)
		e.delivered[to] = append(e.delivered[to], d.At)
	}
	e.mu.Unlock()
	select {
	case e.notify <- struct{}{}:
	default:
	}
}

// deliveriesTo returns the acceptance times of mail to addr.
func (e *benchEnv) deliveriesTo(addr string) []time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.delivered[strings.ToLower(addr)])
}

// child is a running `maildesk run`, whose JSON log is read as it comes.
type child struct {
	cmd       *exec.Cmd
	started   time.Time
	connected chan time.Time
	mu        sync.Mutex
	taken     int
	lastTaken time.Time
	progress  chan struct{}
	done      chan error
	tail      []string

	stopOnce sync.Once
	stopErr  error
}

func startChild(ctx context.Context, exe, config, profile string) (*child, error) {
	c := &child{connected: make(chan time.Time, 1), progress: make(chan struct{}, 1), done: make(chan error, 1)}
	c.cmd = exec.CommandContext(ctx, exe, "run", "-c", config, "--log-format", "json")
	if profile != "" {
		c.cmd.Env = append(os.Environ(), "MAILDESK_CPUPROFILE="+profile)
	}
	c.cmd.Cancel = func() error { return c.cmd.Process.Signal(syscall.SIGTERM) }
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	c.started = time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			now := time.Now()
			switch {
			case strings.Contains(line, `"msg":"imap connected"`):
				select {
				case c.connected <- now:
				default:
				}
			case strings.Contains(line, `"msg":"mail taken in"`):
				c.mu.Lock()
				c.taken++
				c.lastTaken = now
				c.mu.Unlock()
				select {
				case c.progress <- struct{}{}:
				default:
				}
			}
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
				c.mu.Lock()
				c.tail = append(c.tail, line)
				c.mu.Unlock()
			}
		}
		c.done <- c.cmd.Wait()
	}()
	return c, nil
}

// waitConnected returns when the child has logged in and selected the mailbox.
func (c *child) waitConnected(ctx context.Context) (time.Time, error) {
	select {
	case t := <-c.connected:
		return t, nil
	case err := <-c.done:
		return time.Time{}, fmt.Errorf("maildesk exited before connecting: %v %s", err, strings.Join(c.tail, "\n"))
	case <-time.After(2 * time.Minute):
		return time.Time{}, errors.New("maildesk did not connect within 2 minutes")
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}

// waitTaken returns the time the n-th mail was logged as taken in.
func (c *child) waitTaken(ctx context.Context, n int) (time.Time, error) {
	for {
		c.mu.Lock()
		taken, last := c.taken, c.lastTaken
		c.mu.Unlock()
		if taken >= n {
			return last, nil
		}
		select {
		case <-c.progress:
		case err := <-c.done:
			return time.Time{}, fmt.Errorf("maildesk exited after %d of %d mails: %v %s", taken, n, err, strings.Join(c.tail, "\n"))
		case <-time.After(10 * time.Minute):
			return time.Time{}, fmt.Errorf("no progress for 10 minutes at %d of %d mails", taken, n)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// peakRSS reads the child's high-water resident set from /proc (Linux).
func (c *child) peakRSS() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// stop ends the child with SIGTERM, as systemd would; calling it again returns the first result.
func (c *child) stop() error {
	c.stopOnce.Do(func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case c.stopErr = <-c.done:
		case <-time.After(time.Minute):
			c.cmd.Process.Kill()
			c.stopErr = errors.New("maildesk did not stop within a minute of SIGTERM")
		}
	})
	return c.stopErr
}

// fill places n generated mails in the support INBOX.
func (e *benchEnv) fill(gen *benchGenerator, n int) (bytes int64, replies int, err error) {
	var c *imapclient.Client
	if e.ext != nil {
		if c, err = e.login("support"); err != nil {
			return 0, 0, err
		}
		defer c.Close()
	}
	for range n {
		m := gen.next()
		if m.Reply {
			replies++
		}
		bytes += int64(len(m.Raw))
		if err := e.deliver(c, m.Raw); err != nil {
			return 0, 0, err
		}
	}
	return bytes, replies, nil
}

// deliver puts raw into the support INBOX: directly in process, by APPEND
// (over c, the support account's session) on an external system.
func (e *benchEnv) deliver(c *imapclient.Client, raw []byte) error {
	if e.ext == nil {
		return e.sys.Append("support", "INBOX", raw)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		return err
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	_, err := cmd.Wait()
	return err
}

// bareFetch is the baseline: a go-imap client with nothing else to do
// fetches every full message body of the mailbox, as maildesk must.
func bareFetch(addr, user, password string) (time.Duration, int, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if err := c.Login(user, password).Wait(); err != nil {
		return 0, 0, err
	}
	if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		return 0, 0, err
	}
	start := time.Now()
	var set imap.UIDSet
	set.AddRange(1, 0)
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}})
	n := 0
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		for item := msg.Next(); item != nil; item = msg.Next() {
			if body, ok := item.(imapclient.FetchItemDataBodySection); ok {
				if _, err := io.Copy(io.Discard, body.Literal); err != nil {
					return 0, 0, err
				}
				n++
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return 0, 0, err
	}
	return time.Since(start), n, nil
}

// medianThroughput is the run with the median rate, with the rates of all
// and the highest peak RSS of any.
func medianThroughput(runs []*benchThrough) *benchThrough {
	slices.SortFunc(runs, func(a, b *benchThrough) int { return cmp.Compare(a.MaildeskPerSecond, b.MaildeskPerSecond) })
	m := *runs[len(runs)/2]
	for _, r := range runs {
		m.Runs = append(m.Runs, math.Round(r.MaildeskPerSecond))
		m.PeakRSSMB = max(m.PeakRSSMB, r.PeakRSSMB)
	}
	return &m
}

func joinRates(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(s, ", ")
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}

func benchThroughput(ctx context.Context, exe, dir string, o benchOptions) (*benchThrough, error) {
	e, err := newBenchEnv(dir, &o)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	gen := e.generator(o.Seed, 1)
	size, replies, err := e.fill(gen, o.Messages)
	if err != nil {
		return nil, err
	}
	// The baseline, best of three: the server's own speed, warmed up.
	var base time.Duration
	for range 3 {
		d, n, err := bareFetch(e.imapAddr(), e.address("support"), e.password())
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		if n != o.Messages {
			return nil, fmt.Errorf("baseline fetched %d of %d", n, o.Messages)
		}
		if base == 0 || d < base {
			base = d
		}
	}
	c, connected, last, err := ingest(ctx, exe, e, o.profile("throughput"), o.Messages)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	took := last.Sub(connected)
	rss := c.peakRSS()
	if err := c.stop(); err != nil {
		return nil, err
	}
	r := &benchThrough{Messages: o.Messages, Bytes: size, NewTickets: o.Messages - replies, Replies: replies,
		BaselineSeconds: base.Seconds(), BaselinePerSecond: float64(o.Messages) / base.Seconds(),
		MaildeskSeconds: took.Seconds(), MaildeskPerSecond: float64(o.Messages) / took.Seconds(), PeakRSSMB: rss}
	r.Ratio = r.MaildeskPerSecond / r.BaselinePerSecond
	// Exactly once still holds: one ticket per new mail, every reply threaded.
	err = withStore(e.cfg, func(tx *tickets.Tx) error {
		list, err := tx.ListTickets(tickets.Filter{})
		r.Tickets = len(list)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r.Tickets != r.NewTickets {
		return nil, fmt.Errorf("%d tickets for %d new mails", r.Tickets, r.NewTickets)
	}
	return r, nil
}

// ingest starts maildesk on e's mailbox and waits until it took n mails
// in; it returns when it connected and when it logged the last one. The
// caller stops the child.
func ingest(ctx context.Context, exe string, e *benchEnv, profile string, n int) (*child, time.Time, time.Time, error) {
	c, err := startChild(ctx, exe, e.config, profile)
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	connected, err := c.waitConnected(ctx)
	if err == nil {
		var last time.Time
		if last, err = c.waitTaken(ctx, n); err == nil {
			return c, connected, last, nil
		}
	}
	c.stop()
	return nil, time.Time{}, time.Time{}, err
}

// withStore opens the stopped child's store read-only for a look.
func withStore(cfg *Config, fn func(tx *tickets.Tx) error) error {
	store, err := tickets.Open(cfg.Store.Path, tickets.StoreOptions{LockTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer store.Close()
	return store.View(fn)
}

func benchLatencyRun(ctx context.Context, exe, dir string, o benchOptions) (*benchLatency, error) {
	e, err := newBenchEnv(dir, &o)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	c, err := startChild(ctx, exe, e.config, o.profile("latency"))
	if err != nil {
		return nil, err
	}
	defer c.stop()
	if _, err := c.waitConnected(ctx); err != nil {
		return nil, err
	}
	time.Sleep(500 * time.Millisecond) // let it settle into IDLE
	wait, err := e.waiter()
	if err != nil {
		return nil, err
	}
	defer wait.close()
	gen := e.generator(o.Seed+1, 1)
	var took []time.Duration
	for i := range o.Latency {
		m := gen.next()
		for m.Reply {
			m = gen.next()
		}
		start := time.Now()
		if err := e.deliver(wait.support, m.Raw); err != nil {
			return nil, err
		}
		// The acknowledgement is the customer's first mail; wait for the
		// welcome and the staff notice too, so the next mail finds maildesk
		// idle again ("one at a time").
		ack, err := wait.until(ctx, m.From, i, func() string { return strings.Join(c.tail, "\n") })
		if err != nil {
			return nil, err
		}
		took = append(took, ack.Sub(start))
	}
	slices.Sort(took)
	return &benchLatency{Messages: len(took), P50ms: ms(percentile(took, 50)), P99ms: ms(percentile(took, 99)), Maxms: ms(took[len(took)-1])}, nil
}

// latencyWaiter sees mail arrive: through memmail's delivery hook in
// process, by polling the mailboxes (every 5 ms) on an external system, where
// the time is when the mail is in the customer's INBOX, a little after the
// SMTP server accepted it.
type latencyWaiter struct {
	e                        *benchEnv
	support, customer, staff *imapclient.Client
	customerBase, staffBase  uint32
}

func (e *benchEnv) waiter() (*latencyWaiter, error) {
	w := &latencyWaiter{e: e}
	if e.ext == nil {
		return w, nil
	}
	var err error
	for local, c := range map[string]**imapclient.Client{"support": &w.support, "customer": &w.customer, "alice": &w.staff} {
		if *c, err = e.login(local); err != nil {
			w.close()
			return nil, err
		}
	}
	if w.customerBase, err = inboxCount(w.customer); err != nil {
		return nil, err
	}
	w.staffBase, err = inboxCount(w.staff)
	return w, err
}

func (w *latencyWaiter) close() {
	for _, c := range []*imapclient.Client{w.support, w.customer, w.staff} {
		if c != nil {
			c.Close()
		}
	}
}

// until waits for the i-th customer's acknowledgement and welcome and the
// staff notice, and returns when the acknowledgement arrived.
func (w *latencyWaiter) until(ctx context.Context, customer string, i int, tail func() string) (time.Time, error) {
	e := w.e
	deadline := time.Now().Add(time.Minute)
	var ack time.Time
	for {
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("message %d: no acknowledgement within a minute %s", i, tail())
		}
		if e.ext == nil {
			if got := e.deliveriesTo(customer); len(got) >= 2 && len(e.deliveriesTo(e.address("alice"))) >= i+1 {
				return got[0], nil
			}
			select {
			case <-e.notify:
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return time.Time{}, ctx.Err()
			}
			continue
		}
		n, err := inboxCount(w.customer)
		if err != nil {
			return time.Time{}, err
		}
		if ack.IsZero() && n >= w.customerBase+1 {
			ack = time.Now()
		}
		if n >= w.customerBase+2 {
			if s, err := inboxCount(w.staff); err == nil && s >= w.staffBase+1 {
				w.customerBase, w.staffBase = n, s
				return ack, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted) + 99) / 100
	return sorted[max(i-1, 0)]
}

// scaleRun is one store size of the scale measurement: its servers, its
// prefilled store, and the row filled in by its runs.
type scaleRun struct {
	e      *benchEnv
	gen    *benchGenerator
	before int64
	row    benchScaleRow
	starts []float64
	c      *child // the daemon of the last run, left running for "tickets list"
}

func newScaleRun(ctx context.Context, dir string, existing int, o benchOptions) (*scaleRun, error) {
	e, err := newBenchEnv(dir, &o)
	if err != nil {
		return nil, err
	}
	if existing > 0 {
		if err := prefill(ctx, e.cfg, existing, o.Seed+2); err != nil {
			e.Close()
			return nil, fmt.Errorf("prefill: %w", err)
		}
	}
	before, err := storeInUse(e.cfg)
	if err != nil {
		e.Close()
		return nil, err
	}
	// Each run takes a fresh batch into the same store; the store grows by
	// a few thousand tickets over the runs, little against the scale.
	return &scaleRun{e: e, gen: e.generator(o.Seed+3, existing+1), before: before,
		row: benchScaleRow{Existing: existing, Messages: o.ScaleMessages}}, nil
}

// run takes one batch in. The daemon of the last run is kept running.
func (s *scaleRun) run(ctx context.Context, exe string, o benchOptions, last bool) error {
	if _, _, err := s.e.fill(s.gen, o.ScaleMessages); err != nil {
		return err
	}
	c, connected, done, err := ingest(ctx, exe, s.e, o.profile(fmt.Sprintf("scale-%d-%d", s.row.Existing, len(s.row.Runs))), o.ScaleMessages)
	if err != nil {
		return err
	}
	s.row.Runs = append(s.row.Runs, math.Round(float64(o.ScaleMessages)/done.Sub(connected).Seconds()))
	s.starts = append(s.starts, ms(connected.Sub(c.started)))
	if last {
		s.c = c
		return nil
	}
	if err := c.stop(); err != nil {
		return err
	}
	// The sender was still at this batch's mail, mostly hashing welcome
	// passwords: left pending, it would compete with the next run's
	// ingest, which the first run did not have to share the CPU with.
	store, err := tickets.Open(s.e.cfg.Store.Path, tickets.StoreOptions{LockTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer store.Close()
	return store.Update(func(tx *tickets.Tx) error { return markAllSent(tx, time.Now()) })
}

// finish times "tickets list --status open" as an admin would run it,
// through the running daemon's control socket, stops the daemon and
// measures the store. On error benchScales stops the daemon.
func (s *scaleRun) finish(ctx context.Context, exe string) (*benchScaleRow, error) {
	s.row.PerSecond, s.row.StartupMS = median(s.row.Runs), median(s.starts)
	start := time.Now()
	list := exec.CommandContext(ctx, exe, "tickets", "list", "--status", "open", "-c", s.e.config)
	var stderr strings.Builder
	list.Stdout, list.Stderr = io.Discard, &stderr
	if err := list.Run(); err != nil {
		return nil, fmt.Errorf("tickets list: %v %s", err, stderr.String())
	}
	s.row.ListOpenMS = ms(time.Since(start))
	if err := s.c.stop(); err != nil {
		return nil, err
	}
	after, err := storeInUse(s.e.cfg)
	if err != nil {
		return nil, err
	}
	s.row.BytesPerMessage = float64(after-s.before) / float64(len(s.row.Runs)*s.row.Messages)
	s.row.StoreMB = float64(fileSize(s.e.cfg.Store.Path)) / (1 << 20)
	return &s.row, nil
}

// benchScales measures every store size of o.Scale. The runs take turns
// (0, 10k, 100k, 0, 10k, …), so a slow spell of the machine or the disk
// falls on every size alike instead of on one.
func benchScales(ctx context.Context, exe, dir string, o benchOptions, say func(string, ...any)) ([]benchScaleRow, error) {
	var sizes []*scaleRun
	defer func() {
		for _, s := range sizes {
			if s.c != nil {
				s.c.stop()
			}
			s.e.Close()
		}
	}()
	for _, k := range o.Scale {
		say("scale: filling a store with %d tickets", k)
		s, err := newScaleRun(ctx, filepath.Join(dir, fmt.Sprintf("scale-%d", k)), k, o)
		if err != nil {
			return nil, fmt.Errorf("scale %d: %w", k, err)
		}
		sizes = append(sizes, s)
	}
	runs := max(o.Runs, 1)
	var rows []benchScaleRow
	for i := range runs {
		for _, s := range sizes {
			say("scale: %d tickets in the store, then %d messages, run %d of %d", s.row.Existing, o.ScaleMessages, i+1, runs)
			last := i == runs-1
			if err := s.run(ctx, exe, o, last); err != nil {
				return nil, fmt.Errorf("scale %d: %w", s.row.Existing, err)
			}
			if !last {
				continue
			}
			// Finished at once: a daemon left running would go on sending
			// (and hashing passwords) during the next size's run.
			row, err := s.finish(ctx, exe)
			if err != nil {
				return nil, fmt.Errorf("scale %d: %w", s.row.Existing, err)
			}
			rows = append(rows, *row)
		}
	}
	return rows, nil
}

// storeInUse is the bytes the data takes in the (stopped) store; zero for a store not yet made.
func storeInUse(cfg *Config) (int64, error) {
	if fileSize(cfg.Store.Path) == 0 {
		return 0, nil
	}
	store, err := tickets.Open(cfg.Store.Path, tickets.StoreOptions{LockTimeout: 10 * time.Second})
	if err != nil {
		return 0, err
	}
	defer store.Close()
	return store.InUse()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// markAllSent marks every pending outgoing mail sent, as if the sender had
// caught up. Through the due index: a scan of the whole outbox per batch
// made the prefill quadratic.
func markAllSent(tx *tickets.Tx, now time.Time) error {
	pending, _, err := tx.DueMail(now.Add(365*24*time.Hour), -1)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if err := tx.MarkSent(m.ID, now); err != nil {
			return err
		}
	}
	return nil
}

// prefill takes n generated mails (no attachments, to spare the disk) into
// the store the way mail-in does, a thousand per transaction, and marks
// their outgoing mail sent: an old helpdesk with n tickets, most of them
// closed.
func prefill(ctx context.Context, cfg *Config, n int, seed uint64) error {
	a, err := openApp(cfg, slog.New(slog.DiscardHandler), 10*time.Second)
	if err != nil {
		return err
	}
	defer a.Close()
	gen := newBenchGenerator(seed, cfg.Helpdesk.Address, 1)
	gen.noFiles = true
	gen.domain = "archive.client.test" // not the customers of the measured mail
	opened := 0
	now := time.Now().Add(-30 * 24 * time.Hour)
	for opened < n {
		if err := ctx.Err(); err != nil {
			return err
		}
		var items []*mailin.Item
		for len(items) < 1000 && opened < n {
			m := gen.next()
			if m.Reply {
				// Only new tickets: replies would not change the count we ask for.
				continue
			}
			it := &mailin.Item{Raw: m.Raw}
			if err := a.proc.Prepare(it); err != nil {
				return err
			}
			items = append(items, it)
			opened++
		}
		err := a.store.Update(func(tx *tickets.Tx) error {
			for _, it := range items {
				if err := a.proc.Apply(tx, it, now); err != nil {
					return err
				}
				// An old helpdesk: nine tickets in ten are closed, the
				// rest long past their reminders.
				t, err := tx.Ticket(it.Outcome.Ticket)
				if err != nil {
					return err
				}
				if t.Number%10 != 0 {
					t.Status, t.ClosedAt = tickets.StatusClosed, now
				}
				t.DueReminders.Near, t.DueReminders.Overdue = true, true
				if err := tx.PutTicket(t); err != nil {
					return err
				}
			}
			return markAllSent(tx, now)
		})
		if err != nil {
			return err
		}
	}
	// What the timers of a running helpdesk would have done by now (drop
	// the counters of automatic mail long past), so the measured run does
	// not do it for them.
	return a.tick()
}
