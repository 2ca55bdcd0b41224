#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, as a person at a terminal would, for the TTY tests.

Usage: tty_run.py ANSWERS_JSON -- COMMAND ARGS...
ANSWERS_JSON is a list of [prompt_substring, reply] pairs: each time the output contains the
next prompt, the reply and a newline are typed ([prompt, reply, false]: the reply alone, e.g.
"\u0003" for ^C). Prompts are matched in the output after the previous reply. Prints one JSON
object: {"status": N (negative: killed by that signal), "output": "everything the terminal
showed", "echo": whether the terminal echoes input after the command ended}. Standard library
only.
"""
import json, os, pty, select, signal, sys, termios, time

answers = json.loads(sys.argv[1])
command = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    # As an interactive shell starts a foreground job: no signal blocked or ignored (a test
    # runner may block SIGINT in the threads it spawns from, and children inherit that).
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
    os.execvp(command[0], command)
output = b""
seen = 0  # where the next prompt is looked for
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    if answers and answers[0][0].encode() in output[seen:]:
        newline = len(answers[0]) < 3 or answers[0][2]
        os.write(fd, (answers[0][1] + ("\n" if newline else "")).encode())
        answers.pop(0)
        output += b"<typed>"
        seen = len(output)
# Never wait forever: a command still running at the deadline is killed (and reported so).
done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
# The pseudo-terminal's settings as the command left them (readable on the master side).
echo = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "output": output.decode("utf-8", "replace"), "echo": echo}))
