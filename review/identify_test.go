package review

import (
	"reflect"
	"slices"
	"testing"

	"courier/parser"
)

const page = `Intro.
== First ==
{{Delivery request
| list = L
| subject = One
| message = m
}}
== Second ==
{{Delivery request
| list = L
| subject = Two
| message = m
| id = 77
| status = pending
}}
`

func ids(m map[int64]parser.Request) []int64 {
	var out []int64
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// TestIdentify checks how requests of successive revisions are known: by
// the id they carry, else by section and place once first seen.
func TestIdentify(t *testing.T) {
	r := &Reviewer{newKeys: map[string]int64{}}

	// A request without an id in the revision Courier starts from is
	// another's business: it gets no id, now or later.
	got := r.identify(parser.ParseRequests(page), 0)
	if want := []int64{77}; !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("baseline ids = %v, want %v", ids(got), want)
	}
	if got := r.identify(parser.ParseRequests(page), 500); !reflect.DeepEqual(ids(got), []int64{77}) {
		t.Errorf("a baseline request was taken as new later: %v", ids(got))
	}

	// A request added in revision 600 is known as 600 in the revisions
	// after, with or without edits to its text, until its id is written.
	r = &Reviewer{newKeys: map[string]int64{}}
	r.identify(parser.ParseRequests("Intro.\n"), 0)
	if got := r.identify(parser.ParseRequests(page), 600); !reflect.DeepEqual(ids(got), []int64{77, 600}) {
		t.Fatalf("ids after the add = %v", ids(got))
	}
	edited := page[:len(page)-1] + "\nMore text by a human.\n"
	if got := r.identify(parser.ParseRequests(edited), 601); !reflect.DeepEqual(ids(got), []int64{77, 600}) {
		t.Errorf("ids after an unrelated edit = %v, want the same request as 600", ids(got))
	}
	if got := r.identify(parser.ParseRequests(page+"== Third ==\n{{Delivery request\n| list = L\n"+
		"| subject = Three\n| message = m\n}}\n"), 602); !reflect.DeepEqual(ids(got), []int64{77, 600, 602}) {
		t.Errorf("ids after a second add = %v", ids(got))
	}
}

func TestNormalUser(t *testing.T) {
	for in, want := range map[string]string{
		"alice_smith": "Alice smith", " Bob ": "Bob", "Courier@courier": "Courier", "": "",
		"élodie": "Élodie",
	} {
		if got := normalUser(in); got != want {
			t.Errorf("normalUser(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLinkedUsers(t *testing.T) {
	r := &Reviewer{cfg: Config{Site: parser.NewSite(parser.DefaultNamespaces("Meta"))}}
	text := "Senders:\n* [[User:Alice]]\n* [[user talk:bob_smith|Bob]]\n* [[User:Carol/Sub]]\n" +
		"* [[Meta:Not a user]]\n* [[Talk:Dave]]\n"
	want := []string{"Alice", "Bob smith", "Carol"}
	if got := r.linkedUsers(text); !reflect.DeepEqual(got, want) {
		t.Errorf("linkedUsers = %v, want %v", got, want)
	}
}

// TestUnchanged checks that a value Courier wrote reads back as written,
// so a write-back is never repeated for nothing.
func TestUnchanged(t *testing.T) {
	result := "4 delivered, 0 skipped, 0 failed ([[Meta:Log/6|details]])"
	text := "{{Delivery request\n| list = L\n| subject = s\n| message = m\n}}"
	reqs := parser.ParseRequests(text)
	values := map[string]string{"id": "6", "status": "done", "result": result, "note": ""}
	out, err := parser.WriteBack(text, parser.RefOf(reqs[0]), values)
	if err != nil {
		t.Fatal(err)
	}
	if !unchanged(parser.ParseRequests(out)[0], values) {
		t.Errorf("the written values do not read back as unchanged:\n%s", out)
	}
	values["status"] = "cancelled"
	if unchanged(parser.ParseRequests(out)[0], values) {
		t.Error("a changed status reads as unchanged")
	}
}
