package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestMonitoring(t *testing.T) {
	f := newFlow(t, nil)
	f.openTicket()
	f.settle()
	h := f.app.monitorHandler()

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	var got health
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != 200 || !got.OK || !got.IMAPConnected || got.LastMailTakenUnix == 0 {
		t.Errorf("/healthz = %d %s", rec.Code, rec.Body)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{"maildesk_up 1", "maildesk_imap_connected 1", `maildesk_mail_in_total{result="taken"} 1`,
		`maildesk_tickets{status="new"} 1`, "maildesk_mail_in_seconds_count 1", `maildesk_tickets{status="closed"} 0`, "maildesk_outbox_pending 0", `maildesk_mail_out_total{result="sent"} 4`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "anna") || strings.Contains(body, "Printer") {
		t.Error("/metrics shows an address or a subject")
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/healthz", nil))
	if rec.Code != 405 {
		t.Errorf("POST /healthz = %d", rec.Code)
	}
}

// When the store cannot keep mail (here the raw-mail folder is replaced by
// a file, which stops even root), /healthz says so and the mail stays on
// the server; once the folder is back, the mail is taken in and all is well.
func TestHealthReportsStoreFailure(t *testing.T) {
	f := newFlow(t, nil)
	f.openTicket()
	f.settle()
	raw := f.app.cfg.Store.Raw
	if err := os.Rename(raw, raw+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(raw, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.send(msg{from: f.addr("olena"), subject: "Second", body: "Hello"})
	h := f.app.monitorHandler()
	health := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code, rec.Body.String()
	}
	waitUntil(t, "/healthz to report the store", func() bool {
		code, body := health()
		return code == 503 && strings.Contains(body, "the store does not take mail")
	})
	if n := len(f.ticketList()); n != 1 {
		t.Errorf("%d tickets while the store fails", n)
	}
	os.Remove(raw)
	if err := os.Rename(raw+".away", raw); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the mail taken in after the store is back", func() bool {
		code, _ := health()
		return code == 200 && len(f.ticketList()) == 2
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "maildesk_store_errors_total ") || strings.Contains(rec.Body.String(), "maildesk_store_errors_total 0") {
		t.Errorf("/metrics does not count the store failure:\n%s", rec.Body.String())
	}
}
