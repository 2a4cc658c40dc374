package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// The refresh-token flow: one trip to the token URL per access token's
// life, the rotated refresh token kept in its file, a refusal reported.
func TestRefreshTokenSource(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		n := calls.Add(1)
		id, _, basic := r.BasicAuth()
		if r.Form.Get("grant_type") != "refresh_token" || (id == "" && r.Form.Get("client_id") == "") || (basic && id != "maildesk") {
			http.Error(w, `{"error":"invalid_request"}`, 400)
			return
		}
		if r.Form.Get("refresh_token") == "revoked" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"access-%d","token_type":"Bearer","expires_in":3600,"refresh_token":"rotated-%d"}`, n, n)
	}))
	defer srv.Close()

	file := filepath.Join(t.TempDir(), "refresh")
	os.WriteFile(file, []byte("first\n"), 0o600)
	source := tokenSource(OAuth2Config{ClientID: "maildesk", ClientSecret: "s", TokenURL: srv.URL, RefreshTokenFile: file})
	for range 3 {
		tok, err := source(context.Background())
		if err != nil || tok != "access-1" {
			t.Fatalf("token = %q, %v", tok, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls to the token URL for one access token's life", calls.Load())
	}
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != "rotated-1" {
		t.Errorf("refresh token file = %q, want the rotated token", b)
	}

	revoked := tokenSource(OAuth2Config{ClientID: "maildesk", TokenURL: srv.URL, RefreshToken: "revoked"})
	if _, err := revoked(context.Background()); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("revoked token: %v", err)
	}
}

func TestOAuth2ConfigCheck(t *testing.T) {
	var errs []string
	bad := func(key, format string, args ...any) { errs = append(errs, key) }
	OAuth2Config{RefreshToken: "x"}.check("imap.oauth2", bad)
	OAuth2Config{RefreshToken: "x", ClientID: "c"}.check("smtp.oauth2", bad)
	OAuth2Config{TokenCommand: "echo", RefreshToken: "x"}.check("imap.oauth2", bad)
	OAuth2Config{TokenCommand: "echo", Mechanism: "plain"}.check("smtp.oauth2", bad)
	OAuth2Config{TokenCommand: "echo", Mechanism: "OAUTHBEARER"}.check("smtp.oauth2", bad)
	want := "imap.oauth2.client_id smtp.oauth2.token_url imap.oauth2.token_command smtp.oauth2.mechanism"
	if got := strings.Join(errs, " "); got != want {
		t.Errorf("errors for %s, want %s", got, want)
	}
}
