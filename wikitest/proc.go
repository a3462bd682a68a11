package wikitest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// guardScript runs its arguments in the background and kills its whole
// process group as soon as either that command exits (PHP could not bind its
// port, say) or its own standard input reaches end of file, which happens
// when the Go process holding the other end of the pipe closes it or dies
// for any reason (a panic, a failed test binary, SIGKILL). The PHP built-in
// server forks its workers (PHP_CLI_SERVER_WORKERS) and they outlive their
// master when it is killed alone, so a kill of the group is the only way to
// take every worker down, and this guard makes that happen even when nobody
// is left to call Close. Background commands of a script read /dev/null, so
// the pipe is passed to the watcher as descriptor 3.
const guardScript = `exec 3<&0
"$@" 3<&- &
server=$!
{ read -r _ <&3; kill -KILL 0; } &
wait "$server"
kill -KILL 0`

// server is one long-running process group started through guardScript.
type server struct {
	cmd   *exec.Cmd
	guard io.WriteCloser // closing it kills the group
	done  chan struct{}  // closed when the guard shell has exited
	err   error          // the guard's exit status, set before done closes
}

// startServer starts argv under the guard shell, in a new process group, with
// env added to the environment and output appended to logPath.
func startServer(argv, env []string, dir, logPath string) (*server, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open server log: %w", err)
	}
	defer logFile.Close()

	args := append([]string{"-c", guardScript, "wikitest-guard"}, argv...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = groupAttr()
	guard, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("make guard pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}

	s := &server{cmd: cmd, guard: guard, done: make(chan struct{})}
	// Owned by the server: stop closes the guard and waits for done.
	go func() {
		s.err = cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// exited reports whether the process group's guard has exited.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop kills the process group and waits for the guard to exit.
func (s *server) stop() {
	// Killing the group directly is immediate; closing the guard pipe is
	// the fallback that works even if the group id were unknown.
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
	_ = s.guard.Close()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
}

// runPHP runs a PHP command line to completion in its own process group (killed
// whole when ctx ends) and returns its combined output.
func runPHP(ctx context.Context, php string, args, env []string, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, php, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = groupAttr()
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// The script's last words say why; the exit status rarely does.
			return out.String(), fmt.Errorf("run %s: %w:\n%s",
				scriptName(args), err, lastLines(out.String(), 15))
		}
		return out.String(), fmt.Errorf("run %s: %w", scriptName(args), err)
	}
	return out.String(), nil
}

// scriptName names a PHP command line by its script, for error messages.
func scriptName(args []string) string {
	for _, a := range args {
		if strings.HasSuffix(a, ".php") {
			return a[strings.LastIndex(a, "/")+1:]
		}
	}
	return "php"
}

// groupAttr puts a child in a process group of its own, so that it and every
// process it forks can be killed at once. There is deliberately no Pdeathsig:
// on the guard shell it would kill the guard before it can kill the group.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// lastLines returns the last n lines of s, trimmed.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
