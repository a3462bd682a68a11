package parser

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// jsonList is MassMessage's JSON list content.
type jsonList struct {
	Description string       `json:"description"`
	Targets     []jsonTarget `json:"targets"`
}

// looksLikeJSON reports whether text is a JSON object rather than
// wikitext: "{" then a key or "}" (wikitext starts "{{" or "{|").
func looksLikeJSON(text string) bool {
	s := strings.TrimLeft(text, " \t\r\n")
	if !strings.HasPrefix(s, "{") {
		return false
	}
	s = strings.TrimLeft(s[1:], " \t\r\n")
	return strings.HasPrefix(s, `"`) || strings.HasPrefix(s, "}")
}

// parseJSONList reads a MassMessage JSON list.
func parseJSONList(text string, opts ListOptions) List {
	l, starts, ok := scanJSONList(text)
	if !ok {
		l = jsonList{}
		if err := json.Unmarshal([]byte(text), &l); err != nil {
			return List{Problems: []Problem{jsonProblem(text, err)}}
		}
		starts = jsonTargetOffsets(text)
	}
	lines := newLineCounter(text)
	out := List{Description: l.Description, Targets: make([]Target, 0, len(l.Targets))}
	for i, e := range l.Targets {
		t := Target{Title: trimPHP(e.Title), Domain: strings.ToLower(trimPHP(e.Site)), Line: 1}
		if len(starts) == len(l.Targets) {
			t.Line = lines.at(starts[i])
		}
		t.Problems = targetProblems(t, opts)
		out.Targets = append(out.Targets, t)
	}
	return out
}

// jsonProblem says where and why a JSON list does not decode.
func jsonProblem(text string, err error) Problem {
	off := len(text)
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = int(syn.Offset)
	case errors.As(err, &typ):
		off = int(typ.Offset)
	}
	line := newLineCounter(text).at(off)
	return Problem{Line: line, Code: ProblemBadJSON, Text: fmt.Sprintf(
		"The list is not valid JSON near line %d: %v.", line, err)}
}

// jsonTargetOffsets returns the offsets of the elements of the top-level
// "targets" array of valid JSON text (the last such key, as decoding
// takes the last).
func jsonTargetOffsets(text string) []int {
	var out []int
	depth, key, inTargets := 0, "", false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; c {
		case '"':
			end := jsonStringEnd(text, i)
			if depth == 1 {
				key = text[i+1 : end]
			}
			if inTargets && depth == 2 {
				out = append(out, i) // a string element: decoding fails on it anyway
			}
			i = end
		case '{', '[':
			if depth == 1 && c == '[' && strings.EqualFold(key, "targets") {
				out, inTargets = out[:0], true
			} else if inTargets && depth == 2 {
				out = append(out, i)
			}
			depth++
		case '}', ']':
			depth--
			if depth == 1 {
				inTargets = false
			}
		case ':', ',':
			if depth == 1 && c == ',' {
				key = ""
			}
		}
	}
	return out
}

// jsonStringEnd returns the offset of the quote that closes the JSON
// string opening at i.
func jsonStringEnd(text string, i int) int {
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return len(text) - 1
}
