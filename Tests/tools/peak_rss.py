#!/usr/bin/env python3
"""Runs a command and prints its peak resident memory in KiB as the last line of stdout.

Usage: peak_rss.py PROGRAM ARG...   → the command's own output, then "peak_rss_kib N"; exits
with the command's status (128 + signal if it was killed).

Why a helper: a child spawned straight from the test process (vfork) inherits that process's
memory high-water mark in its ru_maxrss, which would hide the child's own peak. Forked from
this small interpreter, the child's figure is its own (or this script's few MiB, whichever is
larger).
"""
import os, sys

pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
sys.stdout.flush()
print(f"peak_rss_kib {usage.ru_maxrss}", flush=True)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
