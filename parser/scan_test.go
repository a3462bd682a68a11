package parser

import (
	"reflect"
	"sort"
	"strings"
	"testing"
)

// calls returns every template call of text, in page order, each as its
// parts' raw texts joined by " | ".
func calls(text string) []string {
	d := parse(text)
	var ns []node
	for _, n := range d.nodes {
		if n.kind == kindTemplate {
			ns = append(ns, n)
		}
	}
	sort.SliceStable(ns, func(a, b int) bool { return ns[a].start < ns[b].start })
	var out []string
	for _, n := range ns {
		var parts []string
		for _, p := range d.parts[n.a:n.b] {
			parts = append(parts, text[p.start:p.end])
		}
		out = append(out, strings.Join(parts, " | "))
	}
	return out
}

func TestPreprocessorMatchesMediaWiki(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"a link hides its pipe", "{{a|[[b|c]]|d}}", []string{"a | [[b|c]] | d"}},
		{"an unclosed link hides the closing braces", "{{a|[[b}}", nil},
		{"a link closed later lets the braces close after it", "{{a|[[b}}]]}}",
			[]string{"a | [[b}}]]"}},
		{"four braces are a template inside", "{{{{x}}|a}}", []string{"{{x}} | a", "x"}},
		{"four braces around a name are an argument", "{{{{x}}}}", nil},
		{"five braces are an argument in a template", "{{{{{x}}}}}", []string{"{{{x}}}"}},
		{"three braces are an argument", "{{{x|{{y}}}}}", []string{"y"}},
		{"braces inside nowiki are text", "{{x|<nowiki>}}|</nowiki>}}",
			[]string{"x | <nowiki>}}|</nowiki>"}},
		{"an unclosed nowiki is text", "{{x|<nowiki>}}", []string{"x | <nowiki>"}},
		{"braces inside a comment are text", "{{x|<!--}}|-->}}", []string{"x | <!--}}|-->"}},
		{"an unclosed comment hides the rest", "{{x|<!--}}", nil},
		{"a language block hides its pipe", "{{x|-{a|b}-|c}}", []string{"x | -{a|b}- | c"}},
		{"an unclosed language block hides the braces", "{{x|-{a}}", nil},
		{"braces win over a language block", "-{{x}}", []string{"x"}},
		{"a heading hides its pipe", "{{x|\n== a | b ==\n}}", []string{"x | \n== a | b ==\n"}},
		{"a heading line hides closing braces", "{{x|\n==a}}\n}}", []string{"x | \n==a}}\n"}},
		{"includeonly hides its content", "<includeonly>{{x}}</includeonly>{{y}}",
			[]string{"y"}},
		{"an unclosed includeonly runs to the end", "<includeonly>{{x}}", nil},
		{"an unclosed INCLUDEONLY is text", "<INCLUDEONLY>{{x}}", []string{"x"}},
		{"noinclude shows its content", "<noinclude>{{x}}</noinclude>", []string{"x"}},
		{"pre hides templates", "<pre>{{x}}</pre>{{y}}", []string{"y"}},
		{"tag names match in any case", "<Pre class=\"a\">{{x}}</PRE >", nil},
		{"a self-closed tag hides nothing", "<pre/>{{x}}", []string{"x"}},
		{"an unknown tag is text", "<div>{{x}}</div>", []string{"x"}},
		{"a ref hides templates and pipes", "{{x|a<ref>{{y}}|</ref>}}",
			[]string{"x | a<ref>{{y}}|</ref>"}},
		{"closing braces match the opening count", "{x}{{y|{z}}}", []string{"y | {z"}},
		{"a template in the name", "{{{{a}}b|c}}", []string{"{{a}}b | c", "a"}},
		{"unclosed outer keeps inner", "{{a|{{b}}", []string{"b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := calls(tc.text); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("calls(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestNamedParameters(t *testing.T) {
	tests := []struct {
		name, text string
		want       map[string]string
	}{
		{"the first equals sign names", "{{x|a=b=c}}", map[string]string{"a": "b=c"}},
		{"spaces and newlines are trimmed", "{{x| a \n=\n b \n}}", map[string]string{"a": "b"}},
		{"comments at the edges are trimmed", "{{x|a= <!-- c --> b <!-- d -->}}",
			map[string]string{"a": "b"}},
		{"a comment inside is dropped", "{{x|a=b<!-- c -->c}}", map[string]string{"a": "bc"}},
		{"a lone equals sign at a line start names", "{{x|\n=a\n}}",
			map[string]string{"": "a"}},
		{"an equals sign in a link does not name", "{{x|[[a=b]]}}", map[string]string{}},
		{"an equals sign in a nested template does not name", "{{x|{{y|a=b}}}}",
			map[string]string{}},
		{"a comment on its own line takes its line", "{{x|a=1\n<!-- c -->\n2}}",
			map[string]string{"a": "1\n2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := parse(tc.text)
			n := d.nodes[len(d.nodes)-1]
			got := map[string]string{}
			for _, p := range d.parts[n.a+1 : n.b] {
				if p.eq >= 0 {
					got[trimPHP(d.strip(p.start, p.eq))] = trimPHP(d.strip(p.eq+1, p.end))
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("named parameters of %q = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestHeadings(t *testing.T) {
	tests := []struct {
		text  string
		level int
		want  string
	}{
		{"== A ==", 2, "A"},
		{"=== A ==", 2, "= A"},
		{"== A ===", 2, "A ="},
		{"======= A =======", 6, "= A ="},
		{"== A == <!-- c -->", 2, "A"},
		{"== A <!-- c --> ==", 2, "A"},
		{"== A ==  ", 2, "A"},
		{"=====", 2, "="},
		{"==", 0, ""},
		{"== A", 0, ""},
		{"x == A ==", 0, ""},
	}
	for _, tc := range tests {
		d := parse(tc.text)
		level, text := 0, ""
		for _, n := range d.nodes {
			if n.kind == kindHeading {
				level, text = n.level, d.headingText(n)
			}
		}
		if level != tc.level || text != tc.want {
			t.Errorf("heading %q: level %d %q, want %d %q", tc.text, level, text, tc.level, tc.want)
		}
	}
}
