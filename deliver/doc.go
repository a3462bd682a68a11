// Package deliver sends an approved request's message to every target of
// its list, on every wiki, exactly once and at one edit per message: it
// resolves and preflights the targets in batches, keeps each wiki's edits
// in series at its rate, records one outcome per target and writes the
// delivery log.
package deliver
