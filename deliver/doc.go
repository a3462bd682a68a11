// Package deliver sends an approved request's message to every target of
// its list, on every wiki, exactly once and at one edit per message: it
// resolves and preflights the targets in batches, keeps each wiki's edits
// in series at its rate, records one outcome per target and writes the
// delivery log.
//
// A Deliverer holds one lane a wiki: its client, the wiki's namespaces
// and the account's rights (read once), and a pacer that lets edits start
// at most edits_per_minute times a minute, never in a burst. Deliver runs
// one goroutine a wiki for a request and waits for all of them.
//
// Exactly once rests on the store: a target is marked sending before its
// edit and given its outcome after. A target found sending (after a crash,
// a lost answer, a block) is never sent again before its page's history
// since the mark has been read for the request's hidden marker; Recover
// does this for all of them at start, Deliver for any it meets.
//
// Choices a caller should know:
//   - A block or a lost login stops delivery on that wiki only. Its
//     targets stay queued (the refused one sending) rather than failed,
//     since a block is often lifted and a final outcome cannot be undone;
//     Result.Stopped says why, Deliver resumes, Abandon closes the request.
//   - A cancelled request (Options.Cancelled) records every target not
//     yet sent as skipped with reason "cancelled", so the request ends
//     with complete counts and a log row. A cancelled context is a
//     shutdown, not a cancel: the edit under way finishes and the rest
//     stays queued for the next run.
//   - A closed gate (the shutoff page) pauses; it never fails a target.
package deliver
