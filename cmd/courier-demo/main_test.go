package main

import "testing"

// TestDemo runs the demo's steps, from starting the wikis to the finished
// delivery, without the wait for Ctrl-C at the end.
func TestDemo(t *testing.T) {
	if err := run([]string{"-no-wait"}); err != nil {
		t.Fatal(err)
	}
}
