package mailin

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// toUTF8 returns b as valid UTF-8 text. Bytes that are not UTF-8 come from a
// charset the mail did not declare (raw 8-bit headers, text parts without a
// charset, charsets nobody knows); for our customers that is almost always
// windows-1251 or koi8-r, so those are guessed before Latin-1. NUL bytes are
// dropped: they are never text, and some clients put them in by mistake.
func toUTF8(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = decode8bit(b)
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return s
}

// decode8bit guesses between windows-1251, koi8-r and windows-1252. Russian
// text is mostly lower-case letters: windows-1251 puts those at 0xE0–0xFF
// and koi8-r at 0xC0–0xDF. Few high bytes mean a Latin text.
func decode8bit(b []byte) string {
	var high, c0, e0 int
	for _, x := range b {
		switch {
		case x >= 0xE0:
			e0++
		case x >= 0xC0:
			c0++
		}
		if x >= 0x80 {
			high++
		}
	}
	cm := charmap.Windows1252
	if c0+e0 > high/2 && c0+e0 >= 2 {
		cm = charmap.Windows1251
		if c0 > e0 {
			cm = charmap.KOI8R
		}
	}
	out, err := cm.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}
