"""Dates: Java DateTimeFormatter patterns, Kestra's named formats, time zones, date arithmetic."""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from engine.expressions.dialect import _require
from engine.expressions.limits import (
    _MAX_CACHED_PATTERN,
    _FilterError,
)

# ---------------------------------------------------------------------------------------------
# Dates: Java DateTimeFormatter patterns, Kestra's named formats, time zones
# ---------------------------------------------------------------------------------------------

_MONTHS = [calendar.month_name[month] for month in range(1, 13)]  # English, like Kestra's default
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_NAMED_PATTERNS = {
    "iso": "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSSSSS",
    "sql_seq": "yyyy-MM-dd HH:mm:ss",
}


@functools.lru_cache(maxsize=64)
def _zone(name: str | None) -> tzinfo:
    """Java ``ZoneId.of``: region ids, ``Z``/``UTC``, or offsets like ``+02:00``/``GMT+2``."""
    if name is None:
        name = "UTC"  # Kestra uses the JVM default zone, UTC on servers
    offset = re.fullmatch(r"(?:UTC|GMT|UT)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?", name)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        hours, minutes, seconds = (int(group or 0) for group in offset.group(2, 3, 4))
        return timezone(sign * timedelta(hours=hours, minutes=minutes, seconds=seconds))
    if name == "Z":
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        if name in ("UTC", "GMT", "UT"):
            return UTC
        raise _FilterError(f"unknown time zone {name!r}") from None


def _to_datetime(value: Any, zone: tzinfo, existing_format: str | None = None) -> datetime:
    """Kestra's AbstractDate.convert: dates at noon, epoch seconds, ISO strings (naive -> zone)."""
    _require(value)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime.combine(value, time(12), tzinfo=zone)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=zone)
    elif isinstance(value, str):
        moment = _parse_date_text(value.strip(), existing_format)
    else:
        raise _FilterError(f"cannot use a value of type {type(value).__name__} as a date")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _parse_date_text(text: str, existing_format: str | None) -> datetime:
    if existing_format and existing_format not in _NAMED_PATTERNS:
        try:
            return datetime.strptime(text, _strptime_pattern(existing_format))
        except ValueError:
            raise _FilterError(f"cannot parse {text!r} with format {existing_format!r}") from None
    region = re.fullmatch(r"(.*?)\[([^\]]+)\]", text)  # 2024-07-01T10:00+02:00[Europe/Paris]
    try:
        moment = datetime.fromisoformat(region.group(1) if region else text)
    except ValueError:
        raise _FilterError(f"cannot parse {text!r} as an ISO-8601 date") from None
    if region and moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(region.group(2)))
    return moment


def _format_datetime(moment: datetime, pattern: str, zone: tzinfo) -> str:
    moment = moment.astimezone(zone)  # formatter.withZone(zone), as in Kestra
    named = _NAMED_FORMATTERS.get(pattern)
    if named is not None:
        return named(moment)
    parts = _compile_pattern(_NAMED_PATTERNS.get(pattern, pattern))
    return "".join(part if isinstance(part, str) else part(moment) for part in parts)


def _tokenize_pattern(pattern: str) -> list[str | tuple[str, int]]:
    """Split a DateTimeFormatter pattern into literals and (letter, count) fields."""
    tokens: list[str | tuple[str, int]] = []
    index, end = 0, len(pattern)
    while index < end:
        char = pattern[index]
        if char == "'":
            if pattern.startswith("''", index):
                tokens.append("'")
                index += 2
                continue
            literal: list[str] = []
            index += 1
            while True:
                if index >= end:
                    raise _FilterError(f"unterminated quote in date pattern {pattern!r}")
                if pattern[index] == "'":
                    if pattern.startswith("''", index):
                        literal.append("'")
                        index += 2
                        continue
                    index += 1
                    break
                literal.append(pattern[index])
                index += 1
            tokens.append("".join(literal))
        elif char.isascii() and char.isalpha():
            count = 1
            while index + count < end and pattern[index + count] == char:
                count += 1
            tokens.append((char, count))
            index += count
        elif char in "[]":  # optional sections: every field is available when formatting
            index += 1
        else:
            tokens.append(char)
            index += 1
    return tokens


def _compile_pattern(pattern: str) -> tuple[str | Callable[[datetime], str], ...]:
    if len(pattern) > _MAX_CACHED_PATTERN:  # patterns come from templates: keep the cache small
        return _compile_pattern_uncached(pattern)
    return _compile_pattern_cached(pattern)


def _compile_pattern_uncached(pattern: str) -> tuple[str | Callable[[datetime], str], ...]:
    return tuple(
        token if isinstance(token, str) else _field(pattern, *token)
        for token in _tokenize_pattern(pattern)
    )


_compile_pattern_cached = functools.lru_cache(maxsize=256)(_compile_pattern_uncached)


def _padded(get: Callable[[datetime], int], width: int) -> Callable[[datetime], str]:
    return lambda moment: str(get(moment)).zfill(width)


def _field(pattern: str, letter: str, count: int) -> Callable[[datetime], str]:
    def unsupported() -> _FilterError:
        return _FilterError(f"date pattern {pattern!r}: {letter * count!r} is not supported")

    if letter in "yu":
        if count == 2:
            return lambda m: f"{m.year % 100:02d}"
        return _padded(lambda m: m.year, count)
    if letter in "ML":
        if count <= 2:
            return _padded(lambda m: m.month, count)
        if count <= 5:
            return lambda m: _text(_MONTHS[m.month - 1], count)
    if letter == "d" and count <= 2:
        return _padded(lambda m: m.day, count)
    if letter == "D" and count <= 3:
        return _padded(lambda m: m.timetuple().tm_yday, count)
    if letter == "E" and count <= 5:
        return lambda m: _text(_DAYS[m.weekday()], count)
    if letter in "Qq":
        if count <= 2:
            return _padded(lambda m: (m.month - 1) // 3 + 1, count)
        if count == 3:
            return lambda m: f"Q{(m.month - 1) // 3 + 1}"
        if count == 4:
            return lambda m: ["1st", "2nd", "3rd", "4th"][(m.month - 1) // 3] + " quarter"
    if letter == "G" and count <= 5:
        return lambda m: "AD" if count <= 3 else ("Anno Domini" if count == 4 else "A")
    if letter == "a" and count == 1:
        return lambda m: "AM" if m.hour < 12 else "PM"
    if count <= 2:
        getter: Callable[[datetime], int] | None = {
            "H": lambda m: m.hour,
            "h": lambda m: (m.hour + 11) % 12 + 1,
            "K": lambda m: m.hour % 12,
            "k": lambda m: m.hour or 24,
            "m": lambda m: m.minute,
            "s": lambda m: m.second,
        }.get(letter)
        if getter is not None:
            return _padded(getter, count)
    if letter == "S" and count <= 9:
        return lambda m: f"{m.microsecond:06d}000"[:count]
    if letter == "n":
        return _padded(lambda m: m.microsecond * 1000, count)
    if letter == "A":
        return _padded(lambda m: (m.hour * 3600 + m.minute * 60 + m.second) * 1000, count)
    if letter == "V" and count == 2:
        return _zone_id
    if letter == "z" and count <= 4:
        return lambda m: m.tzname() or _zone_id(m)
    if letter in "Xx" and count <= 5:
        return functools.partial(_offset, style=count, zulu=letter == "X")
    if letter == "Z":
        if count <= 3:
            return functools.partial(_offset, style=2, zulu=False)
        if count == 4:
            return _gmt_offset
        if count == 5:
            return functools.partial(_offset, style=5, zulu=True)
    if letter == "O" and count in (1, 4):
        return functools.partial(_gmt_offset, short=count == 1)
    raise unsupported()


def _text(full: str, count: int) -> str:
    """Text styles: 1-3 letters short, 4 full, 5 narrow (first letter)."""
    return full[:3] if count <= 3 else full if count == 4 else full[0]


def _offset_parts(moment: datetime) -> tuple[str, int, int, int]:
    total = int((moment.utcoffset() or timedelta()).total_seconds())
    hours, rest = divmod(abs(total), 3600)
    return ("-" if total < 0 else "+"), hours, *divmod(rest, 60)


def _offset(moment: datetime, *, style: int, zulu: bool) -> str:
    """Java X/x patterns (X prints Z for a zero offset): +01, +0100, +01:00, +0100[ss], ..."""
    sign, hours, minutes, seconds = _offset_parts(moment)
    if zulu and not (hours or minutes or seconds):
        return "Z"
    colon = ":" if style in (3, 5) else ""
    text = f"{sign}{hours:02d}"
    if style != 1 or minutes:
        text += f"{colon}{minutes:02d}"
    if style >= 4 and seconds:
        text += f"{colon}{seconds:02d}"
    return text


def _gmt_offset(moment: datetime, *, short: bool = False) -> str:
    sign, hours, minutes, _ = _offset_parts(moment)
    if not (hours or minutes):
        return "GMT"
    if short:
        return f"GMT{sign}{hours}" + (f":{minutes:02d}" if minutes else "")
    return f"GMT{sign}{hours:02d}:{minutes:02d}"


def _zone_id(moment: datetime) -> str:
    key = getattr(moment.tzinfo, "key", None)
    return key if isinstance(key, str) else _offset(moment, style=5, zulu=True)


def _fraction(moment: datetime, groups_of_three: bool = False) -> str:
    if not moment.microsecond:
        return ""
    digits = f"{moment.microsecond:06d}"
    if groups_of_three:
        return "." + (digits[:3] if digits.endswith("000") else digits)
    return "." + digits.rstrip("0")


def _local_date(m: datetime) -> str:
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}"


def _local_time(m: datetime) -> str:
    return f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}{_fraction(m)}"


def _offset_id(m: datetime) -> str:
    return _offset(m, style=5, zulu=True)


def _zoned(m: datetime) -> str:
    key = getattr(m.tzinfo, "key", None)  # region zones are printed in brackets
    return f"{_local_date(m)}T{_local_time(m)}{_offset_id(m)}" + (f"[{key}]" if key else "")


def _rfc_1123(m: datetime) -> str:
    offset = "GMT" if not m.utcoffset() else _offset(m, style=2, zulu=False)
    return (
        f"{_DAYS[m.weekday()][:3]}, {m.day} {_MONTHS[m.month - 1][:3]} {m.year:04d} "
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d} {offset}"
    )


def _instant(m: datetime) -> str:
    utc = m.astimezone(UTC)
    return f"{_local_date(utc)}T{utc:%H:%M:%S}{_fraction(utc, groups_of_three=True)}Z"


_NAMED_FORMATTERS: dict[str, Callable[[datetime], str]] = {
    "iso_date_time": _zoned,
    "iso_zoned_date_time": _zoned,
    "iso_offset_date_time": lambda m: f"{_local_date(m)}T{_local_time(m)}{_offset_id(m)}",
    "iso_local_date_time": lambda m: f"{_local_date(m)}T{_local_time(m)}",
    "iso_date": lambda m: _local_date(m) + _offset_id(m),
    "iso_offset_date": lambda m: _local_date(m) + _offset_id(m),
    "iso_local_date": _local_date,
    "iso_time": lambda m: _local_time(m) + _offset_id(m),
    "iso_offset_time": lambda m: _local_time(m) + _offset_id(m),
    "iso_local_time": _local_time,
    "iso_instant": _instant,
    "iso_ordinal_date": lambda m: f"{m.year:04d}-{m.timetuple().tm_yday:03d}{_offset_id(m)}",
    "iso_week_date": lambda m: "{:04d}-W{:02d}-{}".format(*m.isocalendar()) + _offset_id(m),
    "rfc_1123_date_time": _rfc_1123,
}

_STRPTIME = {
    "y": "%Y",
    "u": "%Y",
    "M": "%m",
    "d": "%d",
    "H": "%H",
    "h": "%I",
    "m": "%M",
    "s": "%S",
    "S": "%f",
    "a": "%p",
    "D": "%j",
    "X": "%z",
    "x": "%z",
    "Z": "%z",
}


def _strptime_pattern(pattern: str) -> str:
    if len(pattern) > _MAX_CACHED_PATTERN:
        return _strptime_pattern_uncached(pattern)
    return _strptime_pattern_cached(pattern)


def _strptime_pattern_uncached(pattern: str) -> str:
    """``existingFormat``: the common pattern letters, translated to strptime directives."""
    out: list[str] = []
    for token in _tokenize_pattern(pattern):
        if isinstance(token, str):
            out.append(token.replace("%", "%%"))
            continue
        letter, count = token
        if letter in "yu" and count == 2:
            out.append("%y")
        elif letter in "ML" and count in (3, 4):
            out.append("%b" if count == 3 else "%B")
        elif letter == "E" and count in (3, 4):
            out.append("%a" if count == 3 else "%A")
        elif letter in _STRPTIME:
            out.append(_STRPTIME[letter])
        else:
            raise _FilterError(f"existingFormat {pattern!r}: {letter * count!r} is not supported")
    return "".join(out)


_strptime_pattern_cached = functools.lru_cache(maxsize=64)(_strptime_pattern_uncached)


_TIME_UNITS = {
    "NANOS": timedelta(microseconds=0.001),
    "MICROS": timedelta(microseconds=1),
    "MILLIS": timedelta(milliseconds=1),
    "SECONDS": timedelta(seconds=1),
    "MINUTES": timedelta(minutes=1),
    "HOURS": timedelta(hours=1),
    "HALF_DAYS": timedelta(hours=12),
}
_DAY_UNITS = {"DAYS": 1, "WEEKS": 7}
_MONTH_UNITS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}


def _plus(moment: datetime, amount: int, unit: str) -> datetime:
    """Java ``ZonedDateTime.plus``: time units move the instant, date units the local date."""
    if unit in _TIME_UNITS:
        utc = moment.astimezone(UTC) + amount * _TIME_UNITS[unit]
        return utc.astimezone(moment.tzinfo)
    if unit in _DAY_UNITS:
        local = moment.replace(tzinfo=None) + timedelta(days=amount * _DAY_UNITS[unit])
        return local.replace(tzinfo=moment.tzinfo)
    if unit in _MONTH_UNITS:
        months = moment.year * 12 + moment.month - 1 + amount * _MONTH_UNITS[unit]
        year, month = divmod(months, 12)
        day = min(moment.day, calendar.monthrange(year, month + 1)[1])  # Jan 31 + 1 month: Feb 29
        return moment.replace(year=year, month=month + 1, day=day)
    units = ", ".join([*_TIME_UNITS, *_DAY_UNITS, *_MONTH_UNITS])
    raise _FilterError(f"dateAdd: unknown unit {unit!r} (expected one of {units})")
