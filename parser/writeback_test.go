package parser

import (
	"errors"
	"math/rand"
	"strings"
	"testing"
)

func TestWriteBackLayouts(t *testing.T) {
	tests := []struct {
		name, page string
		values     map[string]string
		want       string
	}{{
		name: "lines of their own, aligned, before a closing line",
		page: "{{Delivery request\n| list    = L\n| subject = S\n| message = M\n}}",
		values: map[string]string{"status": "pending", "id": "42",
			"note": "500 targets"},
		want: "{{Delivery request\n| list    = L\n| subject = S\n| message = M\n" +
			"| status  = pending\n| id      = 42\n| note    = 500 targets\n}}",
	}, {
		name:   "indented closing braces",
		page:   "{{Delivery request\n  |list=L\n  |subject=S\n  |message=M\n  }}",
		values: map[string]string{"status": "pending"},
		want:   "{{Delivery request\n  |list=L\n  |subject=S\n  |message=M\n  |status=pending\n  }}",
	}, {
		name:   "closing braces after the message",
		page:   "{{Delivery request\n| list = L\n| subject = S\n| message = M ~~~~}}",
		values: map[string]string{"status": "pending", "id": "42"},
		want: "{{Delivery request\n| list = L\n| subject = S\n| status = pending\n" +
			"| id = 42\n| message = M ~~~~}}",
	}, {
		name:   "inline",
		page:   "{{Delivery request|list=L|subject=S|message=M}} after",
		values: map[string]string{"status": "done", "result": "5 delivered"},
		want:   "{{Delivery request|list=L|subject=S|message=M|status=done|result=5 delivered}} after",
	}, {
		name:   "inline with spaces",
		page:   "{{Delivery request | list = L | subject = S | message = M }}",
		values: map[string]string{"status": "done"},
		want:   "{{Delivery request | list = L | subject = S | message = M | status = done }}",
	}, {
		name:   "no parameters",
		page:   "{{Delivery request}}",
		values: map[string]string{"status": "rejected", "note": "No list."},
		want:   "{{Delivery request|status=rejected|note=No list.}}",
	}, {
		name: "replacing keeps comments and spaces",
		page: "{{Delivery request\n| list = L\n| subject = S\n| message = M\n" +
			"| status = approved <!-- by Bob -->\n| note =\n}}",
		values: map[string]string{"status": "delivering", "note": "120/500"},
		want: "{{Delivery request\n| list = L\n| subject = S\n| message = M\n" +
			"| status = delivering <!-- by Bob -->\n| note = 120/500\n}}",
	}, {
		name:   "replacing an empty value before the closing braces",
		page:   "{{Delivery request | list = L | status = }}",
		values: map[string]string{"status": "pending", "id": "7"},
		want:   "{{Delivery request | list = L | status = pending | id = 7 }}",
	}, {
		name:   "the last of a doubled parameter",
		page:   "{{Delivery request|status=a|list=L|status=b}}",
		values: map[string]string{"status": "c"},
		want:   "{{Delivery request|status=a|list=L|status=c}}",
	}, {
		name:   "values that would break the template",
		page:   "{{Delivery request|list=L}}",
		values: map[string]string{"note": "a|b}}{{c\nd ~~~~ [[x|y]] <!--"},
		want: "{{Delivery request|list=L|note=a{{!}}b&#125;&#125;&#123;&#123;c d " +
			"&#126;&#126;&#126;&#126; [[x{{!}}y]] &lt;!--}}",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ParseRequests(tc.page)[0]
			got, err := WriteBack(tc.page, RefOf(r), tc.values)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			checkWriteBack(t, tc.page, got, r, tc.values)
		})
	}
}

func TestWriteBackFindsItsRequest(t *testing.T) {
	page := "== A ==\n{{Delivery request|list=L|id=10}}\ntext\n== B ==\n" +
		"{{Delivery request|list=M}}\n{{Delivery request|list=N|id=10}}x"
	reqs := ParseRequests(page)
	status := map[string]string{"status": "x"}
	for _, tc := range []struct {
		name   string
		ref    Ref
		values map[string]string
		want   error
	}{
		{"two requests with id 10", Ref{ID: "10"}, status, ErrAmbiguous},
		{"id 10 at an offset neither has", Ref{ID: "10", Offset: 5}, status, ErrAmbiguous},
		{"no id 11", Ref{ID: "11"}, status, ErrNoRequest},
		{"no request at offset 3", Ref{Offset: 3}, status, ErrNoRequest},
		{"writing list", RefOf(reqs[1]), map[string]string{"list": "x"}, ErrNotOwned},
	} {
		if _, err := WriteBack(page, tc.ref, tc.values); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	got, err := WriteBack(page, RefOf(reqs[2]), status)
	if err != nil || !strings.HasSuffix(got, "list=N|id=10|status=x}}x") {
		t.Errorf("id 10 at the second one's offset: %v\n%s", err, got)
	}
	got, err = WriteBack(page, RefOf(reqs[1]), map[string]string{"id": "12"})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(page, "list=M}}", "list=M|id=12}}", 1)
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	open := "{{Delivery request|list=L|message=<!-- }}"
	if _, err := WriteBack(open, Ref{}, status); !errors.Is(err, ErrUnclosed) {
		t.Errorf("unclosed: %v, want ErrUnclosed", err)
	}
}

func TestEscapeValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"  trimmed\n", "trimmed"},
		{"a|b", "a{{!}}b"},
		{"{{x}}", "&#123;&#123;x&#125;&#125;"},
		{"-{a}-", "-&#123;a&#125;-"},
		{"<!-- x -->", "&lt;!-- x --&gt;"},
		{"two\nlines", "two lines"},
		{"~~~~", "&#126;&#126;&#126;&#126;"},
		{"~ and ~~", "~ and ~~"},
		{"=x", "&#61;x"},
		{"[[Log/1|details]]", "[[Log/1{{!}}details]]"},
		{"[[unclosed", "&#91;&#91;unclosed"},
		{"[single] and ]]", "[single] and ]]"},
	}
	for _, tc := range tests {
		if got := EscapeValue(tc.in); got != tc.want {
			t.Errorf("EscapeValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestWriteBackProperty writes random values into random requests of
// random pages shaped like request pages, and checks every write-back:
// it succeeds, the other requests and the text around are unchanged,
// the values read back, and removing Courier's parameters from old and
// new page gives the same bytes. Each page then goes through a request's
// life: pending with an id, delivering, done.
func TestWriteBackProperty(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	n, written := 3000, 0
	if testing.Short() {
		n = 300
	}
	defer func() {
		if !t.Failed() && written < n {
			t.Errorf("only %d write-backs in %d pages: the generator makes too few requests",
				written, n)
		}
	}()
	for i := 0; i < n; i++ {
		page := randomPage(rng)
		reqs := closedRequests(ParseRequests(page))
		if len(reqs) == 0 {
			continue
		}
		r := reqs[rng.Intn(len(reqs))]
		for _, values := range lifecycle(rng) {
			out, err := WriteBack(page, RefOf(r), values)
			if errors.Is(err, ErrAmbiguous) && countID(reqs, r.ID) > 1 {
				break
			}
			if err != nil {
				t.Fatalf("page %d: %v\n%s", i, err, page)
			}
			checkWriteBack(t, page, out, r, values)
			written++
			page, reqs = out, closedRequests(ParseRequests(out))
			r = requestAt(reqs, r.Start)
		}
	}
}

func requestAt(reqs []Request, start int) Request {
	for _, r := range reqs {
		if r.Start == start {
			return r
		}
	}
	return Request{}
}

// lifecycle returns the write-backs of one request's life, with random
// notes.
func lifecycle(rng *rand.Rand) []map[string]string {
	return []map[string]string{
		{"status": "pending", "id": "1234", "note": randomValue(rng)},
		{"status": "delivering", "progress": "120/500", "note": ""},
		{"status": "done", "progress": "500/500", "result": randomValue(rng)},
	}
}

// valueBits are the pieces random values are made of: everything that
// could break a template.
var valueBits = []string{
	"|", "{{", "}}", "{", "}", "[[", "]]", "[", "]", "<!--", "-->", "<nowiki>",
	"</nowiki>", "<pre>", "\n", "\r\n", "=", "==", "~~~~", "~", "-{", "}-", "a", " ",
	"é", "&amp;", "{{!}}", "''", "<", ">", "#", ":", "\t", "x y", "<ref>", "-",
}

func randomValue(rng *rand.Rand) string {
	var b strings.Builder
	for k := rng.Intn(8); k >= 0; k-- {
		b.WriteString(valueBits[rng.Intn(len(valueBits))])
	}
	return b.String()
}

// messageBits are valid message wikitext, awkward for a parser.
var messageBits = []string{
	"Hello [[Tech/News|this week]] {{!}} ~~~~", "<nowiki>|}}{{</nowiki>",
	"a <!-- | }} --> b", "{{Tech News|2026|49}}", "line one\n\nline two",
	"<pre>| x }}</pre>", "x -{a|b}- y", "{{#if:x|y|z}}", "[[File:A.png|thumb|cap]]",
	"\n== Heading in a message ==\n", "{{{1|default}}}", "<ref>a|b</ref>",
	"\n<!-- a comment line -->\n", "'''bold''' & [https://example.org link]",
}

// randomRequest returns a request call in a random layout.
func randomRequest(rng *rand.Rand) string {
	multi := rng.Intn(3) > 0
	indent := []string{"", " ", "  "}[rng.Intn(3)]
	eq := []string{"=", " = ", " =", "= "}[rng.Intn(4)]
	names := []string{"list", "subject", "message"}
	if rng.Intn(4) == 0 {
		names = append(names, Owned[:1+rng.Intn(len(Owned))]...)
	}
	rng.Shuffle(len(names), func(a, b int) { names[a], names[b] = names[b], names[a] })
	var b strings.Builder
	calls := []string{"{{Delivery request", "{{delivery_request ", "{{Template:Delivery request"}
	b.WriteString(calls[rng.Intn(len(calls))])
	for _, name := range names {
		if multi {
			b.WriteString("\n" + indent)
		}
		b.WriteString("|" + name + eq + randomParam(rng, name))
	}
	switch rng.Intn(4) {
	case 0:
		b.WriteString("\n<!-- end -->\n")
	case 1:
		b.WriteString("\n")
	case 2:
		b.WriteString(" ")
	}
	b.WriteString("}}")
	return b.String()
}

func randomParam(rng *rand.Rand, name string) string {
	switch name {
	case "message":
		return messageBits[rng.Intn(len(messageBits))] + " ~~~~"
	case "list":
		return "Project:Message delivery/Lists/Tech"
	case "subject":
		return "Tech News: 2026-49"
	}
	return []string{"", "pending", "approved <!-- Bob -->", "<!-- x -->", "12", " "}[rng.Intn(6)]
}

// randomPage returns a request page: sections of prose and requests.
func randomPage(rng *rand.Rand) string {
	prose := []string{
		"Please file requests below. --[[User:Alice|Alice]] ([[User talk:Alice|talk]]) " +
			"12:00, 3 December 2026 (UTC)\n",
		"<nowiki>{{Delivery request|list=...}}</nowiki> is the syntax.\n",
		"{{Archive top}}\n", "{{Archive bottom}}\n", "<!-- {{Delivery request}} -->\n",
		":Done. ~~~~\n", "* item\n", "{| class=\"wikitable\"\n| a || b\n|}\n",
	}
	var b strings.Builder
	for s := rng.Intn(5); s >= 0; s-- {
		b.WriteString("== Request " + string(rune('A'+s)) + " ==\n")
		for k := rng.Intn(3); k >= 0; k-- {
			if rng.Intn(2) == 0 {
				b.WriteString(prose[rng.Intn(len(prose))])
			} else {
				b.WriteString(randomRequest(rng) + "\n")
			}
		}
	}
	return b.String()
}
