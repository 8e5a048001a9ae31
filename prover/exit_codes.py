"""The exit statuses every ProofForge app uses (the table in README.md, "Exit codes").

Why one table: a script driving several apps (a sweep, CI, a cluster job) must tell "fix your
command" from "fix your file" from "install Lean" from "some items failed, rerun to retry them"
without parsing messages. Each app maps its own error types onto these codes in its entry point;
a Hydra app's error is one line on stderr, ``<app>: <what went wrong>``, never a traceback.
"""

from __future__ import annotations

#: The run did what it was asked.
OK = 0
#: The run went to its end and wrote everything it could, but some items failed with an error
#: (their errors are in the run folder; a rerun with the same folder retries them).
PARTIAL = 1
#: A usage or config error: an unknown or out-of-range value, or a run folder holding another config.
USAGE = 2
#: An input error: an input file is missing, unreadable, malformed (file:line) or holds nothing.
INPUT = 3
#: A setup error: something the run needs is not there (Lean, vLLM, Ray, a model, a server).
SETUP = 4
#: Interrupted (Ctrl-C: 128 + SIGINT); what was finished is kept and a rerun resumes.
INTERRUPTED = 130

#: (code, name, meaning) rows, in the order README.md lists them.
TABLE: tuple[tuple[int, str, str], ...] = (
    (OK, "ok", "done"),
    (PARTIAL, "partial failure", "the run finished, but some items failed with an error (listed in the run folder); rerun the same folder to retry them"),
    (USAGE, "usage/config error", "a bad option or config value, or a run folder holding another config"),
    (INPUT, "input error", "an input file is missing, unreadable, malformed or empty"),
    (SETUP, "setup error", "Lean, vLLM, Ray, a model or a server the run needs is missing or unreachable"),
    (INTERRUPTED, "interrupted", "Ctrl-C; finished work is kept and a rerun with the same folder resumes"),
)
