package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const parseGoodPage = `== Tech News ==
{{Delivery request
| list    = Project:Message delivery/Lists/Tech
| subject = Tech News: 2026-49
| message = Hello! ~~~~
| status  = pending
| id      = 1234
}}
`

const parseBadPage = `== One ==
{{Delivery request
| subject = No list here
| message = Hi
}}
== Two ==
{{Delivery request|list=L|subject=S|message=M|page=P}}
`

const parseListPage = `{{#target:User talk:Alice}}
* [[User:Bob|Bob]]
{{#target:Talk:Foo|de.wikipedia.org}}
`

func parseTempFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "page.wiki")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func parseCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runParse(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestParseGoodRequests(t *testing.T) {
	path := parseTempFile(t, parseGoodPage)
	code, out, _ := parseCmd(t, "", path)
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	want := path + `:2: request "Tech News: 2026-49" in section "Tech News", list ` +
		"Project:Message delivery/Lists/Tech, status pending, id 1234\n"
	if !strings.HasPrefix(out, want) || !strings.Contains(out, "1 request, 0 problems") {
		t.Errorf("output\n%s\nwant it to start\n%s", out, want)
	}
}

func TestParseProblems(t *testing.T) {
	path := parseTempFile(t, parseBadPage)
	code, out, _ := parseCmd(t, "", path)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		path + ":2: The request on line 2 has no list: add | list = ",
		path + ":7: The request on line 7 has both a message and a page",
		"2 requests, 2 problems",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output\n%s\nlacks %q", out, want)
		}
	}
}

func TestParseJSON(t *testing.T) {
	code, out, _ := parseCmd(t, "", "-json", parseTempFile(t, parseBadPage))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var got []struct {
		Section  string
		Line     int
		Subject  string
		Problems []struct {
			Line       int
			Code, Text string
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if len(got) != 2 || got[0].Section != "One" || got[1].Line != 7 ||
		len(got[0].Problems) != 1 || got[0].Problems[0].Code != "no-list" {
		t.Errorf("got %+v", got)
	}
	_, out, _ = parseCmd(t, "", "-json", parseTempFile(t, parseGoodPage))
	if !strings.Contains(out, `"problems": []`) {
		t.Errorf("a request without problems should show an empty list:\n%s", out)
	}
}

func TestParseList(t *testing.T) {
	path := parseTempFile(t, parseListPage)
	code, out, _ := parseCmd(t, "", "-list", path)
	if code != 0 || !strings.Contains(out, path+`:3: target "Talk:Foo" on de.wikipedia.org`) ||
		!strings.Contains(out, "3 targets, 0 problems") {
		t.Errorf("exit %d, output\n%s", code, out)
	}
	code, out, _ = parseCmd(t, "", path, "-list", "-domains", "fr.wikipedia.org, meta.wikimedia.org")
	if code != 1 || !strings.Contains(out, path+`:3: The target "Talk:Foo" on line 3 is on`) {
		t.Errorf("with -domains: exit %d, output\n%s", code, out)
	}
	code, out, _ = parseCmd(t, "", "-list", "-json", path)
	var got []struct {
		Title, Domain string
		Line          int
		Problems      []any
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 0 {
		t.Fatalf("exit %d, %v in\n%s", code, err, out)
	}
	if len(got) != 3 || got[1].Title != "User:Bob" || got[2].Domain != "de.wikipedia.org" {
		t.Errorf("got %+v", got)
	}
}

func TestParseBadJSONList(t *testing.T) {
	code, out, _ := parseCmd(t, `{"targets": [{"title": }]}`, "-list", "-")
	if code != 1 || !strings.Contains(out, "-:1: The list is not valid JSON") {
		t.Errorf("exit %d, output\n%s", code, out)
	}
}

func TestParseStdin(t *testing.T) {
	code, out, _ := parseCmd(t, parseGoodPage, "-")
	if code != 0 || !strings.HasPrefix(out, `-:2: request "Tech News: 2026-49"`) {
		t.Errorf("exit %d, output\n%s", code, out)
	}
}

func TestParseUsage(t *testing.T) {
	path := parseTempFile(t, parseGoodPage)
	tests := []struct {
		name string
		args []string
		code int
		in   string // what stdout (code 0) or stderr shows
	}{
		{"help", []string{"-h"}, 0, "Example:"},
		{"no file", nil, 2, "give one FILE"},
		{"two files", []string{path, path}, 2, "give one FILE"},
		{"unknown flag", []string{"-x", path}, 2, "Usage: courier parse"},
		{"domains without list", []string{"-domains", "a.org", path}, 2, "-domains goes with -list"},
		{"missing file", []string{filepath.Join(t.TempDir(), "none.wiki")}, 2, "read "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := parseCmd(t, "", tc.args...)
			shown := errOut
			if tc.code == 0 {
				shown = out
			}
			if code != tc.code || !strings.Contains(shown, tc.in) {
				t.Errorf("exit %d, stdout\n%s\nstderr\n%s\nwant exit %d showing %q",
					code, out, errOut, tc.code, tc.in)
			}
		})
	}
}
