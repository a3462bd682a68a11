package parser

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// trimPHP trims what PHP's trim() does, as MediaWiki trims a named
// parameter's name and value.
func trimPHP(s string) string {
	i, j := 0, len(s)
	for i < j && isPHPSpace(s[i]) {
		i++
	}
	for j > i && isPHPSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// isPHPSpace reports whether trimPHP trims c.
func isPHPSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0 || c == '\x0b'
}

// lineCounter turns byte offsets into 1-based line numbers; it is fastest
// when asked in increasing order.
type lineCounter struct {
	text string
	off  int // an offset already counted
	line int // the line of off
}

func newLineCounter(text string) *lineCounter {
	return &lineCounter{text: text, line: 1}
}

// at returns the line of offset off.
func (c *lineCounter) at(off int) int {
	off = min(max(off, 0), len(c.text))
	if off < c.off {
		c.off, c.line = 0, 1
	}
	c.line += strings.Count(c.text[c.off:off], "\n")
	c.off = off
	return c.line
}

// titleSpace reports whether r is one of the characters a title treats as
// a space, as MediaWiki's title code does.
func titleSpace(r rune) bool {
	switch r {
	case ' ', '_', '\u00a0', '\u1680', '\u180e', '\u2028', '\u2029', '\u202f',
		'\u205f', '\u3000':
		return true
	}
	return r >= '\u2000' && r <= '\u200a'
}

// directionMark reports whether r is a directional mark, which titles drop.
func directionMark(r rune) bool {
	return r == '\u200e' || r == '\u200f' || r >= '\u202a' && r <= '\u202e'
}

// collapseSpaces turns underscores and runs of spaces into single spaces,
// drops directional marks, and trims spaces at both ends.
func collapseSpaces(s string) string {
	if isPlainTitle(s) {
		return s
	}
	var b strings.Builder
	pending := false
	for _, r := range s {
		switch {
		case directionMark(r):
			continue
		case titleSpace(r):
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isPlainTitle reports whether s is ASCII without underscores, doubled
// spaces or spaces at its ends: collapseSpaces would not change it.
func isPlainTitle(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return s == ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c == '_' || c == ' ' && s[i+1] == ' ' {
			return false
		}
	}
	return true
}

// upperFirst uppercases the first letter of s.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsUpper(r) {
		return s
	}
	u := unicode.ToUpper(r)
	if u == r {
		return s
	}
	return string(u) + s[n:]
}

// maxNameBytes bounds a template's name: a title is at most 255 bytes,
// and a prefix and spacing take some more.
const maxNameBytes = 512

// templateName returns the page a template call's name stands for, as
// "Template:Name" or, with a leading colon, a main-namespace "Name"; "" if
// the name cannot be a page (a parser function, a variable, a template
// inside the name). Only the English and canonical "Template:" prefix is
// known.
func templateName(raw string) string {
	s := trimPHP(raw)
	if len(s) > maxNameBytes {
		return "" // and no scan of a name that runs on to the end of the page
	}
	for _, p := range []string{"safesubst:", "msg:"} {
		if hasPrefixFold(s, p) {
			s = trimPHP(s[len(p):])
		}
	}
	if strings.Contains(s, "&") {
		if dec, fault := decodeReferences(s); fault == "" {
			s = dec // {{Delivery&#32;request}} names the template too
		}
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i] // {{Name#part}} transcludes Name
	}
	if strings.ContainsAny(s, "{}[]|<>\n") {
		return ""
	}
	s = collapseSpaces(s)
	ns := "Template:"
	if strings.HasPrefix(s, ":") {
		s, ns = collapseSpaces(s[1:]), ""
	}
	if rest, ok := cutNamespace(s, "template"); ok {
		s, ns = rest, "Template:"
	}
	if s == "" {
		return ""
	}
	return ns + upperFirst(s)
}

// cutNamespace returns s without a leading "name:" prefix (any case,
// spaces around the colon) and whether it had one.
func cutNamespace(s, name string) (string, bool) {
	if !hasPrefixFold(s, name) {
		return s, false
	}
	rest := strings.TrimLeft(s[len(name):], " ")
	if !strings.HasPrefix(rest, ":") {
		return s, false
	}
	return strings.TrimLeft(rest[1:], " "), true
}
