"""Every error the HTTP service answers, mapped to a status code in one place.

Bodies are shaped like Kestra's (Micronaut ``JsonError``) so Kestra clients show them::

    {"message": "...", "_links": {"self": {"href": "/api/v1/...", "templated": false}},
     "_embedded": {"errors": [{"message": "...", "path": "..."}]}}

    engine error                  HTTP   extra fields
    FlowValidationError           422    _embedded.errors[] with path, line, column
    InputValidationError          422    _embedded.errors[] with path (the input id)
    ExpressionError               422
    NotFoundError                 404
    ConflictError                 409    state, by, on, via (who decided first, when, where;
                                         null without a decision); AlreadyDecided adds to, action
    other PausebotError           400
    LinkError                     403 (tampered) / 410 (expired)
    request validation (FastAPI)  422    _embedded.errors[] with path such as "query.size"
    a value the database refuses  400    (SQLAlchemy DataError: NUL in text, a number out of range)
    database unreachable          503

Nothing a client sends should reach the last-resort 500 handler; it exists so that a bug answers
in the same JSON shape (and is logged with its traceback) instead of a bare text page. Logged
paths are redacted (``bot.logs``): a resume link or webhook key in a log would be a credential.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.links import LinkError
from bot.logs import redact_path
from engine.errors import (
    ConflictError,
    ExpressionError,
    FlowValidationError,
    InputValidationError,
    NotFoundError,
    PausebotError,
)

log = logging.getLogger(__name__)

# Paths whose errors are always JSON; elsewhere (the web UI) HTTP errors keep FastAPI's default.
_JSON_PREFIXES = ("/api/", "/healthz", "/metrics", "/resume/")


def error_body(
    request: Request,
    message: str,
    errors: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message": message,
        "_links": {"self": {"href": request.url.path, "templated": False}},
    }
    if errors:
        body["_embedded"] = {"errors": errors}
    body.update(extra)
    return body


def error_response(
    request: Request,
    status: int,
    message: str,
    errors: list[dict[str, Any]] | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        error_body(request, message, errors, **extra), status_code=status, headers=headers
    )


def engine_error_response(request: Request, error: PausebotError) -> JSONResponse:
    """The answer for an engine error; also used by bulk operations to explain a refusal."""
    if isinstance(error, FlowValidationError):
        return error_response(request, 422, str(error), [p.as_dict() for p in error.problems])
    if isinstance(error, InputValidationError):
        return error_response(request, 422, str(error), [e.as_dict() for e in error.errors])
    if isinstance(error, ExpressionError):
        return error_response(request, 422, str(error))
    if isinstance(error, NotFoundError):
        return error_response(request, 404, str(error))
    if isinstance(error, ConflictError):  # AlreadyDecided adds ``to`` and ``action``
        return error_response(request, 409, str(error), **error.as_dict())
    return error_response(request, 400, str(error))


async def _pausebot_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, PausebotError)
    return engine_error_response(request, error)


async def _link_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, LinkError)
    return error_response(request, error.status, str(error))


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "message": item.get("msg", "invalid"),
            "path": ".".join(str(p) for p in item.get("loc", ())),
        }
        for item in error.errors()
    ]
    summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors)
    return error_response(request, 422, f"Invalid request: {summary}", errors)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if not request.url.path.startswith(_JSON_PREFIXES):
        return await http_exception_handler(request, error)
    if error.status_code == 204 or error.status_code == 304:
        return Response(status_code=error.status_code, headers=error.headers)
    return error_response(
        request, error.status_code, str(error.detail), headers=dict(error.headers or {})
    )


async def _database_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, OperationalError)
    log.error(
        "database unavailable while serving %s: %s",
        redact_path(request.url.path),
        database_reason(error),
    )
    return error_response(request, 503, "The database is unavailable; try again shortly.")


def database_reason(error: StatementError) -> str:
    """The driver's one-line reason, without the statement and its parameters (which may hold
    secret input values) that ``str(error)`` appends."""
    lines = str(error.orig if error.orig is not None else error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def refused_value(error: Exception) -> bool:
    """Whether a database error is about a value of the request rather than a bug: a
    ``DataError`` (PostgreSQL: NUL in text, integer out of range, invalid JSON), or a value
    that could not even be converted for the driver."""
    if isinstance(error, DataError):
        return True
    return (
        isinstance(error, StatementError)
        and not isinstance(error, DBAPIError)
        and isinstance(error.orig, ValueError | TypeError | OverflowError)
    )


async def _statement_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StatementError)
    if not refused_value(error):
        raise error  # a bug: the last-resort handler answers 500 and logs the traceback
    reason = database_reason(error)
    log.warning(
        "the database refused a value while serving %s: %s", redact_path(request.url.path), reason
    )
    return error_response(request, 400, f"The database refused a value of this request: {reason}")


async def _unexpected(request: Request, error: Exception) -> Response:
    log.exception(
        "unexpected error while serving %s", redact_path(request.url.path), exc_info=error
    )
    return error_response(request, 500, f"Internal server error: {type(error).__name__}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PausebotError, _pausebot_error)
    app.add_exception_handler(LinkError, _link_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(StatementError, _statement_error)
    app.add_exception_handler(Exception, _unexpected)
