package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"courier/parser"
)

// cmdParse runs "courier parse [-list] [-json] FILE": it reads a wikitext
// file offline, as Courier reads the request page (or, with -list, a
// target list), and prints each request (or target) and every problem
// with its line. It exits 0 when there is no problem, 1 when there are
// problems, 2 on a usage error or a file it cannot read.
func cmdParse(args []string, stdout, stderr io.Writer) int {
	return runParse(args, os.Stdin, stdout, stderr)
}

const parseAbout = `Reads FILE (- for standard input) offline, as Courier reads the request
page, and prints each delivery request it holds and every problem, one a
line as FILE:LINE: problem. With -list it reads FILE as a target list
(wikitext or MassMessage JSON) and prints each target instead. Exits 0
when there is no problem, 1 when there are problems, 2 on a usage error
or a file it cannot read.`

// parseOptions are the flags of courier parse.
type parseOptions struct {
	list, json bool
	domains    string
	file       string
}

func runParse(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("parse [-list] [-json] [-domains a.org,b.org] FILE", parseAbout,
		"courier parse -list -domains de.wikipedia.org,fr.wikipedia.org Tech-ambassadors.wiki")
	var o parseOptions
	fs.BoolVar(&o.list, "list", false, "read FILE as a target list, not a request page")
	fs.BoolVar(&o.json, "json", false, "print a JSON array instead of lines")
	fs.StringVar(&o.domains, "domains", "", "with -list, the comma-separated `domains` of "+
		"the wikis Courier delivers to;\na target on another wiki is a problem "+
		"(default: domains are not checked)")
	var files []string
	for { // flags may come after FILE too
		if code := fs.parse(args, stdout, stderr); code >= 0 {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		if used := len(args) - fs.NArg(); used > 0 && args[used-1] == "--" {
			files = append(files, fs.Args()...) // after "--", all are files
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	switch {
	case len(files) != 1:
		return fs.usageError(stderr, "give one FILE to read, or - for standard input")
	case o.domains != "" && !o.list:
		return fs.usageError(stderr, "-domains goes with -list")
	}
	o.file = files[0]
	text, err := parseReadInput(o.file, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "courier parse: %v\n", err)
		return 2
	}
	if o.list {
		return parseShowTargets(o, text, stdout, stderr)
	}
	return parseShowRequests(o, text, stdout, stderr)
}

// parseReadInput reads the named file, or stdin for "-".
func parseReadInput(name string, stdin io.Reader) (string, error) {
	var b []byte
	var err error
	if name == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(name)
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return string(b), nil
}

// parseRequestJSON is a request as -json prints it.
type parseRequestJSON struct {
	Section  string           `json:"section"`
	Line     int              `json:"line"`
	List     string           `json:"list"`
	Subject  string           `json:"subject"`
	Message  string           `json:"message"`
	Page     string           `json:"page"`
	Status   string           `json:"status"`
	ID       string           `json:"id"`
	Progress string           `json:"progress,omitempty"`
	Result   string           `json:"result,omitempty"`
	Note     string           `json:"note,omitempty"`
	Problems []parser.Problem `json:"problems"`
}

func parseShowRequests(o parseOptions, text string, stdout, stderr io.Writer) int {
	reqs := parser.ParseRequests(text)
	problems := 0
	out := make([]parseRequestJSON, 0, len(reqs))
	for _, r := range reqs {
		problems += len(r.Problems)
		out = append(out, parseRequestJSON{Section: r.Section, Line: r.Line, List: r.List,
			Subject: r.Subject, Message: r.Message, Page: r.Page, Status: r.Status, ID: r.ID,
			Progress: r.Progress, Result: r.Result, Note: r.Note,
			Problems: parseNonNil(r.Problems)})
	}
	if o.json {
		return parseWriteJSON(out, problems, stdout, stderr)
	}
	for _, r := range reqs {
		fmt.Fprintf(stdout, "%s:%d: request %q%s\n", o.file, r.Line, parseShorten(r.Subject),
			parseDescribe(r))
		parsePrintProblems(stdout, o.file, r.Problems)
	}
	fmt.Fprintf(stdout, "%s: %s, %s\n", o.file, parseCount(len(reqs), "request"),
		parseCount(problems, "problem"))
	return parseExitCode(problems)
}

// parseDescribe sums up a request after its subject.
func parseDescribe(r parser.Request) string {
	var b strings.Builder
	if r.Section != "" {
		fmt.Fprintf(&b, " in section %q", r.Section)
	}
	for _, f := range []struct{ name, value string }{
		{"list", r.List}, {"page", r.Page}, {"status", r.Status}, {"id", r.ID},
		{"progress", r.Progress},
	} {
		if f.value != "" {
			fmt.Fprintf(&b, ", %s %s", f.name, f.value)
		}
	}
	return b.String()
}

// parseTargetJSON is a target as -list -json prints it.
type parseTargetJSON struct {
	Title    string           `json:"title"`
	Domain   string           `json:"domain"`
	Line     int              `json:"line"`
	Problems []parser.Problem `json:"problems"`
}

func parseShowTargets(o parseOptions, text string, stdout, stderr io.Writer) int {
	opts := parser.ListOptions{}
	if o.domains != "" {
		opts.Domains = map[string]bool{}
		for _, d := range strings.Split(o.domains, ",") {
			if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
				opts.Domains[d] = true
			}
		}
	}
	l := parser.ParseList(text, opts)
	problems := len(l.Problems)
	out := make([]parseTargetJSON, 0, len(l.Targets))
	for _, t := range l.Targets {
		problems += len(t.Problems)
		out = append(out, parseTargetJSON{t.Title, t.Domain, t.Line, parseNonNil(t.Problems)})
	}
	if o.json {
		parsePrintProblems(stderr, o.file, l.Problems) // the array has no room for them
		return parseWriteJSON(out, problems, stdout, stderr)
	}
	parsePrintProblems(stdout, o.file, l.Problems)
	for _, t := range l.Targets {
		where := ""
		if t.Domain != "" {
			where = " on " + t.Domain
		}
		fmt.Fprintf(stdout, "%s:%d: target %q%s\n", o.file, t.Line, t.Title, where)
		parsePrintProblems(stdout, o.file, t.Problems)
	}
	fmt.Fprintf(stdout, "%s: %s, %s\n", o.file, parseCount(len(l.Targets), "target"),
		parseCount(problems, "problem"))
	return parseExitCode(problems)
}

func parsePrintProblems(w io.Writer, file string, problems []parser.Problem) {
	for _, p := range problems {
		fmt.Fprintf(w, "%s:%d: %s\n", file, p.Line, p.Text)
	}
}

func parseWriteJSON(v any, problems int, stdout, stderr io.Writer) int {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintf(stderr, "courier parse: write JSON: %v\n", err)
		return 2
	}
	return parseExitCode(problems)
}

// parseNonNil returns problems, or an empty list, so that JSON shows [] not null.
func parseNonNil(problems []parser.Problem) []parser.Problem {
	if problems == nil {
		return []parser.Problem{}
	}
	return problems
}

// parseShorten cuts s to a length a summary line can hold.
func parseShorten(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	cut := max - 3
	for cut > 0 && s[cut]&0xc0 == 0x80 { // not inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "..."
}

func parseCount(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func parseExitCode(problems int) int {
	if problems > 0 {
		return 1
	}
	return 0
}
