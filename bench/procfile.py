"""The Procfile's lines as the bench runs them, so what it measures is what a deploy starts.

A line is read from the Procfile at run time and expanded the way a Procfile runner's shell
would: `${NAME:-default}` from the environment the bench gives the process, leading `NAME=value`
words as that process's own environment. So a changed flag or default in the Procfile is what
the next run measures, with nothing to keep in step by hand. Only the forms the Procfile uses
are understood (`$NAME`, `${NAME}`, `${NAME:-default}`, quotes); anything else is refused rather
than guessed at.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from jobs.dev import procfile_commands

BIN = Path(sys.executable).parent
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
            raise ValueError(f"the Procfile's {name} line needs a shell ({word!r}); bench/procfile.py "
                             "only expands variables")


def local_bind(command: Command) -> Command:
    """gunicorn bound to 127.0.0.1 instead of the Procfile's 0.0.0.0: the bench's servers take
    connections from this machine only. Nothing else about serving changes."""
    bind = command.option("--bind")
    if bind is None or not bind.startswith(("0.0.0.0:", "127.0.0.1:")):
        raise ValueError(f"expected `--bind 0.0.0.0:PORT` in the Procfile's {command.name} line, not {bind!r}")
    return command.replacing(bind, "127.0.0.1:" + bind.rsplit(":", 1)[1])
