package mailin

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestForwardCorpus parses every forward in testdata/replies/forwards-crisp
// and compares the original's sender, subject and body with what the
// fixtures' source expects. Staff forward customers' mail to open tickets,
// so the sender matters most.
func TestForwardCorpus(t *testing.T) {
	var fwd struct {
		Fixtures map[string][]struct {
			Forwarded       bool   `json:"forwarded"`
			OriginalSubject string `json:"original_subject"`
			OriginalBody    string `json:"original_body"`
			OriginalFrom    *struct {
				Address string `json:"address"`
				Name    string `json:"name"`
			} `json:"original_from"`
		} `json:"fixtures"`
	}
	readJSON(t, "testdata/replies/forwards-crisp/expected.json", &fwd)
	var n, from, subject, body int
	var misses []string
	for name, list := range fwd.Fixtures {
		e := list[0]
		if !e.Forwarded || e.OriginalFrom == nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("testdata/replies/forwards-crisp", name))
		if err != nil {
			t.Fatal(err)
		}
		n++
		f, ok := ParseForward(string(raw))
		if !ok {
			misses = append(misses, name+": no forward found")
			continue
		}
		if f.From.Email == strings.ToLower(e.OriginalFrom.Address) {
			from++
		} else {
			misses = append(misses, name+": from "+f.From.Email)
		}
		if e.OriginalSubject == "" || f.Subject == e.OriginalSubject {
			subject++
		}
		if normalize(f.Text) == normalize(e.OriginalBody) {
			body++
		}
	}
	sort.Strings(misses)
	for _, m := range misses {
		t.Log(m)
	}
	t.Logf("forwards: %d; sender right %d, subject right %d, body right %d", n, from, subject, body)
	if from < n*95/100 {
		t.Errorf("the forwarded mail's sender is found in %d of %d forwards", from, n)
	}
}

func TestParseForwardRussian(t *testing.T) {
	text := "Клиент пишет, посмотрите.\n\n-------- Пересылаемое сообщение --------\nОт: Анна Иванова <anna@client.ru>\nДата: 20.11.2026 10:15\nТема: Касса не печатает\nКому: boss@acme.test\n\nКасса не печатает чеки, ошибка 1102."
	f, ok := ParseForward(text)
	if !ok || f.From.Email != "anna@client.ru" || f.From.Name != "Анна Иванова" || f.Subject != "Касса не печатает" ||
		f.Text != "Касса не печатает чеки, ошибка 1102." {
		t.Errorf("ParseForward = %+v, %v", f, ok)
	}
	if _, ok := ParseForward("Just a reply.\n\nOn Mon, 1 Jan 2024, Ann wrote:\n"); ok {
		t.Error("a wrote-line without an address was taken for a forward")
	}
}
