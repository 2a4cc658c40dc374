package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The password in the welcome mail opens the customer's page, which shows
// the ticket; the welcome mail links to it.
func TestPortalWithMailedPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	f := newFlow(t, func(c *Config) {
		c.Portal = PortalConfig{Listen: addr, URL: "https://support.test/", Organisations: []string{"example.test"}}
	})
	anna, _ := f.openTicket()
	password := passwordIn(t, anna[1].Text)
	if !strings.Contains(anna[1].Text, "https://support.test/") {
		t.Errorf("the welcome mail does not link to the portal:\n%s", anna[1].Text)
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	var page string
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := c.Get("http://" + addr + "/login")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page = string(b)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("portal not up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("login page:\n%s", page)
	}
	resp, err := c.PostForm("http://"+addr+"/login", url.Values{"email": {f.addr("anna")}, "password": {password}, "csrf": {csrf[1]}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Printer broken") {
		t.Fatalf("after login: %d\n%s", resp.StatusCode, body)
	}
}
