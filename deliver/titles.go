package deliver

import "strings"

// normalize returns the namespace and full title of raw on l's wiki, as
// MediaWiki writes it; ok is false for a title the wiki would refuse.
func (l *lane) normalize(raw string) (ns int, full string, ok bool) {
	site, _, _ := l.state()
	t, err := site.Normalize(raw)
	if err != nil {
		return 0, "", false
	}
	return t.Namespace(), t.String(), true
}

// talkOf returns the user talk page of a user page, subpages kept.
func (l *lane) talkOf(full string) (int, string) {
	site, _, _ := l.state()
	t, err := site.Normalize(full)
	if err != nil {
		return 0, full
	}
	t = site.UserToTalk(t)
	return t.Namespace(), t.String()
}

// split returns the namespace of a full title and its text without the
// namespace prefix. A title the wiki refuses is returned whole, in the
// main namespace.
func (l *lane) split(full string) (int, string) {
	site, _, _ := l.state()
	t, err := site.Normalize(full)
	if err != nil {
		return nsMain, strings.TrimSpace(full)
	}
	return t.Namespace(), t.Text()
}
