package watcher

import (
	"testing"
	"time"
)

func TestPrefilterIsConservative(t *testing.T) {
	set := &watchSet{wikis: map[string]*wikiWatch{"metawiki": {}, "enwiki": {}}}
	tests := []struct {
		data string
		want bool
	}{
		{`{"wiki":"metawiki","title":"X"}`, true},
		{`{"wiki" : "enwiki"}`, true},
		{"{\"wiki\":\n\t\"metawiki\"}", true},
		{`{"log_params":{"wiki":"dewiki"},"wiki":"metawiki"}`, true},
		{`{"wiki":"me\u0074awiki"}`, true}, // an escape is let through
		{`{"wiki":"dewiki","title":"metawiki"}`, false},
		{`{"wiki":"simpleenwiki"}`, false},
		{`{"title":"wiki","comment":"\"wiki\":\"metawiki\""}`, false},
		{`{"title":"\"wiki\": \"enwiki\""}`, false},
		{`{"wiki":"dewiki"}`, false},
		{`{"wiki":`, false},
		{``, false},
	}
	for _, tt := range tests {
		if got := set.mayMatch([]byte(tt.data)); got != tt.want {
			t.Errorf("mayMatch(%s) = %v, want %v", tt.data, got, tt.want)
		}
	}
	empty := &watchSet{}
	if empty.mayMatch([]byte(`{"wiki":"metawiki"}`)) {
		t.Error("an empty set let an event through")
	}
}

func TestTitleStageIsConservative(t *testing.T) {
	set := &watchSet{titles: map[string]bool{"Meta:Message delivery/Requests": true}}
	tests := []struct {
		data string
		want bool
	}{
		{`{"title":"Meta:Message delivery/Requests"}`, true},
		{`{"title" : "Meta:Message delivery/Requests"}`, true},
		{`{"title":"Meta:Message delivery\/Requests"}`, true}, // escaped: decode
		{`{"title":"Meta:Message_delivery/Requests"}`, true},  // raw form: decode
		{`{"log_params":{"title":"X"},"title":"Meta:Message delivery/Requests"}`, true},
		{`{"title":"Meta:Other page"}`, false},
		{`{"title":"Meta:Other page","comment":"\"title\":\"Meta:Message delivery/Requests\""}`,
			false},
		{`{"comment":"no title member"}`, false},
	}
	for _, tt := range tests {
		if got := set.mayMatchTitle([]byte(tt.data)); got != tt.want {
			t.Errorf("mayMatchTitle(%s) = %v, want %v", tt.data, got, tt.want)
		}
	}
}

func TestEventTime(t *testing.T) {
	tests := []struct {
		data string
		want time.Time
		ok   bool
	}{
		{`{"meta":{"dt":"2026-01-02T03:04:05.678Z"},"timestamp":1}`,
			time.Date(2026, 1, 2, 3, 4, 5, 678e6, time.UTC), true},
		{`{"meta":{"dt":null},"timestamp": 1767323045}`, time.Unix(1767323045, 0), true},
		{`{"timestamp":1767323045}`, time.Unix(1767323045, 0), true},
		{`{"title":"x"}`, time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := eventTime([]byte(tt.data))
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("eventTime(%s) = %v, %v; want %v, %v", tt.data, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBackoffIsCappedWithJitter(t *testing.T) {
	b := backoffOf(100*time.Millisecond, time.Second)
	var last time.Duration
	for i := range 20 {
		d := b.next()
		ceil := min(100*time.Millisecond<<i, time.Second)
		if d < ceil/2 || d > ceil {
			t.Fatalf("attempt %d: wait %v outside [%v, %v]", i, d, ceil/2, ceil)
		}
		last = d
	}
	if last < 500*time.Millisecond {
		t.Errorf("capped wait %v below half the cap", last)
	}
	b.reset()
	if d := b.next(); d > 100*time.Millisecond {
		t.Errorf("after reset: wait %v, want at most the minimum", d)
	}
}

func TestLedgerFloorCoversWhatIsOwed(t *testing.T) {
	l := newLedger(4)
	t0 := time.Unix(1000, 0)
	if !l.floor().IsZero() {
		t.Fatal("empty ledger owes something")
	}
	l.pending.push(t0.Add(3 * time.Second))
	l.pending.push(t0.Add(1 * time.Second))
	l.spill.push(Change{Timestamp: t0.Add(2 * time.Second)})
	if got := l.floor(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("floor = %v, want the oldest pending", got)
	}
	l.trim(1) // the consumer took the first pending change
	if got := l.floor(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("after trim: floor = %v", got)
	}
	l.trim(0)
	l.addGap(t0)
	if got := l.floor(); !got.Equal(t0) {
		t.Errorf("with a gap: floor = %v, want the gap", got)
	}
}

func TestDedupeForgetsOldestFirst(t *testing.T) {
	d := newDedupe(2)
	for _, rev := range []int64{1, 2, 3} {
		if !d.add(revKey{"w", rev}) {
			t.Fatalf("rev %d not new", rev)
		}
	}
	if d.add(revKey{"w", 3}) || d.add(revKey{"w", 2}) {
		t.Error("a remembered revision counted as new")
	}
	if !d.add(revKey{"w", 1}) {
		t.Error("the oldest revision was not forgotten")
	}
}
