//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A customer's week on the portal in a real browser (Debian's headless
// Chromium): the password from the welcome mail in their Dovecot inbox
// logs them in; they read the ticket, answer, close it and rate it.
// Screenshots of each step are kept with the test output (-artifacts).
func TestPortalInBrowser(t *testing.T) {
	e := getEnv(t)
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed (test/e2e/run installs it)")
	}
	const portal = "127.0.0.1:2180"
	d := newDaemon(t, e, "")
	d.extra("portal: {listen: \"" + portal + "\", url: \"http://" + portal + "/\"}\n")
	d.start()
	e.send(t, "Olena Koval <"+e.addr("olena")+">", e.addr("support"), "Не працює віджет розкладу", "Доброго дня! Віджет розкладу порожній.")
	var password string
	waitFor(t, "the welcome mail", time.Minute, func() bool {
		for _, m := range e.inbox(t, "olena", "INBOX") {
			for _, line := range strings.Split(m.Text, "\n") {
				if _, v, ok := strings.Cut(line, "Пароль:"); ok {
					password = strings.TrimSpace(v)
				}
			}
		}
		return password != ""
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(1000, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	// The browser lives as long as the context of the first call: start it
	// here, so that the steps' own timeouts do not end it.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir := t.ArtifactDir()
	shot := func(name string) {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(dir, name+".png")
		os.WriteFile(path, png, 0o644)
		t.Logf("screenshot %s", path)
	}
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			page, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
			t.Fatalf("browser, %s: %v\n%s", what, err, page)
		}
	}
	body := func() string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatalf("read the page: %v", err)
		}
		return s
	}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	base := "http://" + portal

	step("log in", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(css(`input[name=email]`)),
		chromedp.SendKeys(css(`input[name=email]`), e.addr("olena")), chromedp.SendKeys(css(`input[name=password]`), password))
	shot("1-login")
	step("submit the login", chromedp.Submit(css(`input[name=password]`)), chromedp.WaitVisible(css(`table`)))
	list := body()
	shot("2-tickets")
	step("answer", chromedp.Click(css(`a[href="/tickets/1"]`)), chromedp.WaitVisible(css(`form[action="/tickets/1/reply"] textarea`)),
		chromedp.SendKeys(css(`form[action="/tickets/1/reply"] textarea`), "Браузер Firefox 133, Windows 11."),
		chromedp.Submit(css(`form[action="/tickets/1/reply"] textarea`)), chromedp.WaitVisible(css(`.notice`)))
	ticket := body()
	shot("3-answered")
	step("close", chromedp.Submit(css(`form[action="/tickets/1/close"] button`)), chromedp.WaitVisible(css(`form[action="/tickets/1/reopen"]`)))
	step("rate", chromedp.WaitVisible(css(`input[name=score][value="5"]`)), chromedp.Click(css(`input[name=score][value="5"]`)),
		chromedp.SendKeys(css(`form[action="/tickets/1/rate"] textarea`), "Дякую!"),
		chromedp.Submit(css(`form[action="/tickets/1/rate"] textarea`)), chromedp.WaitNotPresent(css(`form[action="/tickets/1/rate"]`)))
	shot("4-rated")
	if !strings.Contains(list, "Мої звернення") || !strings.Contains(list, "Не працює віджет розкладу") {
		t.Errorf("ticket list:\n%s", list)
	}
	if !strings.Contains(ticket, "Браузер Firefox 133, Windows 11.") {
		t.Errorf("ticket page after the answer:\n%s", ticket)
	}
	tk := d.ticket(1)
	var texts []string
	for _, m := range tk.Messages {
		texts = append(texts, m.Kind+": "+m.Text)
	}
	if tk.Status != "closed" || !strings.Contains(strings.Join(texts, "\n"), "Браузер Firefox 133") {
		t.Errorf("ticket after the browser: %s\n%s", tk.Status, strings.Join(texts, "\n"))
	}
	var rating struct {
		Rating *struct {
			Score int `json:"score"`
		} `json:"rating"`
	}
	d.cli(&rating, "tickets", "show", "1")
	if rating.Rating == nil || rating.Rating.Score != 5 {
		t.Errorf("rating after the browser = %+v", rating.Rating)
	}
}
