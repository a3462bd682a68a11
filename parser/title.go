package parser

import (
	"errors"
	"fmt"
	"html"
	"strings"
	"unicode/utf8"
)

// Namespace is one namespace of a wiki, as the API's siteinfo describes it.
type Namespace struct {
	ID          int      // 0 main, 1 Talk, 2 User, 3 User talk, 4 Project, -1 Special ...
	Name        string   // local name, e.g. "Meta" for 4 on Meta-Wiki, "" for 0
	Canonical   string   // canonical name, e.g. "Project"
	Aliases     []string // namespacealiases, e.g. "WP"
	FirstLetter bool     // case == "first-letter" (false: case-sensitive)
}

// The namespaces whose numbers Courier needs.
const (
	NSMedia    = -2
	NSSpecial  = -1
	NSMain     = 0
	NSUser     = 2
	NSUserTalk = 3
)

// Site is the title rules of one wiki: its namespaces.
type Site struct {
	byID   map[int]Namespace
	byName map[string]int // folded name, canonical name or alias -> id
}

// NewSite builds the title rules of one wiki.
func NewSite(namespaces []Namespace) *Site {
	s := &Site{byID: map[int]Namespace{}, byName: map[string]int{}}
	for _, ns := range namespaces {
		s.byID[ns.ID] = ns
		for _, name := range append([]string{ns.Name, ns.Canonical}, ns.Aliases...) {
			if key := foldName(name); key != "" {
				s.byName[key] = ns.ID
			}
		}
	}
	if _, ok := s.byID[NSMain]; !ok {
		s.byID[NSMain] = Namespace{ID: NSMain, FirstLetter: true}
	}
	return s
}

// foldName returns the form of a namespace name that matches it in any
// case and spacing.
func foldName(name string) string {
	return strings.ToLower(collapseSpaces(name))
}

// DefaultNamespaces returns the standard namespaces of an English-language
// MediaWiki whose project namespace is named projectName ("Project" if
// empty): a table for tests and offline use.
func DefaultNamespaces(projectName string) []Namespace {
	if projectName == "" {
		projectName = "Project"
	}
	ns := func(id int, name, canonical string, aliases ...string) Namespace {
		return Namespace{ID: id, Name: name, Canonical: canonical, Aliases: aliases,
			FirstLetter: true}
	}
	return []Namespace{
		ns(NSMedia, "Media", "Media"), ns(NSSpecial, "Special", "Special"),
		ns(NSMain, "", ""), ns(1, "Talk", "Talk"),
		ns(NSUser, "User", "User"), ns(NSUserTalk, "User talk", "User talk"),
		ns(4, projectName, "Project"), ns(5, projectName+" talk", "Project talk"),
		ns(6, "File", "File", "Image"), ns(7, "File talk", "File talk", "Image talk"),
		ns(8, "MediaWiki", "MediaWiki"), ns(9, "MediaWiki talk", "MediaWiki talk"),
		ns(10, "Template", "Template"), ns(11, "Template talk", "Template talk"),
		ns(12, "Help", "Help"), ns(13, "Help talk", "Help talk"),
		ns(14, "Category", "Category"), ns(15, "Category talk", "Category talk"),
	}
}

// Title is a normalised page title of one wiki. Titles of one Site compare
// equal with == exactly when they name the same page.
type Title struct {
	ns     int
	text   string // the title without its namespace, spaces not underscores
	prefix string // the namespace's local name; "" in the main namespace
}

// Namespace returns the number of t's namespace.
func (t Title) Namespace() int { return t.ns }

// Text returns t without its namespace prefix.
func (t Title) Text() string { return t.text }

// String returns the full title as MediaWiki writes it, with the local
// name of its namespace: "User talk:Alice smith".
func (t Title) String() string {
	if t.prefix == "" {
		return t.text
	}
	return t.prefix + ":" + t.text
}

// IsTalk reports whether t is in a talk namespace.
func (t Title) IsTalk() bool { return t.ns > 0 && t.ns%2 == 1 }

// ErrNoTalk is the error of Talk for a page that has no talk page: a
// special or media page, or one whose wiki has no talk namespace for it.
var ErrNoTalk = errors.New("no talk namespace")

// TitleError is a title MediaWiki would refuse, and why.
type TitleError struct {
	Title  string // as given
	Reason string // a sentence
}

// Error returns the title and the reason.
func (e *TitleError) Error() string {
	return fmt.Sprintf("invalid title %q: %s", e.Title, e.Reason)
}

// Normalize returns the title raw names on the site: character references
// decoded, underscores and runs of spaces made single spaces, a leading
// colon dropped, the namespace prefix matched in any case against the
// namespaces' local and canonical names and aliases, and the first letter
// uppercased where the namespace does so. Titles MediaWiki refuses are an
// error that says why. (MediaWiki also applies Unicode NFC normalisation;
// Normalize does not.)
func (s *Site) Normalize(raw string) (Title, error) {
	bad := func(reason string) (Title, error) {
		return Title{}, &TitleError{Title: raw, Reason: reason}
	}
	if !utf8.ValidString(raw) {
		return bad("it is not valid UTF-8.")
	}
	text, reason := decodeReferences(raw)
	if reason != "" {
		return bad(reason)
	}
	text = collapseSpaces(text)
	if strings.HasPrefix(text, ":") {
		text = collapseSpaces(text[1:])
	}
	t := Title{ns: NSMain}
	if i := strings.IndexByte(text, ':'); i > 0 {
		if id, ok := s.byName[foldName(text[:i])]; ok {
			t.ns, text = id, collapseSpaces(text[i+1:])
		}
	}
	if reason := titleFault(text, t.ns); reason != "" {
		return bad(reason)
	}
	return s.title(t.ns, text), nil
}

// title builds the title text in namespace ns, applying its case rule.
func (s *Site) title(ns int, text string) Title {
	info := s.byID[ns]
	if info.FirstLetter {
		text = upperFirst(text)
	}
	prefix := info.Name
	if prefix == "" && ns != NSMain {
		prefix = info.Canonical
	}
	return Title{ns: ns, text: text, prefix: prefix}
}

// decodeReferences decodes HTML character references in s, as MediaWiki
// does before reading a title; a reference it does not know is a fault.
func decodeReferences(s string) (string, string) {
	if !strings.Contains(s, "&") {
		return s, ""
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], ';')
		if j < 0 || !isReferenceName(s[i+1:i+j]) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		ref := s[i : i+j+1]
		dec := html.UnescapeString(ref)
		if !decoded(ref, dec) {
			return "", fmt.Sprintf("it holds %s, which is not a character MediaWiki knows.", ref)
		}
		b.WriteString(s[:i] + dec)
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String(), ""
}

// decoded reports whether dec is what reference ref stands for, not ref
// left as it was or decoded only in part ("&ampx;" gives "&x;").
func decoded(ref, dec string) bool {
	if dec == ref || strings.ContainsRune(dec, utf8.RuneError) {
		return false
	}
	return dec == ";" || !strings.HasSuffix(dec, ";")
}

// isReferenceName reports whether s could be the inside of a character
// reference: a name, or # and a number.
func isReferenceName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !('0' <= c && c <= '9') && c < utf8.RuneSelf && !(i == 0 && c == '#') {
			return false
		}
	}
	return true
}

// titleFault returns why text, the part of a title after its namespace,
// cannot be a title of namespace ns, or "".
func titleFault(text string, ns int) string {
	switch {
	case text == "":
		return "it is empty."
	case strings.ContainsRune(text, utf8.RuneError):
		return "it holds an invalid character (U+FFFD)."
	case text[0] == ':':
		return "it has a colon right after the namespace."
	case strings.Contains(text, "~~~"):
		return "it holds three tildes (~~~), which MediaWiki turns into a signature."
	case ns != NSSpecial && len(text) > 255 || len(text) > 512:
		return fmt.Sprintf("it is %d bytes long, more than the 255 a title may have.",
			len(text))
	case isRelativePath(text):
		return "it is a relative path (. or .. between slashes)."
	}
	return illegalChar(text)
}

// illegalChar returns why text holds a character or sequence titles may
// not hold, or "".
func illegalChar(text string) string {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if !badTitleByte[c] {
			continue
		}
		switch {
		case c < ' ' || c == 0x7f:
			return fmt.Sprintf("it holds the control character %U.", rune(c))
		case c != '%':
			return fmt.Sprintf("it holds the character %q, which titles cannot hold.", c)
		case i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]):
			return fmt.Sprintf("it holds %q, a percent-encoded character: write the "+
				"character itself.", text[i:i+3])
		}
	}
	return ""
}

// badTitleByte marks the bytes illegalChar looks at: those titles cannot
// hold, and "%", which may start a percent-encoded one.
var badTitleByte = func() (t [256]bool) {
	for c := 0; c < ' '; c++ {
		t[c] = true
	}
	for _, c := range []byte("#<>[]|{}%\x7f") {
		t[c] = true
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isRelativePath reports whether text is ".", "..", or has such a segment
// between slashes, which MediaWiki refuses in titles.
func isRelativePath(text string) bool {
	if !strings.Contains(text, ".") {
		return false
	}
	return text == "." || text == ".." ||
		strings.HasPrefix(text, "./") || strings.HasPrefix(text, "../") ||
		strings.Contains(text, "/./") || strings.Contains(text, "/../") ||
		strings.HasSuffix(text, "/.") || strings.HasSuffix(text, "/..")
}

// Talk returns the talk page of t: t itself when it is one. Special and
// Media pages have none: the error is then ErrNoTalk.
func (s *Site) Talk(t Title) (Title, error) {
	if t.IsTalk() {
		return t, nil
	}
	if t.ns < 0 {
		return Title{}, fmt.Errorf("find talk page of %q: %w", t.String(), ErrNoTalk)
	}
	if _, ok := s.byID[t.ns+1]; !ok {
		return Title{}, fmt.Errorf("find talk page of %q in namespace %d: %w", t.String(),
			t.ns+1, ErrNoTalk)
	}
	return s.title(t.ns+1, t.text), nil
}

// UserToTalk returns the user talk page of a User: page, subpages kept
// ("User:Bob/Inbox" gives "User talk:Bob/Inbox"), and any other title as
// it is.
func (s *Site) UserToTalk(t Title) Title {
	if t.ns != NSUser {
		return t
	}
	talk, err := s.Talk(t)
	if err != nil {
		return t // a wiki without a User talk namespace
	}
	return talk
}
