package tickets

import (
	"fmt"
	"strings"
)

// FieldValue is one allowed value of a ticket field. People may write it by
// its name, by any of its labels (the name shown in each language) or by an alias.
type FieldValue struct {
	Name    string            // canonical, e.g. "high"
	Labels  map[string]string // by language: "ru": "Высокий"
	Aliases []string          // further spellings: "срочно", "urgent"
}

// Field is a ticket field with a fixed list of values.
type Field struct {
	Key     string // "type", "priority" or "service"
	Values  []FieldValue
	Default string // "" means the field may stay empty
}

// Fields are the configurable ticket fields.
type Fields struct {
	Type, Priority, Service Field
}

func label(en, ru, uk string) map[string]string {
	return map[string]string{"en": en, "ru": ru, "uk": uk}
}

// The seeds' values (../shared/seeds 000 and 002), with Russian and Ukrainian spellings.
var (
	defaultTypes = []FieldValue{
		{Name: "error", Labels: label("Error", "Ошибка", "Помилка"), Aliases: []string{"bug", "defect", "баг", "дефект", "дефект в программе", "ошибка обмена"}},
		{Name: "question", Labels: label("Question", "Вопрос", "Питання"), Aliases: []string{"consultation", "консультация", "консультація", "вопросы"}},
		{Name: "idea", Labels: label("Idea", "Идея", "Ідея"), Aliases: []string{"есть идея", "suggestion", "предложение", "пропозиція"}},
		{Name: "feature-request", Labels: label("Feature request", "Доработка", "Доопрацювання"), Aliases: []string{"feature", "новый функционал", "новий функціонал", "изменение функционала", "зміна функціоналу"}},
	}
	defaultPriorities = []FieldValue{
		{Name: "medium", Labels: label("Medium", "Средний", "Середній"), Aliases: []string{"normal", "обычный", "звичайний", "средне"}},
		{Name: "high", Labels: label("High", "Высокий", "Високий"), Aliases: []string{"urgent", "срочно", "терміново"}},
		{Name: "blocker", Labels: label("Blocker", "Блокер", "Блокер"), Aliases: []string{"critical", "критический", "критичний", "критично"}},
	}
)

func (f *Fields) defaults() {
	f.Type.Key, f.Priority.Key, f.Service.Key = "type", "priority", "service"
	if len(f.Type.Values) == 0 {
		f.Type.Values = defaultTypes
	}
	if f.Type.Default == "" {
		f.Type.Default = "question"
	}
	if len(f.Priority.Values) == 0 {
		f.Priority.Values = defaultPriorities
	}
	if f.Priority.Default == "" {
		f.Priority.Default = "medium"
	}
	for _, fd := range f.all() {
		for i := range fd.Values {
			v := &fd.Values[i]
			v.Name = strings.ToLower(strings.TrimSpace(v.Name))
			if v.Labels == nil {
				v.Labels = map[string]string{}
			}
		}
	}
}

func (f *Fields) all() []*Field { return []*Field{&f.Type, &f.Priority, &f.Service} }

// ByKey returns the field named key ("type", "priority", "service").
func (f *Fields) ByKey(key string) *Field {
	for _, fd := range f.all() {
		if fd.Key == key {
			return fd
		}
	}
	return nil
}

func (f *Fields) validate() error {
	for _, fd := range f.all() {
		seen := map[string]string{}
		for _, v := range fd.Values {
			if v.Name == "" || strings.ContainsAny(v.Name, " \t[]=\r\n") {
				return fmt.Errorf("fields.%s: value %q must be one word (use dashes)", fd.Key, v.Name)
			}
			for _, s := range append([]string{v.Name}, v.spellings()...) {
				k := normalizeValue(s)
				if other, dup := seen[k]; dup && other != v.Name {
					return fmt.Errorf("fields.%s: %q means both %q and %q", fd.Key, s, other, v.Name)
				}
				seen[k] = v.Name
			}
		}
		if fd.Default != "" {
			if _, ok := fd.Canonical(fd.Default); !ok {
				return fmt.Errorf("fields.%s.default: %q is not one of its values", fd.Key, fd.Default)
			}
		}
	}
	return nil
}

func (v *FieldValue) spellings() []string {
	out := append([]string(nil), v.Aliases...)
	for _, l := range v.Labels {
		out = append(out, l)
	}
	return out
}

// normalizeValue folds case, "ё", dashes, underscores and runs of spaces, so
// "Feature_Request", "feature request" and "Feature-request" are one spelling.
func normalizeValue(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer("ё", "е", "_", " ", "-", " ", "–", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// Canonical maps any spelling of a value to its name.
func (fd *Field) Canonical(s string) (string, bool) {
	k := normalizeValue(s)
	if k == "" {
		return "", false
	}
	for _, v := range fd.Values {
		if normalizeValue(v.Name) == k {
			return v.Name, true
		}
	}
	for _, v := range fd.Values {
		for _, sp := range v.spellings() {
			if normalizeValue(sp) == k {
				return v.Name, true
			}
		}
	}
	return "", false
}

// Label is the name of value in language lang, falling back to English and then the name itself.
func (fd *Field) Label(value, lang string) string {
	for _, v := range fd.Values {
		if v.Name == value {
			if l := v.Labels[lang]; l != "" {
				return l
			}
			if l := v.Labels["en"]; l != "" {
				return l
			}
		}
	}
	return value
}

// Names lists the canonical values, for help texts.
func (fd *Field) Names() []string {
	out := make([]string, len(fd.Values))
	for i, v := range fd.Values {
		out[i] = v.Name
	}
	return out
}

// Help describes the valid values with their labels in lang: "high (Высокий)".
func (fd *Field) Help(lang string) string {
	parts := make([]string, len(fd.Values))
	for i, v := range fd.Values {
		parts[i] = v.Name
		if l := fd.Label(v.Name, lang); !strings.EqualFold(l, v.Name) {
			parts[i] += " (" + l + ")"
		}
	}
	return strings.Join(parts, ", ")
}
