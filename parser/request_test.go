package parser

import (
	"reflect"
	"strings"
	"testing"
)

const goodRequest = `== Tech News 2026-49 ==
{{Delivery request
| list    = Project:Message delivery/Lists/Tech ambassadors
| subject = Tech News: 2026-49
| message = Hello! This week's issue is out: [[Tech/News/2026/49|read it]]. ~~~~
}}
`

func TestRequestFields(t *testing.T) {
	reqs := ParseRequests(goodRequest)
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	want := Request{
		Section: "Tech News 2026-49", Line: 2, Start: strings.Index(goodRequest, "{{"),
		End:     len(goodRequest) - 1,
		List:    "Project:Message delivery/Lists/Tech ambassadors",
		Subject: "Tech News: 2026-49",
		Message: "Hello! This week's issue is out: [[Tech/News/2026/49|read it]]. ~~~~",
	}
	r.Params = nil
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got\n%+v\nwant\n%+v", r, want)
	}
}

func TestRequestTemplateNames(t *testing.T) {
	tests := []struct {
		call string
		want bool
	}{
		{"{{Delivery request|", true},
		{"{{delivery request|", true},
		{"{{Delivery_request|", true},
		{"{{ Delivery   request \n|", true},
		{"{{Template:Delivery request|", true},
		{"{{template : delivery_request|", true},
		{"{{:Template:Delivery request|", true},
		{"{{safesubst:Delivery request|", true},
		{"{{Delivery request<!-- c -->|", true},
		{"{{Delivery request#x|", true},
		{"{{Delivery&#32;request|", true},
		{"{{Delivery Request|", false},
		{"{{:Delivery request|", false},
		{"{{Delivery requests|", false},
		{"{{User:Delivery request|", false},
		{"{{Delivery\nrequest|", false},
		{"{{{Delivery request|", true},  // "{" then the call, as the closing "}}" has two
		{"{{{{Delivery request|", true}, // the call, in "{{" that never close
	}
	for _, tc := range tests {
		text := tc.call + "list=L|subject=S|message=M}}"
		if got := len(ParseRequests(text)) == 1; got != tc.want {
			t.Errorf("%q is a request: %v, want %v", text, got, tc.want)
		}
	}
}

func TestRequestsThatAreNot(t *testing.T) {
	const call = "{{Delivery request|list=L|subject=S|message=M}}"
	for _, text := range []string{
		"<nowiki>" + call + "</nowiki>",
		"<pre>" + call + "</pre>",
		"<!-- " + call + " -->",
		"<includeonly>" + call + "</includeonly>",
		"<syntaxhighlight lang=\"wikitext\">" + call + "</syntaxhighlight>",
		"{" + call + "}", // a template argument, {{{Delivery request|...}}}
	} {
		if n := len(ParseRequests(text)); n != 0 {
			t.Errorf("%q: %d requests, want 0", text, n)
		}
	}
	nested := "{{Delivery request|list=L|subject=S|message=Use " + call + "}}"
	if n := len(ParseRequests(nested)); n != 1 {
		t.Errorf("a request in a request's message: %d requests, want 1", n)
	}
}

func TestRequestValues(t *testing.T) {
	tests := []struct {
		name, message, want string
	}{
		{"a piped link", "See [[Foo|bar]].", "See [[Foo|bar]]."},
		{"a pipe as {{!}}", "a {{!}} b", "a {{!}} b"},
		{"nested templates", "{{Tech News|2026|49}} {{#if:x|y|z}}",
			"{{Tech News|2026|49}} {{#if:x|y|z}}"},
		{"nowiki with braces and pipes", "<nowiki>{{x|y}}</nowiki>", "<nowiki>{{x|y}}</nowiki>"},
		{"a comment", "a <!-- note | }} --> b", "a  b"},
		{"pre", "<pre>|}}</pre>", "<pre>|}}</pre>"},
		{"several lines", "\n  Line one.\n\n  Line two.  \n", "Line one.\n\n  Line two."},
		// The closing braces match from the left: "{{!}}}}}" is {{!}}, the
		// request's "}}", and a "}" of text after it.
		{"a table's last brace", "{{{!}}\n{{!}} a\n{{!}}}", "{{{!}}\n{{!}} a\n{{!}}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := "{{Delivery request|list=L|subject=S|message=" + tc.message + "}}"
			reqs := ParseRequests(text)
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			if reqs[0].Message != tc.want || len(reqs[0].Problems) != 0 {
				t.Errorf("message %q, problems %v; want %q", reqs[0].Message, reqs[0].Problems, tc.want)
			}
		})
	}
}

func TestRequestProblems(t *testing.T) {
	long := strings.Repeat("x", MaxSubject+1)
	tests := []struct {
		name, body string
		want       []string // problem codes
		line       int      // line of the first problem
	}{
		{"valid", "|list=L|subject=S|message=M", nil, 1},
		{"no list", "|subject=S|message=M", []string{ProblemNoList}, 1},
		{"empty list", "|list= <!-- x -->|subject=S|message=M", []string{ProblemNoList}, 1},
		{"no subject", "|list=L|message=M", []string{ProblemNoSubject}, 1},
		{"subject too long", "|list=L|subject=" + long + "|message=M",
			[]string{ProblemLongSubject}, 1},
		{"subject at the limit", "|list=L|subject=" + long[1:] + "|message=M", nil, 1},
		{"subject on two lines", "|list=L|subject=a\nb|message=M",
			[]string{ProblemSubjectLines}, 1},
		{"message and page", "|list=L|subject=S|message=M|page=P",
			[]string{ProblemBothMessages}, 1},
		{"neither message nor page", "|list=L|subject=S", []string{ProblemNoMessage}, 1},
		{"page alone", "|list=L|subject=S|page=P", nil, 1},
		{"unknown parameter", "|list=L|subject=S|message=M\n|lsit=L",
			[]string{ProblemUnknownParam}, 2},
		{"capitalised parameter", "|list=L|subject=S|message=M|List=L",
			[]string{ProblemUnknownParam}, 1},
		{"a pipe in the message", "|list=L|subject=S\n|message=see [http://x.org|here]",
			[]string{ProblemPositional}, 2},
		{"duplicate parameter", "|list=L|subject=S|message=M\n|subject=T",
			[]string{ProblemDuplicate}, 2},
		{"unknown status", "|list=L|subject=S|message=M|status=aproved",
			[]string{ProblemBadStatus}, 1},
		{"status in capitals", "|list=L|subject=S|message=M|status=Approved", nil, 1},
		{"id not a number", "|list=L|subject=S|message=M|id=12a", []string{ProblemBadID}, 1},
		{"everything missing", "", []string{ProblemNoList, ProblemNoSubject, ProblemNoMessage}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reqs := ParseRequests("{{Delivery request" + tc.body + "}}")
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			var codes []string
			for _, p := range reqs[0].Problems {
				codes = append(codes, p.Code)
				if !strings.Contains(p.Text, "line ") || !strings.HasSuffix(p.Text, ".") {
					t.Errorf("problem %q does not say where, or is not a sentence", p.Text)
				}
			}
			if !reflect.DeepEqual(codes, tc.want) {
				t.Errorf("problems %v, want %v", reqs[0].Problems, tc.want)
			}
			if len(codes) > 0 && reqs[0].Problems[0].Line != tc.line {
				t.Errorf("first problem on line %d, want %d", reqs[0].Problems[0].Line, tc.line)
			}
		})
	}
}

func TestDuplicateLastWins(t *testing.T) {
	r := ParseRequests("{{Delivery request|list=A|list=B|subject=S|message=M}}")[0]
	if r.List != "B" {
		t.Errorf("list = %q, want the last one, B", r.List)
	}
}

func TestUnclosedRequest(t *testing.T) {
	text := "== A ==\n{{Delivery request|list=L|subject=S|message=M <!-- }}\n\n== B ==\n" +
		"{{Delivery request\n|list=L|subject=T|message=M [[foo}}\n"
	reqs := ParseRequests(text)
	if len(reqs) != 1 || !reqs[0].Unclosed || reqs[0].Line != 2 {
		t.Fatalf("got %+v, want one unclosed request on line 2", reqs)
	}
	if p := reqs[0].Problems; len(p) == 0 || p[0].Code != ProblemUnclosed {
		t.Errorf("problems %v, want unclosed first", p)
	}
	reqs = ParseRequests("{{Delivery request|list=L|subject=S|message=[[foo}}\n")
	if len(reqs) != 1 || !reqs[0].Unclosed {
		t.Errorf("an unclosed link: %+v, want an unclosed request", reqs)
	}
}

func TestSections(t *testing.T) {
	text := "{{Delivery request|list=L|subject=0|message=M}}\n" +
		"= Top =\n{{Delivery request|list=L|subject=1|message=M}}\n" +
		"=== Deep <!-- c --> ===\n{{Delivery request|list=L|subject=2|message=M}}\n" +
		"{{Archive|\n== Not a section ==\n}}\n" +
		"<!-- == Hidden == -->\n<nowiki>== Also hidden ==</nowiki>\n" +
		"{{Delivery request|list=L|subject=3|message=M\n== In the request ==\n}}\n" +
		"{{Delivery request|list=L|subject=4|message=M}}\n"
	want := []string{"", "Top", "Deep", "Deep", "Deep"}
	var got []string
	for _, r := range ParseRequests(text) {
		got = append(got, r.Section)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sections %q, want %q", got, want)
	}
}

func TestRequestLines(t *testing.T) {
	text := "a\nb\n{{Delivery request\n|list=L\n\n|subject=S\n|message=M}} {{Delivery request}}"
	reqs := ParseRequests(text)
	if len(reqs) != 2 || reqs[0].Line != 3 || reqs[1].Line != 7 {
		t.Fatalf("lines: %+v", reqs)
	}
	var lines []int
	for _, p := range reqs[0].Params {
		lines = append(lines, p.Line)
	}
	if want := []int{4, 6, 7}; !reflect.DeepEqual(lines, want) {
		t.Errorf("parameter lines %v, want %v", lines, want)
	}
}
