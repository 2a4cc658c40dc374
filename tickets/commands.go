package tickets

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Commands by mail, in the spirit of RT's CommandByMail: "Key: value" lines
// at the top of a mail, before the answer text, and "[key=value]" tags at
// the end of a subject (as Roundup's mail gateway reads them). Keys and
// values are case-insensitive and have Russian and Ukrainian spellings.

// Command is one command as written.
type Command struct {
	Key   string // canonical: status, assign, priority, type, service, due, note, close, customer
	Value string
	Line  string // as written, for error messages
}

// commandKeys maps every spelling of a key to its canonical name.
var commandKeys = map[string]string{
	"status": "status", "статус": "status", "state": "status", "состояние": "status", "стан": "status",
	"assign": "assign", "assignee": "assign", "owner": "assign", "назначить": "assign", "исполнитель": "assign",
	"ответственный": "assign", "призначити": "assign", "виконавець": "assign", "відповідальний": "assign",
	"priority": "priority", "приоритет": "priority", "пріоритет": "priority",
	"type": "type", "тип": "type",
	"service": "service", "сервис": "service", "сервіс": "service", "подсистема": "service", "підсистема": "service",
	"due": "due", "срок": "due", "термін": "due", "deadline": "due",
	"customer": "customer", "клиент": "customer", "клієнт": "customer",
}

// bareCommands are commands without a value.
var bareCommands = map[string]string{
	"note": "note", "заметка": "note", "примечание": "note", "нотатка": "note", "примітка": "note", "internal": "note",
	"close": "close", "закрыть": "close", "закрити": "close",
}

var commandLine = regexp.MustCompile(`^\s*([\p{L}]+)\s*[:=]\s*(.*?)\s*$`)

// parseCommand reads one line as a command, if it is one.
func parseCommand(line string) (Command, bool) {
	trimmed := strings.TrimSpace(line)
	if k, ok := bareCommands[strings.ToLower(strings.TrimRight(trimmed, ".!:"))]; ok {
		return Command{Key: k, Line: trimmed}, true
	}
	m := commandLine.FindStringSubmatch(line)
	if m == nil {
		return Command{}, false
	}
	if k, ok := commandKeys[strings.ToLower(m[1])]; ok {
		return Command{Key: k, Value: m[2], Line: trimmed}, true
	}
	return Command{}, false
}

// leadingCommands takes the command lines at the top of text (blank lines
// before them are skipped; the first other line ends them) and returns
// them with the rest of the text.
func leadingCommands(text string) ([]Command, string) {
	lines := strings.Split(text, "\n")
	var cmds []Command
	i := 0
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			if len(cmds) > 0 {
				break
			}
			continue
		}
		c, ok := parseCommand(lines[i])
		if !ok {
			break
		}
		cmds = append(cmds, c)
	}
	return cmds, strings.TrimSpace(strings.Join(lines[i:], "\n"))
}

// subjectCommands reads "[key=value]" tags, also several in one: "[status=resolved; priority=high]".
func subjectCommands(tags []string) []Command {
	var cmds []Command
	for _, tag := range tags {
		for _, part := range strings.Split(tag, ";") {
			if !strings.Contains(part, "=") {
				if c, ok := parseCommand(part); ok && c.Key == "note" {
					cmds = append(cmds, c)
				}
				continue
			}
			if c, ok := parseCommand(part); ok {
				cmds = append(cmds, c)
			}
		}
	}
	return cmds
}

// statusAliases are the ways people write statuses, in the seeds' words too.
var statusAliases = map[string]Status{
	"new": StatusNew, "новая": StatusNew, "нова": StatusNew,
	"in-progress": StatusInProgress, "in progress": StatusInProgress, "progress": StatusInProgress, "open": StatusInProgress,
	"в работе": StatusInProgress, "в роботі": StatusInProgress, "работа": StatusInProgress,
	"waiting-customer": StatusWaiting, "waiting": StatusWaiting, "info required": StatusWaiting, "information required": StatusWaiting,
	"требуется информация": StatusWaiting, "вопросы клиенту": StatusWaiting, "ожидание": StatusWaiting,
	"потрібна інформація": StatusWaiting, "питання клієнту": StatusWaiting, "очікування": StatusWaiting,
	"resolved": StatusResolved, "solved": StatusResolved, "решена": StatusResolved, "решено": StatusResolved,
	"ожидает подтверждения": StatusResolved, "вирішено": StatusResolved, "вирішена": StatusResolved, "очікує підтвердження": StatusResolved,
	"closed": StatusClosed, "close": StatusClosed, "done": StatusClosed, "закрыта": StatusClosed, "закрыть": StatusClosed,
	"выполнена": StatusClosed, "закрита": StatusClosed, "закрити": StatusClosed, "виконана": StatusClosed,
}

// parseStatus maps any spelling of a status to it.
func parseStatus(s string) (Status, bool) {
	st, ok := statusAliases[normalizeValue(s)]
	if !ok {
		st, ok = statusAliases[strings.ToLower(strings.TrimSpace(s))]
	}
	return st, ok
}

// statusHelp lists the statuses staff may set, with their names in lang.
func statusHelp(lang string) string {
	var parts []string
	for _, s := range Statuses[1:] {
		parts = append(parts, fmt.Sprintf("%s (%s)", s, s.Label(lang)))
	}
	return "Status: " + strings.Join(parts, ", ")
}

var dueExtension = regexp.MustCompile(`^\+?\s*(\d+(?:[.,]\d+)?)\s*(h|ч|год|hours?|часа?|часов|годин[иа]?|d|д|days?|дн[яей]*|дні|днів)?$`)

// parseExtension reads "+48h", "+2d", "+24 часа".
func parseExtension(s string) (time.Duration, bool) {
	m := dueExtension.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(strings.ReplaceAll(m[1], ",", "."), 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	unit := time.Hour
	if strings.HasPrefix(m[2], "d") || strings.HasPrefix(m[2], "д") {
		unit = 24 * time.Hour
	}
	return time.Duration(n * float64(unit)), true
}

// changes is what a staff mail's commands ask for, checked and resolved.
type changes struct {
	status   Status // "" for no change
	assign   *Staff // nil: no change; empty Email: unassign
	fields   map[string]string
	extend   time.Duration
	note     bool
	customer *Address
}

// resolveCommands checks every command against the ticket and config. It
// returns the changes, or the errors with help for what is valid; one bad
// command and nothing applies.
func (d *Desk) resolveCommands(cmds []Command, from Staff, t *Ticket) (changes, []string, []string) {
	var ch changes
	var errs []string
	help := map[string]string{}
	for _, c := range cmds {
		switch c.Key {
		case "status", "close":
			value := c.Value
			if c.Key == "close" {
				value = "closed"
			}
			st, ok := parseStatus(value)
			switch {
			case !ok:
				errs = append(errs, fmt.Sprintf("%q: %q is not a status", c.Line, value))
				help["status"] = statusHelp(from.Lang)
			case t != nil:
				if _, err := Transition(t.Status, EventStaffSet, st); err != nil {
					errs = append(errs, fmt.Sprintf("%q: a %s ticket cannot be set to %s", c.Line, t.Status, st))
					help["status"] = statusHelp(from.Lang)
					continue
				}
				ch.status = st
			default:
				ch.status = st
			}
		case "assign":
			s, ok := d.assignee(c.Value, from)
			if !ok {
				errs = append(errs, fmt.Sprintf("%q: nobody on the team is called %q", c.Line, c.Value))
				help["assign"] = "Assign: me, nobody, or one of " + d.staffNames()
				continue
			}
			ch.assign = &s
		case "priority", "type", "service":
			f := d.cfg.Fields.ByKey(c.Key)
			v, ok := f.Canonical(c.Value)
			if !ok {
				errs = append(errs, fmt.Sprintf("%q: %q is not a %s", c.Line, c.Value, c.Key))
				help[c.Key] = strings.ToUpper(c.Key[:1]) + c.Key[1:] + ": " + f.Help(from.Lang)
				continue
			}
			if ch.fields == nil {
				ch.fields = map[string]string{}
			}
			ch.fields[c.Key] = v
		case "due":
			ext, ok := parseExtension(c.Value)
			switch {
			case !ok:
				errs = append(errs, fmt.Sprintf("%q: write the extension as +24h or +2d", c.Line))
				help["due"] = fmt.Sprintf("Due: +N hours or +N days, at most +%dh", int(d.cfg.Lifecycle.MaxExtension.Hours()))
			case ext > d.cfg.Lifecycle.MaxExtension:
				errs = append(errs, fmt.Sprintf("%q: at most +%dh at a time", c.Line, int(d.cfg.Lifecycle.MaxExtension.Hours())))
				help["due"] = fmt.Sprintf("Due: +N hours or +N days, at most +%dh", int(d.cfg.Lifecycle.MaxExtension.Hours()))
			default:
				ch.extend = ext
			}
		case "note":
			ch.note = true
		case "customer":
			a, ok := parseAddress(c.Value)
			if !ok {
				errs = append(errs, fmt.Sprintf("%q: write the customer as Name <address>", c.Line))
				continue
			}
			ch.customer = &a
		}
	}
	var helpLines []string
	for _, k := range []string{"status", "assign", "priority", "type", "service", "due"} {
		if h := help[k]; h != "" {
			helpLines = append(helpLines, h)
		}
	}
	return ch, errs, helpLines
}

// assignee resolves an Assign value: "me", "nobody", or a staff name.
func (d *Desk) assignee(who string, from Staff) (Staff, bool) {
	switch strings.ToLower(strings.TrimSpace(who)) {
	case "me", "myself", "я", "мне", "мені", "себе":
		return from, true
	case "nobody", "none", "-", "никто", "никому", "ніхто", "нікому":
		return Staff{}, true
	}
	return d.cfg.StaffByName(who)
}

func (d *Desk) staffNames() string {
	var names []string
	for _, s := range d.cfg.Staff {
		local, _, _ := strings.Cut(s.Email, "@")
		names = append(names, fmt.Sprintf("%s (%s)", local, s.Name))
	}
	return strings.Join(names, ", ")
}

var angleAddress = regexp.MustCompile(`^\s*"?([^"<]*?)"?\s*<\s*([^<>\s]+@[^<>\s]+)\s*>\s*$`)

// parseAddress reads "Name <addr>" or a bare address.
func parseAddress(s string) (Address, bool) {
	if m := angleAddress.FindStringSubmatch(s); m != nil {
		return Address{Email: strings.ToLower(m[2]), Name: strings.TrimSpace(m[1])}, true
	}
	s = strings.TrimSpace(s)
	if local, domain, ok := strings.Cut(s, "@"); ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " <>") {
		return Address{Email: strings.ToLower(s)}, true
	}
	return Address{}, false
}
