package metrics

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"courier/store"
)

// BenchmarkScrapeLargeStore times one /metrics scrape of a state file
// holding 300,000 targets over 60 requests and 3 wikis, which is what the
// scan of the targets table costs as the file grows.
func BenchmarkScrapeLargeStore(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, b.TempDir()+"/courier.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	wikis := []string{"metawiki", "dewiki", "frwiki"}
	states := []store.TargetState{store.TargetDelivered, store.TargetDelivered,
		store.TargetDelivered, store.TargetSkipped, store.TargetFailed}
	for id := int64(1); id <= 60; id++ {
		r := store.Request{ID: id, Wiki: "metawiki", Page: "P", Requester: "A",
			State: store.StateDone}
		if _, err := st.CreateRequest(ctx, r); err != nil {
			b.Fatal(err)
		}
		targets := make([]store.Target, 5000)
		for i := range targets {
			targets[i] = store.Target{Wiki: wikis[i%3], Title: fmt.Sprintf("User talk:U%d", i),
				Seq: i, State: states[i%5], Reason: "optout"}
		}
		if err := st.AddTargets(ctx, id, targets); err != nil {
			b.Fatal(err)
		}
	}
	h := New(Options{Store: st, Logger: quiet()}).Handler()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
