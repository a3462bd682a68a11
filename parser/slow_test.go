package parser

import (
	"strings"
	"testing"
	"time"
)

// TestPathologicalPagesStayFast reads pages built to make a reader do work
// that grows as the square of their length; each once took tens of
// seconds (a long run of braces matched a few at a time, names and
// excerpts that ran on to the end of the page). Read linearly, each takes
// well under a second; the limit is loose so that a busy machine passes.
func TestPathologicalPagesStayFast(t *testing.T) {
	const n = 20000
	pages := map[string]string{
		"unclosed requests": strings.Repeat("{{Delivery request|", n),
		"nested requests": strings.Repeat("{{Delivery request|message=", n) +
			strings.Repeat("}}", n),
		"nested templates":      strings.Repeat("{{a|", n) + strings.Repeat("}}", n),
		"a long run of braces":  strings.Repeat("{", 30*n) + strings.Repeat("}", 10*n),
		"a long run of links":   strings.Repeat("[", 30*n) + strings.Repeat("]", 10*n),
		"links and braces":      strings.Repeat("[[{{", n),
		"language blocks":       strings.Repeat("-{", n),
		"unclosed tags":         strings.Repeat("<nowiki><pre>", n),
		"comments on lines":     strings.Repeat("<!-- a -->\n", n),
		"unclosed links":        strings.Repeat("* [[a\n", n),
		"headings":              strings.Repeat("\n==", n),
		"character references":  strings.Repeat("&amp;", n),
		"names with no end":     strings.Repeat("{{a&", n),
		"a JSON list, deep":     strings.Repeat(`{"x":[`, n),
		"template after a link": strings.Repeat("[[a|{{b}}", n),
	}
	for name, page := range pages {
		start := time.Now()
		ParseRequests(page)
		ParseList(page, ListOptions{})
		BotsAllowed(page, "Courier", "")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: %v for %d bytes", name, d, len(page))
		}
	}
}
