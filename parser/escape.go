package parser

import (
	"fmt"
	"strings"
)

// valueEscapes are the characters EscapeValue writes as entities, so that
// a value can neither open nor close anything in the template around it,
// nor be turned into a signature when the page is saved.
var valueEscapes = strings.NewReplacer(
	"|", "{{!}}",
	"{", "&#123;",
	"}", "&#125;",
	"<", "&lt;",
	">", "&gt;",
	"\r\n", " ",
	"\r", " ",
	"\n", " ",
)

// bracketEscapes also writes brackets as entities, for a value whose
// links do not close.
var bracketEscapes = strings.NewReplacer("[", "&#91;", "]", "&#93;")

// EscapeValue returns v as a parameter value that stays one value of one
// template: "|" becomes {{!}}, braces and angle brackets become entities
// (no template, comment or tag can start or end inside it), newlines become
// spaces, "~~~" cannot become a signature, a leading "=" cannot start a
// heading, and brackets become entities unless its links all close. It is
// trimmed as MediaWiki trims values, so a request read back holds exactly
// EscapeValue(v).
func EscapeValue(v string) string {
	s := trimPHP(valueEscapes.Replace(v))
	s = escapeTildes(s)
	if strings.HasPrefix(s, "=") {
		s = "&#61;" + s[1:]
	}
	if !inert(s) {
		s = bracketEscapes.Replace(s)
	}
	return s
}

// escapeTildes writes each tilde of a run of three or more as an entity.
func escapeTildes(s string) string {
	if !strings.Contains(s, "~~~") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		n := 0
		for i+n < len(s) && s[i+n] == '~' {
			n++
		}
		switch {
		case n >= 3:
			b.WriteString(strings.Repeat("&#126;", n))
		case n > 0:
			b.WriteString(s[i : i+n])
		default:
			b.WriteByte(s[i])
			n = 1
		}
		i += n
	}
	return b.String()
}

// inert reports whether value v, alone in a template, leaves that template
// one template with one parameter whose value is v.
func inert(v string) bool {
	src := "{{x|v=" + v + "}}"
	d := parse(src)
	if len(d.nodes) == 0 || len(d.unclosed) > 0 {
		return false
	}
	n := d.nodes[len(d.nodes)-1]
	if n.kind != kindTemplate || n.start != 0 || n.end != len(src) || n.b-n.a != 2 {
		return false
	}
	p := d.parts[n.a+1]
	return p.eq == 5 && trimPHP(d.strip(p.eq+1, p.end)) == v
}

// verifyWrite checks a write-back: before and after are the requests of
// the old and the new text, k the one written, esc the values written.
// Every other request must be unchanged, the written one must read back
// the values, and without Courier's parameters both pages must be the
// same bytes.
func verifyWrite(before []Request, k int, after []Request, old, out string,
	esc map[string]string) error {
	if len(after) != len(before) {
		return fmt.Errorf("%w: %d requests became %d", ErrUnsafe, len(before), len(after))
	}
	for i := range before {
		a, b := before[i], after[i]
		// An unclosed request runs to the end of the page, over the one
		// written; the comparison without owned parameters covers it.
		if i != k && !a.Unclosed && old[a.Start:a.End] != out[b.Start:b.End] {
			return fmt.Errorf("%w: the request on line %d changed", ErrUnsafe, a.Line)
		}
	}
	r := after[k]
	for name, v := range esc {
		if got, _ := r.Get(name); got != v {
			return fmt.Errorf("%w: %s reads back as %q, not %q", ErrUnsafe, name, got, v)
		}
	}
	if withoutOwned(old, before[k]) != withoutOwned(out, r) {
		return fmt.Errorf("%w: bytes outside Courier's parameters changed", ErrUnsafe)
	}
	return nil
}

// withoutOwned returns text without r's owned parameters, each from its
// "|" to the next "|" or "}}".
func withoutOwned(text string, r Request) string {
	var b strings.Builder
	pos := 0
	for _, p := range r.Params {
		if p.Positional || !isOwned(p.Name) {
			continue
		}
		b.WriteString(text[pos:p.Start])
		pos = p.End
	}
	b.WriteString(text[pos:])
	return b.String()
}
