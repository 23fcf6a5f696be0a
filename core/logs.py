"""Logging for every process, from settings: one JSON object per line (LOG_FORMAT=json, the
default, for log pipelines) or short human lines (LOG_FORMAT=human, what `challenges dev` sets).

Every line carries the request or command it was written for (`request_id`, `job_id`, `actor`,
`user_id`): the API binds them per request, the worker per message, so one request id follows a
command from the API's access log to the worker's lines about it. They live in a context
variable, which each thread (and each gunicorn or Dramatiq worker thread) has its own of.
"""

import logging
import logging.config
import re
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

CONTEXT_FIELDS = {"request_id": "rid", "job_id": "job", "actor": "actor", "user_id": "user"}
# Libraries that are chattier than an operator needs at INFO.
# httpx: one INFO line per ChromaDB request; apscheduler: two per job run (its failures and
# missed runs are WARNING and ERROR, still shown).
QUIET_LOGGERS = {"httpx": "WARNING", "apscheduler": "WARNING"}
LOG_FORMATS = ("json", "human")
# C0 and C1 controls, DEL and the Unicode line separators: in a human line, a path or a header
# holding one could start a forged line or drive the reader's terminal.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_context: ContextVar[dict] = ContextVar("log_context", default={})


def start_log_context(**fields) -> None:
    """From here on in this thread, every record carries `fields` (those with a value) and no
    others: a new request or message begins."""
    _context.set({name: value for name, value in fields.items() if value})


def bind_log_context(**fields) -> None:
    """Adds `fields` (those with a value) to the current context, e.g. the caller once known."""
    _context.set({**_context.get(), **{name: value for name, value in fields.items() if value}})


def clear_log_context() -> None:
    """The request or message is over: a thread's next lines belong to no command."""
    _context.set({})


class ContextFilter(logging.Filter):
    """Puts the current context's fields on every record a handler writes (whichever logger it
    came from: ours, Dramatiq's, psycopg's). A field the call site passed in `extra` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


def json_formatter() -> logging.Formatter:
    """`{"level", "logger", "message", "pid", <context and extra fields>, "exception"?, "time"}`,
    the time in ISO 8601 UTC."""
    return JsonFormatter(["levelname", "name", "message", "process"], timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger", "process": "pid",
                                        "exc_info": "exception"})


class HumanFormatter(logging.Formatter):
    """`12:04:05 INFO workers.commands: command succeeded in 12.3 ms rid=... job=... user=...`:
    the message, then the context fields a reader follows a command by."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        labels = [f"{label}={getattr(record, name)}" for name, label in CONTEXT_FIELDS.items()
                  if getattr(record, name, None)]
        return escape_controls(" ".join([super().formatMessage(record), *labels]))

    def formatException(self, exc_info) -> str:
        """A traceback keeps its lines; anything else in it that could fool a reader is escaped."""
        return "\n".join(map(escape_controls, super().formatException(exc_info).split("\n")))


def escape_controls(text: str) -> str:
    """`text` on one line: each control character as its Python escape (`\\n`, `\\x1b`)."""
    return CONTROL_CHARACTERS.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def formatter_factory(log_format: str):
    """A typo in LOG_FORMAT stops the process at start, rather than logging in a surprise format."""
    if log_format == "human":
        return HumanFormatter
    if log_format == "json":
        return json_formatter
    raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {log_format!r}")


def logging_config(settings) -> dict:
    """The `logging.config.dictConfig` of every process: the root logger at LOG_LEVEL writes
    to stderr in LOG_FORMAT, with the context filter; gunicorn extends it (api/access_log.py)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"lines": {"()": formatter_factory(settings.log_format.lower())}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "lines", "filters": ["context"]}},
        "root": {"level": settings.log_level.upper(), "handlers": ["stderr"]},
        "loggers": {name: {"level": level} for name, level in QUIET_LOGGERS.items()},
    }


def configure_logging(settings) -> None:
    """Replaces whatever the process set up before (Dramatiq's own text lines, say)."""
    logging.config.dictConfig(logging_config(settings))
