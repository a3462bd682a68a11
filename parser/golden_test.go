package parser

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with the golden file next to input, or rewrites it
// under -update.
func golden(t *testing.T, input, got string) {
	t.Helper()
	path := strings.TrimSuffix(input, filepath.Ext(input)) + ".golden"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to make it): %v", err)
	}
	if got != string(want) {
		g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(g) && i < len(w); i++ {
			if g[i] != w[i] {
				t.Fatalf("%s differs from %s at line %d:\ngot  %s\nwant %s", input, path, i+1, g[i], w[i])
			}
		}
		t.Fatalf("%s differs from %s in length: %d lines, want %d", input, path, len(g), len(w))
	}
}

func inputs(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test pages %s: %v", pattern, err)
	}
	return files
}

func readInput(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestGoldenRequests(t *testing.T) {
	for _, path := range inputs(t, "requests/*.wiki") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			text := readInput(t, path)
			reqs := ParseRequests(text)
			checkRequests(t, text, reqs)
			golden(t, path, toJSON(t, reqs))
		})
	}
}

func TestGoldenLists(t *testing.T) {
	opts := ListOptions{Domains: map[string]bool{"de.wikipedia.org": true,
		"fr.wikipedia.org": true, "simple.wikipedia.org": true}}
	for _, path := range append(inputs(t, "lists/*.wiki"), inputs(t, "lists/*.json")...) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			golden(t, path, toJSON(t, ParseList(readInput(t, path), opts)))
		})
	}
}

// TestGoldenWriteBack takes every request of each page one step on:
// pending with an id when it has none, delivering otherwise.
func TestGoldenWriteBack(t *testing.T) {
	for _, path := range inputs(t, "writeback/*.wiki") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			page := readInput(t, path)
			for i := range ParseRequests(page) {
				r := ParseRequests(page)[i]
				if r.Unclosed {
					continue
				}
				values := map[string]string{"status": "delivering", "progress": "1/2"}
				if r.ID == "" {
					values = map[string]string{"status": "pending", "id": fmt.Sprint(9000 + i),
						"note": "Waiting for an approver: 3 targets | 1 wiki."}
				}
				out, err := WriteBack(page, RefOf(r), values)
				if err != nil {
					t.Fatalf("request on line %d: %v", r.Line, err)
				}
				checkWriteBack(t, page, out, r, values)
				page = out
			}
			golden(t, path, page)
		})
	}
}
