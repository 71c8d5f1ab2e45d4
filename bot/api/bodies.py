"""Request bodies: the size limit, and the one strict reader of forms, input values and YAML.

Input values (flow inputs, onResume values) come as multipart form data (Kestra's format, what
``curl -F approved=true`` sends), a URL-encoded form, or a JSON object. Anything else is a 415
that says what to send; malformed JSON (or JSON pausebot cannot hold, see ``load_json``) is
a 400 that says where it broke.

Forms are parsed here, not by Starlette: its parser answers a multipart body cut before the
closing boundary with the fields it got so far (a resume whose ``approved=false`` part was cut
off would resume with the default), and decodes bytes that are not UTF-8 as Latin-1 and
percent-escapes of invalid UTF-8 as U+FFFD. ``parse_form`` accepts only a body that parses
completely, as UTF-8, else ``MalformedBody`` (400) says what is wrong and which field. Every
route that reads a form (the API, webhooks, signed links, the web UI; Slack's bodies are checked
with ``parse_urlencoded``) goes through it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException, Request
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.storage import UploadedFile

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
YAML_TYPES = ("application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml", "text/plain")


class BodyTooLarge(HTTPException):
    """An HTTPException so that FastAPI's own body parsing lets it through as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"Request body too large: the limit is {limit} bytes.")


class BodySizeLimit:
    """ASGI middleware refusing bodies over ``max_bytes``: at once when Content-Length says so,
    else (chunked uploads) as soon as the bytes received pass the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _send_413(scope, send, self.max_bytes)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Reached only when a handler read the body outside FastAPI's exception handling.
            if not started:
                await _send_413(scope, send, self.max_bytes)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(scope: Scope, send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "message": f"Request body too large: the limit is {limit} bytes.",
            "_links": {"self": {"href": scope.get("path", ""), "templated": False}},
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


MAX_JSON_DEPTH = 64  # arrays and objects inside each other; real payloads stay far below
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonBodyError(ValueError):
    """Why a JSON body is refused, as a sentence for the client. ``syntax``: it is not JSON at
    all (rather than JSON that pausebot cannot hold)."""

    def __init__(self, message: str, *, syntax: bool = False) -> None:
        super().__init__(message)
        self.syntax = syntax


def load_json(raw: bytes | str) -> Any:
    """Parses a JSON body that the rest of pausebot can hold: strict JSON in UTF-8 (no NaN or
    Infinity, which PostgreSQL refuses to store), at most ``MAX_JSON_DEPTH`` levels deep (deeper
    documents cannot be stored or rendered, and very deep ones exhaust the parser's recursion),
    without unpaired surrogates (``"\\ud800"``, which no database or encoder accepts).

    Raises ``JsonBodyError``: every request JSON goes through here, so none can reach the
    database or a template and fail there as a 500."""
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise JsonBodyError("Malformed JSON: the body is not UTF-8.", syntax=True) from None
    except json.JSONDecodeError as error:
        raise JsonBodyError(
            f"Malformed JSON: {error.msg} at line {error.lineno}, column {error.colno}.",
            syntax=True,
        ) from None
    except RecursionError:
        raise JsonBodyError(_too_deep()) from None
    except JsonBodyError as error:  # NaN, Infinity, 1e400
        raise JsonBodyError(f"Malformed JSON: {error}") from None
    except ValueError:  # Python refuses integers of more than 4300 digits
        raise JsonBodyError("Malformed JSON: a number has too many digits.") from None
    check_json(data)
    return data


def _no_constant(name: str) -> Any:
    raise JsonBodyError(f"{name} is not a valid JSON number.")


def _finite_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise JsonBodyError(f"the number {text[:40]} is too large.")
    return number


def _too_deep() -> str:
    return f"The JSON body is nested too deeply: at most {MAX_JSON_DEPTH} levels are accepted."


def check_json(data: Any) -> None:
    """The depth and text checks of ``load_json`` on a parsed document (without recursion)."""
    pending: list[tuple[Any, int]] = [(data, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise JsonBodyError(_too_deep())
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and _SURROGATE.search(key):
                    raise JsonBodyError(_surrogate())
                pending.append((item, depth + 1))
        elif isinstance(value, str) and _SURROGATE.search(value):
            raise JsonBodyError(_surrogate())


def _surrogate() -> str:
    return "Malformed JSON: a string holds an unpaired surrogate escape (such as \\ud800)."


def parse_json(raw: bytes) -> Any:
    """``load_json`` for a route: a refused body is a 400 that says why."""
    try:
        return load_json(raw)
    except JsonBodyError as error:
        raise HTTPException(400, str(error)) from None


# -- forms ------------------------------------------------------------------------------

MAX_FORM_FIELDS = 1000


class MalformedBody(HTTPException):
    """A body that does not parse completely, or is not UTF-8: 400, nothing is decided.
    ``field`` names the form field at fault, when there is one."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(status, message)
        self.field = field


@dataclass(frozen=True)
class FilePart:
    """A multipart part with a ``filename``: a FILE input's upload (refused elsewhere)."""

    filename: str
    data: bytes = b""


FormValue = str | FilePart


def form_charset(content_type: str) -> None:
    """A declared charset other than UTF-8 is refused (415): values would be misread."""
    _, options = parse_options_header(content_type)
    charset = options.get(b"charset")
    if charset is not None and charset.decode("latin-1").strip().lower() not in ("utf-8", "utf8"):
        raise MalformedBody(
            f"Unsupported charset {charset.decode('latin-1')!r}: send the form as UTF-8.",
            status=415,
        )


def _utf8(raw: bytes, what: str, field: str | None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedBody(
            f"Malformed form body: {what} is not UTF-8 text.", field=field
        ) from None


_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _unquote(raw: bytes, what: str, field: str | None) -> str:
    if _PERCENT.search(raw):
        raise MalformedBody(
            f"Malformed form body: {what} has a '%' that is not followed by two hex digits.",
            field=field,
        )
    return _utf8(unquote_to_bytes(raw.replace(b"+", b" ")), what, field)


def parse_urlencoded(raw: bytes) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded``, strictly: every pair is ``name=value``, every
    percent-escape is two hex digits, and names and values decode as UTF-8 (``&&`` and a
    trailing ``&`` are harmless and skipped)."""
    fields: list[tuple[str, str]] = []
    for number, pair in enumerate(raw.split(b"&"), start=1):
        if not pair.strip(b" \t\r\n"):
            continue
        raw_name, sep, raw_value = pair.partition(b"=")
        name = _unquote(raw_name, f"the name of field {number}", None)
        if not sep:
            raise MalformedBody(
                f"Malformed form body: field {name[:100]!r} has no '=' (send name=value pairs; "
                "a JSON body needs Content-Type: application/json).",
                field=name,
            )
        if not name:
            raise MalformedBody(f"Malformed form body: field {number} has no name.")
        fields.append((name, _unquote(raw_value, f"the value of field {name[:100]!r}", name)))
        if len(fields) > MAX_FORM_FIELDS:
            raise MalformedBody(f"Too many form fields: at most {MAX_FORM_FIELDS}.")
    return fields


class _Part:
    def __init__(self) -> None:
        self.headers: dict[str, bytes] = {}
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.data = bytearray()


def parse_multipart(raw: bytes, content_type: str) -> list[tuple[str, FormValue]]:
    """``multipart/form-data``, strictly: the body must end with its closing boundary
    (``--boundary--``), each part must have ``Content-Disposition: form-data; name=...``, and
    names and text values must be UTF-8. Parts with a ``filename`` come back as ``FilePart``."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise MalformedBody(
            "Malformed multipart body: the Content-Type has no boundary "
            "(let the client set it: curl -F name=value)."
        )
    parts: list[_Part] = []
    ended = False

    def begin() -> None:
        if len(parts) >= MAX_FORM_FIELDS:
            raise MalformedBody(f"Too many form fields: at most {MAX_FORM_FIELDS}.")
        parts.append(_Part())

    def header_field(data: bytes, start: int, end: int) -> None:
        parts[-1].header_name += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        parts[-1].header_value += data[start:end]

    def header_end() -> None:
        part = parts[-1]
        part.headers[bytes(part.header_name).decode("latin-1").strip().lower()] = bytes(
            part.header_value
        ).strip()
        part.header_name, part.header_value = bytearray(), bytearray()

    def part_data(data: bytes, start: int, end: int) -> None:
        parts[-1].data += data[start:end]

    def end_of_body() -> None:
        nonlocal ended
        ended = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": begin,
            "on_header_field": header_field,
            "on_header_value": header_value,
            "on_header_end": header_end,
            "on_part_data": part_data,
            "on_end": end_of_body,
        },
    )
    try:
        parser.write(raw)
        parser.finalize()
    except MultipartParseError as error:
        raise MalformedBody(f"Malformed multipart body: {error}.") from None
    if not ended:
        # Whatever was received may be a decision cut in half: take none of it.
        raise MalformedBody(
            "Malformed multipart body: it ends before its closing boundary "
            f"('--{boundary.decode('latin-1')}--'); nothing was read from it."
        )
    return [_part_field(number, part) for number, part in enumerate(parts, start=1)]


def _part_field(number: int, part: _Part) -> tuple[str, FormValue]:
    disposition = part.headers.get("content-disposition")
    kind, options = parse_options_header(disposition) if disposition else (b"", {})
    if kind.lower() != b"form-data" or b"name" not in options:
        raise MalformedBody(
            f"Malformed multipart body: part {number} has no "
            "'Content-Disposition: form-data; name=\"...\"' header."
        )
    name = _utf8(options[b"name"], f"the name of part {number}", None)
    if not name:
        raise MalformedBody(f"Malformed multipart body: part {number} has an empty name.")
    if b"filename" in options or b"filename*" in options:
        filename = options.get(b"filename") or options.get(b"filename*") or b""
        return name, FilePart(filename.decode("utf-8", errors="replace"), bytes(part.data))
    part_type = part.headers.get("content-type")
    if part_type is not None:
        try:
            form_charset(part_type.decode("latin-1"))
        except MalformedBody as error:
            raise MalformedBody(f"Field {name!r}: {error.detail}", field=name) from None
    encoding = part.headers.get("content-transfer-encoding", b"").lower()
    if encoding not in (b"", b"7bit", b"8bit", b"binary"):
        raise MalformedBody(
            f"Field {name!r}: Content-Transfer-Encoding {encoding.decode('latin-1')!r} is "
            "not supported; send the value as it is.",
            field=name,
        )
    return name, _utf8(bytes(part.data), f"the value of field {name[:100]!r}", name)


def parse_form(content_type: str, raw: bytes) -> list[tuple[str, FormValue]]:
    """A form body of either kind (``content_type`` is the whole header); ``[]`` for an empty
    body, which carries no values."""
    if not raw.strip():
        return []
    form_charset(content_type)
    kind = content_type.split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return parse_multipart(raw, content_type)
    return parse_urlencoded(raw)


async def read_form_body(request: Request, *, files: bool = False) -> FormData:
    """The request's form (either kind), strictly parsed, for the web UI and link pages. A file
    part is refused (400) unless ``files``: then it is an ``UploadedFile``, which only a FILE
    input takes (the UI's decision and Run forms)."""
    fields = parse_form(request.headers.get("content-type", ""), await request.body())
    taken: list[tuple[str, Any]] = []
    for name, value in fields:
        if isinstance(value, FilePart):
            if not files:
                raise MalformedBody(
                    f"Field {name!r}: file uploads are not accepted here.", field=name
                )
            value = UploadedFile(value.filename, value.data)
        taken.append((name, value))
    return FormData(taken)  # type: ignore[arg-type]


async def read_values(request: Request, *, what: str = "input values") -> dict[str, Any]:
    """The values of a form or JSON object body; ``{}`` for an empty body.

    A repeated form field becomes a list (MULTISELECT, ARRAY). A file part becomes an
    ``UploadedFile`` (the engine stores it for a FILE input and refuses it for any other).
    """
    kind = media_type(request)
    raw = await request.body()
    if kind in FORM_TYPES:
        values: dict[str, Any] = {}
        grouped: dict[str, list[Any]] = {}
        for name, part in parse_form(request.headers.get("content-type", ""), raw):
            value = UploadedFile(part.filename, part.data) if isinstance(part, FilePart) else part
            grouped.setdefault(name, []).append(value)
        for key, items in grouped.items():
            values[key] = items[0] if len(items) == 1 else list(items)
        return values
    if kind == "application/json" or kind.endswith("+json"):
        if not raw.strip():
            return {}
        data = parse_json(raw)
        if not isinstance(data, dict):
            raise HTTPException(
                422, f"The JSON body must be an object of {what}, got {type(data).__name__}."
            )
        return data
    if not raw.strip():
        return {}
    raise HTTPException(
        415,
        f"Unsupported content type {kind or '(none)'!r}: send {what} as multipart/form-data "
        "(curl -F name=value), application/x-www-form-urlencoded or an application/json object.",
    )


async def read_yaml(request: Request) -> str:
    kind = media_type(request)
    if kind and kind not in YAML_TYPES:
        raise HTTPException(
            415,
            f"Unsupported content type {kind!r}: send the flow's YAML with "
            "'Content-Type: application/x-yaml' (curl --data-binary @flow.yml).",
        )
    raw = await request.body()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(400, "The flow is not UTF-8 text.") from None
