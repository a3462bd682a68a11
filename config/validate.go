package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/BurntSushi/toml"
)

// validator collects problems, each naming its key and, when the file
// wrote the key, its line.
type validator struct {
	path     string
	md       toml.MetaData
	lines    lineIndex
	problems []string
}

// addf records a problem with the key at path.
func (v *validator) addf(key []string, format string, args ...any) {
	name := strings.Join(key, ".")
	where := v.path
	if line := v.lines.key(toml.Key(key)); line > 0 && v.md.IsDefined(key...) {
		where = fmt.Sprintf("%s:%d", v.path, line)
	}
	v.problems = append(v.problems,
		fmt.Sprintf("%s: %s: %s", where, name, fmt.Sprintf(format, args...)))
}

func (v *validator) required(value string, key ...string) {
	if strings.TrimSpace(value) == "" {
		v.addf(key, "missing or empty; it is required")
	}
}

func (v *validator) positive(value int, key ...string) {
	if value <= 0 {
		v.addf(key, "must be a positive number, not %d", value)
	}
}

func (v *validator) nonEmptyList(value []string, key ...string) {
	if len(value) == 0 {
		v.addf(key, "must name at least one group")
	}
	for _, s := range value {
		if strings.TrimSpace(s) == "" {
			v.addf(key, "holds an empty group name")
		}
	}
}

func (v *validator) url(value string, key ...string) {
	u, err := url.Parse(value)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		v.addf(key, "%q is not an http(s) URL", value)
	}
}

// lineIndex finds the line of a key in TOML text. The decoder keeps key
// positions to itself, so this reads the text again: table headers and
// "key =" lines, enough to point an operator at the right line.
type lineIndex struct {
	entries []lineEntry
}

type lineEntry struct {
	line  int
	table string // "home", "wikis"; "" for the top level
	array bool   // a [[table]] header
	key   string // "" for a header line
}

func newLineIndex(text string) lineIndex {
	var idx lineIndex
	table := ""
	for i, raw := range strings.Split(text, "\n") {
		s := strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(s, "[["):
			table = strings.TrimSpace(strings.Trim(cutComment(s), "[] "))
			idx.entries = append(idx.entries, lineEntry{line: i + 1, table: table, array: true})
		case strings.HasPrefix(s, "["):
			table = strings.TrimSpace(strings.Trim(cutComment(s), "[] "))
			idx.entries = append(idx.entries, lineEntry{line: i + 1, table: table})
		default:
			k, _, ok := strings.Cut(s, "=")
			if ok && !strings.HasPrefix(s, "#") {
				k = strings.Trim(strings.TrimSpace(k), `"'`)
				idx.entries = append(idx.entries, lineEntry{line: i + 1, table: table, key: k})
			}
		}
	}
	return idx
}

func cutComment(s string) string {
	before, _, _ := strings.Cut(s, "#")
	return strings.TrimSpace(before)
}

// key returns the line of a key such as home.wiki or wikis.api (the first
// one found), or 0.
func (idx lineIndex) key(k toml.Key) int {
	if len(k) == 0 {
		return 0
	}
	table, name := strings.Join(k[:len(k)-1], "."), k[len(k)-1]
	for _, e := range idx.entries {
		if e.table == table && e.key == name {
			return e.line
		}
	}
	// A whole unknown table: point at its header.
	whole := strings.Join(k, ".")
	for _, e := range idx.entries {
		if e.key == "" && e.table == whole {
			return e.line
		}
	}
	return 0
}

// arrayTable returns the header line of the n-th [[name]] table, or 0.
func (idx lineIndex) arrayTable(name string, n int) int {
	for _, e := range idx.entries {
		if e.array && e.key == "" && e.table == name {
			if n == 0 {
				return e.line
			}
			n--
		}
	}
	return 0
}
