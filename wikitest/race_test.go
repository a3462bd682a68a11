//go:build race

package wikitest

// raceEnabled reports whether the race detector is on; timings are not
// checked under it.
const raceEnabled = true
