// Package watcher follows a wiki farm's recent changes (the EventStreams
// SSE feed, or list=recentchanges when there is none) and turns them into
// "page P on wiki W reached revision R", once each, for the pages Courier
// watches: the request page, the senders and shutoff pages, target lists.
//
// # The stream
//
// The watcher subscribes with github.com/r3labs/sse/v2 and does its own
// reconnecting: after any end of a subscription, a clean close included, it
// waits a capped, jittered, doubling backoff (reset by a healthy
// connection) and subscribes again with the last event's id as
// Last-Event-ID. A server that refuses the id (HTTP 400) is asked again
// with since= and the last event's time; one that refuses that too, from
// now. An event too large for the reader is cut short on the wire and
// skipped; a connection silent for IdleTimeout is dropped.
//
// Most events are of wikis nobody watches. Each passes a byte prefilter on
// its "wiki" member before anything is decoded, then one on its "title";
// both are conservative: they may let an unwatched event through, never hold
// a watched one back. Canary events, events of a configured wiki id but
// another domain, and Courier's own edits trigger nothing.
//
// # Gaps and backfill
//
// A reconnect, a restart, a skipped event or a change with no room in the
// queue opens a gap: the watched pages' recent changes are listed from
// Margin before the gap to now and merged in. What the stream and a
// backfill both report is handed over once, by wiki and revision.
//
// # The hand-over
//
// Changes go to the consumer through a bounded channel; the stream never
// waits on it. Behind the channel is a spill of SpillSize changes kept in
// order; when that is full too, the stream drops the change and opens a gap
// at its time, so a backfill brings it once the consumer catches up.
//
// # What a restart finds
//
// The position (the last event's id and time) is saved every PersistEvery
// events or PersistInterval and on stop, with its time taken back to the
// oldest change not yet taken from the channel and the oldest open gap. A
// start resumes from it and backfills from its time, so nothing found but
// not taken is lost, and a crash loses only progress. The consumer records
// each change it has handled with store.SetPageRevision; the watcher does
// not hand over a revision at or below the recorded one, so what a restart
// reads again is not repeated.
package watcher
