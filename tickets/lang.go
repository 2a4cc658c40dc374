package tickets

import (
	"strings"
	"unicode"
)

// DetectLang guesses the language to write to a customer in from their
// first mail: Cyrillic with letters only Ukrainian has (і, ї, є, ґ) is
// Ukrainian, other Cyrillic is Russian, anything else gets fallback.
// Cyrillic must outweigh Latin letters, so a Russian name in an English
// signature does not count.
func DetectLang(text, fallback string) string {
	var cyrillic, latin, ukrainian int
	for _, r := range text {
		switch {
		case unicode.Is(unicode.Cyrillic, r):
			cyrillic++
			if strings.ContainsRune("іїєґІЇЄҐ", r) {
				ukrainian++
			}
		case unicode.Is(unicode.Latin, r):
			latin++
		}
	}
	switch {
	case cyrillic == 0 || cyrillic < latin:
		return fallback
	case ukrainian > 0:
		return "uk"
	default:
		return "ru"
	}
}
