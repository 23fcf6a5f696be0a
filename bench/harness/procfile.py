"""The Procfile runner: its lines as a benchmark runs them, so that what it measures is what a
deploy starts, and the processes they start, each until its block ends.

A line is read from the Procfile at run time and expanded the way a Procfile runner's shell
would: `${NAME:-default}` from the environment the bench gives the process, leading `NAME=value`
words as that process's own environment. So a changed flag or default in the Procfile is what
the next run measures, with nothing to keep in step by hand. Only the forms the Procfile uses
are understood (`$NAME`, `${NAME}`, `${NAME:-default}`, quotes); anything else is refused rather
than guessed at. Each line runs without a shell, so the benchmark knows every pid.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from jobs.dev import procfile_commands, procfile_variables
from jobs.local_servers import wait_for_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 60
VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")
ASSIGNMENT = re.compile(r"(\w+)=(.*)", re.DOTALL)
SHELL_WORDS = {"|", "||", "&&", ";", "&", ">", ">>", "<", "2>&1"}


@dataclass(frozen=True)
class Command:
    """One Procfile process: its argv and the environment its line sets for it."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def option(self, flag: str) -> str | None:
        """The value after `flag` (e.g. gunicorn's `--workers`), None when absent."""
        return self.argv[self.argv.index(flag) + 1] if flag in self.argv else None

    def replacing(self, old: str, new: str) -> "Command":
        """The same command with the argument `old` (which must be there) swapped for `new`."""
        if old not in self.argv:
            raise ValueError(f"the Procfile's {self.name} line has no argument {old!r}: {self.argv}")
        return Command(self.name, [new if arg == old else arg for arg in self.argv], self.env)

    def adding(self, *args: str) -> "Command":
        return Command(self.name, [*self.argv, *args], self.env)

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, **self.env}

    def line(self) -> str:
        """As a Procfile line would read: `NAME=value program args`, the program without its path."""
        return " ".join([*(f"{k}={v}" for k, v in self.env.items()), Path(self.argv[0]).name, *self.argv[1:]])


def expand(text: str, env: dict[str, str]) -> str:
    """`${NAME:-default}` is the default when NAME is unset or empty, as in sh."""
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(3)
        return env.get(name) or match.group(2) or ""

    return VARIABLE.sub(value, text)


def procfile_command(name: str, env: dict[str, str]) -> Command:
    """The Procfile's `name` line expanded with `env`; its program found beside this Python
    (the venv's gunicorn, dramatiq, challenges, chroma) before PATH."""
    line = procfile_commands()[name]
    words = shlex.split(expand(line, env))
    assignments = {}
    while words and ASSIGNMENT.fullmatch(words[0]):
        key, value = ASSIGNMENT.fullmatch(words.pop(0)).groups()
        assignments[key] = value
    check_plain(name, words)
    program = BIN / words[0] if (BIN / words[0]).exists() else shutil.which(words[0])
    if program is None:
        raise FileNotFoundError(f"the Procfile's {name} line runs {words[0]!r}, which is not installed")
    return Command(name, [str(program), *words[1:]], assignments)


def check_plain(name: str, words: list[str]) -> None:
    """Refuse a line that needs a shell this module does not emulate (pipes, subshells, ...).
    Arguments such as gunicorn's `api.app:gunicorn_app()` carry parentheses, so only words that
    are shell syntax on their own are refused."""
    if not words:
        raise ValueError(f"the Procfile's {name} line runs nothing")
    for word in words:
        if word in SHELL_WORDS or word.startswith(("$(", "`")):
            raise ValueError(f"the Procfile's {name} line needs a shell ({word!r}); bench/harness/procfile.py "
                             "only expands variables")


def local_bind(command: Command) -> Command:
    """gunicorn bound to 127.0.0.1 instead of the Procfile's 0.0.0.0: the bench's servers take
    connections from this machine only. Nothing else about serving changes."""
    bind = command.option("--bind")
    if bind is None or not bind.startswith(("0.0.0.0:", "127.0.0.1:")):
        raise ValueError(f"expected `--bind 0.0.0.0:PORT` in the Procfile's {command.name} line, not {bind!r}")
    return command.replacing(bind, "127.0.0.1:" + bind.rsplit(":", 1)[1])


def isolated_environment(**values: str) -> dict[str, str]:
    """This process's environment without what a deploy could set to change a process (every
    setting of core.settings and every variable a Procfile line reads), plus `values`; PATH starts
    with this Python's bin, where the Procfile's programs are. So the shipped defaults are what
    runs, unless a benchmark sets a value itself."""
    from core.settings import Settings

    dropped = {setting.name.upper() for setting in dataclasses.fields(Settings)} | procfile_variables()
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    return {**env, **values, "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}


@contextmanager
def serving(command: Command, env: dict, log_path: Path, ready):
    """Run `command` until the block ends; yields once `ready(process, log_path)` has returned:
    its pid and what `ready` returned (the log lines that said so)."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command.argv, cwd=ROOT, env=command.environment(env), stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            yield process.pid, ready(process, log_path)
        finally:
            stop(process)


def logged(line: str, count: int = 1):
    """Ready once `line` has been logged `count` times (once per worker process)."""
    return partial(wait_logged, ready_line=line, count=count)


def wait_logged(process: subprocess.Popen, log_path: Path, ready_line: str, count: int) -> list[str]:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log_path.stem} exited with {process.returncode} while starting")
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if ready_line in line]
        if len(lines) >= count:
            return lines
        time.sleep(0.05)
    raise TimeoutError(f"{log_path.stem}: {count} x {ready_line!r} not logged in {START_TIMEOUT_SECONDS}s")


def pids_in(ready_lines: list[str], pattern: str) -> list[int]:
    """The pids the ready lines name (gunicorn's and Dramatiq's log one per worker process)."""
    return [int(re.search(pattern, line).group(1)) for line in ready_lines]


def listening(port: int):
    """Ready once something accepts connections on `port` (ChromaDB logs no fixed line)."""
    def wait(process: subprocess.Popen, log_path: Path) -> list[str]:
        wait_for_port(port, log_path.stem, timeout=START_TIMEOUT_SECONDS)
        if process.poll() is not None:
            raise RuntimeError(f"{log_path.stem} exited with {process.returncode}: port {port} is another's")
        return []

    return wait


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (a graceful stop for gunicorn, dramatiq and chroma alike), SIGKILL if that hangs."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def print_logs(log_dir: Path, lines: int = 40) -> None:
    """The tail of every server log: the only trace of why a server misbehaved."""
    for path in sorted(log_dir.glob("*.log")):
        tail = path.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- {path.name} (last {len(tail)} lines) ---", *tail, sep="\n", file=sys.stderr)
