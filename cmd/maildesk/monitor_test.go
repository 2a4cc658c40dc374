package main

import (
	"encoding/json"
	"net/http/httptest"
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
