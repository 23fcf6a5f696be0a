"""gunicorn's own logs as every process writes them (core/logs.py): its error log like any
line, its access log one line per request with named fields, the request id among them."""

import logging

from api.request_ids import HEADER, ROUTE_KEY, USER_KEY
from core.logs import logging_config

MISSING = "-"  # what gunicorn's atoms hold for anything the request or response did not have


def access_fields(atoms) -> dict:
    """The fields of one access line, from gunicorn's atoms (which escape `"` as `\\"`);
    those the request did not have are left out."""
    fields = {"method": atoms["m"], "path": atoms["U"], "route": atoms["{%s}e" % ROUTE_KEY],
              "status": int(atoms["s"]), "duration_ms": round(atoms["D"] / 1000, 1),
              "request_id": atoms["{%s}o" % HEADER.lower()], "user_id": atoms["{%s}e" % USER_KEY],
              "remote_addr": atoms["h"], "user_agent": atoms["a"]}
    return {name: value.replace('\\"', '"') if isinstance(value, str) else value
            for name, value in fields.items() if value not in (None, MISSING)}


class AccessLogFields(logging.Filter):
    """gunicorn logs a request as its access format filled from a dict of atoms: the record gets
    the fields by name, and a short message (`GET /api/v1/feed 200 3.1ms`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, dict):
            fields = access_fields(record.args)
            record.__dict__.update(fields)
            record.msg = "%s %s %s %.1fms"
            record.args = (fields["method"], fields["path"], fields["status"], fields["duration_ms"])
        return True


def gunicorn_logging_config(settings) -> dict:
    """gunicorn's `logconfig_dict`: both its loggers hand their lines to the root logger's
    handler; the access log's are named by AccessLogFields first."""
    config = logging_config(settings)
    config["filters"]["access"] = {"()": AccessLogFields}
    config["loggers"].update({
        "gunicorn.error": {"level": "NOTSET", "propagate": True},
        "gunicorn.access": {"level": "INFO", "filters": ["access"], "propagate": True},
    })
    return config
