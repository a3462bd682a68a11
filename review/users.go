package review

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// normalUser returns a user name as MediaWiki writes it: spaces for
// underscores, trimmed, first letter in upper case, no "@appid".
func normalUser(name string) string {
	name, _, _ = strings.Cut(name, "@")
	name = strings.TrimSpace(strings.ReplaceAll(name, "_", " "))
	r, size := utf8.DecodeRuneInString(name)
	if size == 0 {
		return name
	}
	return string(unicode.ToUpper(r)) + name[size:]
}

// linkedUsers returns the user names whose user or user talk pages text
// links to, read with the home wiki's namespace names.
func (r *Reviewer) linkedUsers(text string) []string {
	var names []string
	for {
		start := strings.Index(text, "[[")
		if start < 0 {
			return names
		}
		text = text[start+2:]
		end := strings.Index(text, "]]")
		if end < 0 {
			return names
		}
		target, _, _ := strings.Cut(text[:end], "|")
		text = text[end+2:]
		t, err := r.cfg.Site.Normalize(target)
		if err != nil || (t.Namespace() != 2 && t.Namespace() != 3) {
			continue
		}
		user, _, _ := strings.Cut(t.Text(), "/")
		names = append(names, normalUser(user))
	}
}
