package parser

import (
	"errors"
	"strings"
	"testing"
)

var meta = NewSite(DefaultNamespaces("Meta"))

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ns       int
	}{
		{"user talk:alice_smith", "User talk:Alice smith", 3},
		{"User_talk:Alice smith", "User talk:Alice smith", 3},
		{"  User   talk :  Alice__smith  ", "User talk:Alice smith", 3},
		{"Project:Message delivery/Requests", "Meta:Message delivery/Requests", 4},
		{"meta:Message delivery", "Meta:Message delivery", 4},
		{"Project talk:X", "Meta talk:X", 5},
		{"Image:A.png", "File:A.png", 6},
		{":Talk:Foo", "Talk:Foo", 1},
		{":foo", "Foo", 0},
		{"de:Foo", "De:Foo", 0},
		{"Foo:Bar", "Foo:Bar", 0},
		{"User:Bob/Inbox", "User:Bob/Inbox", 2},
		{"A&amp;B &#39;x&#x27;", "A&B 'x'", 0},
		{"Foo\u200e", "Foo", 0},
		{"élan", "Élan", 0},
		{"Special:RecentChanges", "Special:RecentChanges", -1},
		{"User talk:a/.b/c..", "User talk:A/.b/c..", 3},
	}
	for _, tc := range tests {
		got, err := meta.Normalize(tc.in)
		if err != nil || got.String() != tc.want || got.Namespace() != tc.ns {
			t.Errorf("Normalize(%q) = %q ns %d, %v; want %q ns %d",
				tc.in, got, got.Namespace(), err, tc.want, tc.ns)
		}
	}
	a, _ := meta.Normalize("user talk:alice_smith")
	b, _ := meta.Normalize("User_talk:Alice smith")
	if a != b {
		t.Errorf("%v and %v are one title but differ", a, b)
	}
}

func TestNormalizeRefuses(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"User:", "empty"},
		{"  _ ", "empty"},
		{"Foo#bar", "'#'"},
		{"A<b>", "'<'"},
		{"A[b]", "'['"},
		{"A|b", "'|'"},
		{"A{b}", "'{'"},
		{"A\x01b", "control"},
		{"A%20B", "percent"},
		{".", "relative"},
		{"..", "relative"},
		{"./a", "relative"},
		{"a/../b", "relative"},
		{"a/..", "relative"},
		{"Sig ~~~", "tildes"},
		{strings.Repeat("x", 256), "255"},
		{"User::x", "colon"},
		{"x&foo;", "&foo;"},
		{"\xff", "UTF-8"},
	}
	for _, tc := range tests {
		_, err := meta.Normalize(tc.in)
		var te *TitleError
		if !errors.As(err, &te) || !strings.Contains(te.Reason, tc.reason) {
			t.Errorf("Normalize(%q) = %v, want a refusal naming %q", tc.in, err, tc.reason)
		}
	}
	if _, err := meta.Normalize(strings.Repeat("x", 255)); err != nil {
		t.Errorf("255 bytes: %v", err)
	}
}

func TestCaseSensitiveNamespace(t *testing.T) {
	ns := DefaultNamespaces("Wiktionary")
	for i := range ns {
		ns[i].FirstLetter = false
	}
	s := NewSite(ns)
	got, err := s.Normalize("user talk:alice")
	if err != nil || got.String() != "User talk:alice" {
		t.Errorf("case-sensitive wiki: %q, %v", got, err)
	}
}

func TestTalkPages(t *testing.T) {
	tests := []struct{ in, talk, user string }{
		{"User:Bob", "User talk:Bob", "User talk:Bob"},
		{"User:Bob/Inbox", "User talk:Bob/Inbox", "User talk:Bob/Inbox"},
		{"User talk:Bob", "User talk:Bob", "User talk:Bob"},
		{"Foo", "Talk:Foo", "Foo"},
		{"Project:X", "Meta talk:X", "Meta:X"},
		{"Talk:Foo", "Talk:Foo", "Talk:Foo"},
	}
	for _, tc := range tests {
		title, err := meta.Normalize(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		talk, err := meta.Talk(title)
		if err != nil || talk.String() != tc.talk || !talk.IsTalk() {
			t.Errorf("Talk(%q) = %q, %v; want %q", tc.in, talk, err, tc.talk)
		}
		if got := meta.UserToTalk(title); got.String() != tc.user {
			t.Errorf("UserToTalk(%q) = %q, want %q", tc.in, got, tc.user)
		}
	}
	for _, in := range []string{"Special:Log", "Media:A.png"} {
		title, _ := meta.Normalize(in)
		if _, err := meta.Talk(title); err == nil {
			t.Errorf("Talk(%q): no error", in)
		}
	}
	if title, _ := meta.Normalize("Foo"); title.IsTalk() {
		t.Errorf("Foo is a talk page")
	}
}

func TestSiteNamespaceAliases(t *testing.T) {
	ns := DefaultNamespaces("Wikipedia")
	ns[6].Aliases = append(ns[6].Aliases, "WP")
	s := NewSite(ns)
	got, err := s.Normalize("wp:Village pump")
	if err != nil || got.String() != "Wikipedia:Village pump" {
		t.Errorf("alias: %q, %v", got, err)
	}
}
