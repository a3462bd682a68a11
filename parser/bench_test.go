package parser

import (
	"fmt"
	"strings"
	"testing"
)

// listPage returns a wikitext list of n targets shaped like a real one:
// mostly {{#target:...}}, one in ten on another wiki, one in twenty a
// bulleted link, with a heading and a comment now and then.
func listPage(n int) string {
	var b strings.Builder
	b.WriteString("{{Message delivery/List header}}\n<!-- Keep this list sorted. -->\n")
	for i := 0; i < n; i++ {
		switch {
		case i%1000 == 0:
			fmt.Fprintf(&b, "== Part %d ==\n", i/1000)
		case i%100 == 0:
			b.WriteString("<!-- added by the sign-up form -->\n")
		}
		switch {
		case i%20 == 0:
			fmt.Fprintf(&b, "* [[User talk:Subscriber %d|Subscriber %d]]\n", i, i)
		case i%10 == 0:
			fmt.Fprintf(&b, "{{#target:User talk:Subscriber %d|de.wikipedia.org}}\n", i)
		default:
			fmt.Fprintf(&b, "{{#target:User talk:Subscriber %d}}\n", i)
		}
	}
	return b.String()
}

// jsonListPage returns MassMessage's JSON content with n targets.
func jsonListPage(n int) string {
	var b strings.Builder
	b.WriteString("{\n    \"description\": \"Subscribers\",\n    \"targets\": [\n")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",\n")
		}
		if i%10 == 0 {
			fmt.Fprintf(&b, `        {"title": "User talk:Subscriber %d", "site": "de.wikipedia.org"}`, i)
		} else {
			fmt.Fprintf(&b, `        {"title": "User talk:Subscriber %d"}`, i)
		}
	}
	b.WriteString("\n    ]\n}\n")
	return b.String()
}

// benchRequestPage returns a request page of n sections, each a request, an
// approval and a reply, some already done.
func benchRequestPage(n int) string {
	var b strings.Builder
	b.WriteString("{{Message delivery/Header}}\n__NEWSECTIONLINK__\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "== Newsletter issue %d ==\n{{Delivery request\n", i)
		fmt.Fprintf(&b, "| list    = Project:Message delivery/Lists/List %d\n", i%7)
		fmt.Fprintf(&b, "| subject = Newsletter: issue %d\n", i)
		fmt.Fprintf(&b, "| message = {{Newsletter|issue=%d}} Hello! Read [[Newsletter/%d|"+
			"the issue]] {{!}} <nowiki>{{unsubscribe}}</nowiki> <!-- team note --> "+
			"--[[User:Sender %d|Sender]] ([[User talk:Sender %d|talk]]) 12:00, 1 May 2026 (UTC)\n",
			i, i, i, i)
		if i%3 == 0 {
			fmt.Fprintf(&b, "| status  = done\n| id      = %d\n| result  = 480 delivered, "+
				"15 skipped, 5 failed ([[Project:Message delivery/Log/%d|details]])\n", 1000+i, 1000+i)
		}
		b.WriteString("}}\n:Approved. --[[User:Approver|Approver]] 13:00, 1 May 2026 (UTC)\n\n")
	}
	return b.String()
}

func BenchmarkParseList(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		page := listPage(n)
		opts := ListOptions{Domains: map[string]bool{"de.wikipedia.org": true}}
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if l := ParseList(page, opts); len(l.Targets) != n {
					b.Fatalf("%d targets, want %d", len(l.Targets), n)
				}
			}
		})
	}
}

func BenchmarkParseListJSON(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		page := jsonListPage(n)
		b.Run(fmt.Sprintf("targets=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				if l := ParseList(page, ListOptions{}); len(l.Targets) != n {
					b.Fatalf("%d targets, want %d", len(l.Targets), n)
				}
			}
		})
	}
}

func BenchmarkParseRequests(b *testing.B) {
	page := benchRequestPage(500)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if reqs := ParseRequests(page); len(reqs) != 500 {
			b.Fatalf("%d requests", len(reqs))
		}
	}
}

func BenchmarkWriteBack(b *testing.B) {
	page := benchRequestPage(500)
	r := ParseRequests(page)[499]
	values := map[string]string{"status": "pending", "id": "99999", "note": "500 targets"}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := WriteBack(page, RefOf(r), values); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBotsAllowed(b *testing.B) {
	page := benchRequestPage(20) + "{{bots|deny=OtherBot, AnotherBot}}\n"
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		if v := BotsAllowed(page, "Courier", "news"); !v.Allowed {
			b.Fatal(v)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := meta.Normalize("user_talk:alice  smith/Archive 1"); err != nil {
			b.Fatal(err)
		}
	}
}
