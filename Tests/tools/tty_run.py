#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, as a person at a terminal would, for the TTY tests.

Usage: tty_run.py ANSWERS_JSON -- COMMAND ARGS...
ANSWERS_JSON is a list of [prompt_substring, reply] pairs: each time the output contains the
next prompt, the reply and a newline are typed. Prints one JSON object: {"status": N,
"output": "everything the terminal showed"}. Standard library only.
"""
import json, os, pty, select, sys, time

answers = json.loads(sys.argv[1])
command = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(command[0], command)
output = b""
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
    if answers and answers[0][0].encode() in output:
        os.write(fd, (answers[0][1] + "\n").encode())
        answers.pop(0)
        output += b"<typed>"
# Never wait forever: a command still running at the deadline is killed (and reported so).
done, status = os.waitpid(pid, os.WNOHANG)
if done == 0:
    os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
print(json.dumps({"status": os.waitstatus_to_exitcode(status), "output": output.decode("utf-8", "replace")}))
