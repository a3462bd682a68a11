package parser

import (
	"encoding/json"
	"strings"
)

// jsonScanner reads MassMessage's JSON list content without reflection,
// for speed on long lists. It is strict JSON, and it gives up (ok false)
// on whatever encoding/json would read by rules it does not copy: keys
// matched in another case or with escapes, nulls, wrong types, deep
// nesting. parseJSONList then decodes with encoding/json instead, so both
// roads give the same list.
type jsonScanner struct {
	s      string
	i      int
	failed bool
	plain  bool // the last string read had no escapes and was ASCII
}

// maxJSONDepth is the nesting the scanner follows before it gives up.
const maxJSONDepth = 100

// scanJSONList returns the list and the offset of each target, or ok
// false.
func scanJSONList(text string) (l jsonList, starts []int, ok bool) {
	r := &jsonScanner{s: text}
	r.object(func(key string) {
		switch key {
		case "description":
			l.Description = r.str()
		case "targets":
			l.Targets, starts = l.Targets[:0], starts[:0]
			r.array(func() {
				starts = append(starts, r.i)
				l.Targets = append(l.Targets, r.target())
			})
		default:
			r.skip(1)
		}
	})
	r.space()
	return l, starts, !r.failed && r.i == len(r.s)
}

type jsonTarget = struct {
	Title string `json:"title"`
	Site  string `json:"site"`
}

func (r *jsonScanner) target() jsonTarget {
	var t jsonTarget
	r.object(func(key string) {
		switch key {
		case "title":
			t.Title = r.str()
		case "site":
			t.Site = r.str()
		default:
			r.skip(2)
		}
	})
	return t
}

func (r *jsonScanner) space() {
	for r.i < len(r.s) {
		if c := r.s[r.i]; c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return
		}
		r.i++
	}
}

// next reports whether byte c comes next, and takes it if so.
func (r *jsonScanner) next(c byte) bool {
	r.space()
	if r.i < len(r.s) && r.s[r.i] == c {
		r.i++
		return true
	}
	return false
}

func (r *jsonScanner) expect(c byte) {
	if !r.next(c) {
		r.failed = true
	}
}

// object reads an object, calling member with each key when the scanner
// stands before its value.
func (r *jsonScanner) object(member func(key string)) {
	r.expect('{')
	if r.failed || r.next('}') {
		return
	}
	for !r.failed {
		key := r.key()
		r.expect(':')
		if r.failed {
			return
		}
		member(key)
		if !r.next(',') {
			r.expect('}')
			return
		}
	}
}

// key reads an object's key; one encoding/json could match to a field in
// another case, or one with escapes, fails.
func (r *jsonScanner) key() string {
	k := r.str()
	switch {
	case !r.plain:
		r.failed = true
	case k == "description" || k == "targets" || k == "title" || k == "site":
	default:
		for _, f := range []string{"description", "targets", "title", "site"} {
			if strings.EqualFold(k, f) {
				r.failed = true
			}
		}
	}
	return k
}

func (r *jsonScanner) array(elem func()) {
	r.expect('[')
	if r.failed || r.next(']') {
		return
	}
	for !r.failed {
		r.space()
		elem()
		if !r.next(',') {
			r.expect(']')
			return
		}
	}
}

// str reads a string. One with escapes or other than ASCII is decoded by
// encoding/json, for its rules on escapes and bad UTF-8.
func (r *jsonScanner) str() string {
	r.expect('"')
	start, plain := r.i, true
	for !r.failed && r.i < len(r.s) {
		switch c := r.s[r.i]; {
		case c == '"':
			r.i++
			if r.plain = plain; plain {
				return r.s[start : r.i-1]
			}
			return r.decode(r.s[start-1 : r.i])
		case c < 0x20:
			r.failed = true
		case c == '\\' && r.i+1 < len(r.s):
			plain = false
			r.i++ // the escaped byte: encoding/json checks the escape
		case c >= 0x80:
			plain = false
		}
		r.i++
	}
	r.failed = true
	return ""
}

func (r *jsonScanner) decode(quoted string) string {
	var s string
	if err := json.Unmarshal([]byte(quoted), &s); err != nil {
		r.failed = true
	}
	return s
}

// skip reads any value at nesting depth.
func (r *jsonScanner) skip(depth int) {
	r.space()
	if r.failed || r.i >= len(r.s) || depth > maxJSONDepth {
		r.failed = true
		return
	}
	switch c := r.s[r.i]; {
	case c == '{':
		r.object(func(string) { r.skip(depth + 1) })
	case c == '[':
		r.array(func() { r.skip(depth + 1) })
	case c == '"':
		r.str()
	case c == 't':
		r.word("true")
	case c == 'f':
		r.word("false")
	default:
		r.number() // null fails here: encoding/json's rules for it are its own
	}
}

func (r *jsonScanner) word(w string) {
	if !strings.HasPrefix(r.s[r.i:], w) {
		r.failed = true
	}
	r.i += len(w)
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?.
func (r *jsonScanner) number() {
	r.take("-")
	if !r.take("0") && r.digits() == 0 {
		r.failed = true
	}
	if r.take(".") && r.digits() == 0 {
		r.failed = true
	}
	if r.take("eE") {
		r.take("+-")
		if r.digits() == 0 {
			r.failed = true
		}
	}
}

// take reports whether one of the bytes in set comes next, and takes it.
func (r *jsonScanner) take(set string) bool {
	if r.i < len(r.s) && strings.IndexByte(set, r.s[r.i]) >= 0 {
		r.i++
		return true
	}
	return false
}

func (r *jsonScanner) digits() int {
	n := 0
	for r.i < len(r.s) && '0' <= r.s[r.i] && r.s[r.i] <= '9' {
		r.i++
		n++
	}
	return n
}
