"""Keeping credentials that travel in URLs out of the logs.

Three kinds of request path carry a secret: a signed resume link (``/resume/{token}``: whoever
reads it can decide the pause), a webhook (``/api/v1/executions/webhook/{ns}/{flowId}/{key}``,
also under ``/api/v1/main/``: the key starts executions) and any ``token=`` query parameter.
``redact_path`` replaces them with ``***``; ``install_access_log_redaction`` puts a filter on
uvicorn's access logger so its lines (``client - "GET /resume/*** HTTP/1.1" 200``) keep the
method, route and status but never the secret, however the app is run.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "***"

# /resume/<token>, but not /api/v1/executions/resume/by-ids (the bulk resume's route).
_RESUME = re.compile(r"(?<!/executions)(/resume/)[^?#]+")
_WEBHOOK = re.compile(r"(/executions/webhook/[^/?#]+/[^/?#]+/)[^?#]+")
_TOKEN = re.compile(r"([?&][^=&#]*token=)[^&#]*", re.IGNORECASE)


def redact_path(path: str) -> str:
    """``path`` (with or without its query string) with its credentials replaced by ``***``."""
    path = _RESUME.sub(rf"\g<1>{REDACTED}", path)
    path = _WEBHOOK.sub(rf"\g<1>{REDACTED}", path)
    return _TOKEN.sub(rf"\g<1>{REDACTED}", path)


class RedactCredentials(logging.Filter):
    """Redacts the path of uvicorn's access log records.

    uvicorn logs ``'%s - "%s %s HTTP/%s" %d'`` with ``(client_addr, method, path_with_query,
    http_version, status)``; the path is rewritten, the record is always kept. A record of
    another shape has its string arguments redacted the same way (a path may be any of them).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(redact_path(a) if isinstance(a, str) else a for a in args)
        elif isinstance(record.msg, str) and not args:
            record.msg = redact_path(record.msg)
        return True


def install_access_log_redaction() -> None:
    """Adds ``RedactCredentials`` to uvicorn's access logger, once. Logging configuration
    (uvicorn's own ``dictConfig`` included) replaces handlers but keeps logger filters."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactCredentials) for f in logger.filters):
        logger.addFilter(RedactCredentials())
