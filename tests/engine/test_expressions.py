"""Pebble-compatible expressions: rendering, ``??``/ternary, strict undefined, filters, sandbox."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.errors import ExpressionError
from engine.expressions import (
    dialect,
    env_variables,
    has_expression,
    is_truthy,
    limits,
    render,
    render_condition,
    render_value,
    to_json,
    to_text,
)

VACATION_REQUEST = {"name": "Rick Astley", "start_date": "2024-07-01", "end_date": "2024-07-07"}


@pytest.fixture
def ctx() -> dict[str, Any]:
    return {
        "flow": {"id": "vacation", "namespace": "company.team", "revision": 1},
        "execution": {"id": "6Zq3x1y", "startDate": "2024-06-20T08:00:00.000Z"},
        "inputs": {
            "request": dict(VACATION_REQUEST),
            "behavior": "RESUME",
            "flag": True,
            "off": False,
            "nothing": None,
            "count": 3,
            "ratio": 0.5,
            "tags": ["a", "b", "c"],
            "blank": "  ",
        },
        "outputs": {
            "pause": {"resumed": True},
            "waitForApproval": {"onResume": {"reason": "Enjoy!", "approved": True}},
            "approve": {"body": '{"status":"ok"}', "code": 200},
        },
        "vars": {"greeting": "Hello {{ inputs.request.name }}", "loop": "{{ render(vars.loop) }}"},
        "labels": {"team": "ops"},
        "task": {"id": "log", "type": "io.kestra.plugin.core.log.Log"},
        "taskrun": {"id": "tr1", "startDate": "2024-06-20T08:00:01.5Z"},
        "trigger": {},
        "envs": {"team_name": "ops"},
        "kestra": {"url": "http://localhost:28080/"},
    }


def failure(template: str, context: dict[str, Any]) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        render(template, context)
    assert caught.value.expression == template
    return caught.value


# --- plain strings and render_value -----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "plain text", "a } b { c", "100% {x}", "what??", "{ {x} }"])
def test_plain_strings_are_returned_unchanged(text: str) -> None:
    assert not has_expression(text)
    assert render(text, {}) is text


def test_plain_strings_are_not_even_looked_at() -> None:
    # The fast path never parses, so text that would be invalid Jinja is fine.
    assert render("} %} #} { {", {}) == "} %} #} { {"
    assert has_expression("a {{ b") and has_expression("{% x") and has_expression("{# c")


def test_render_value_walks_dicts_and_lists(ctx: dict[str, Any]) -> None:
    value = {
        "uri": "{{ kestra.url }}ui/{{ flow.id }}",
        "{{ not.a.key.template }}": ["{{ inputs.count }}", 5, None, {"deep": "{{ labels.team }}"}],
        "n": 1.5,
        "flag": True,
        "t": ("{{ flow.revision }}",),
    }
    rendered = render_value(value, ctx)
    assert rendered == {
        "uri": "http://localhost:28080/ui/vacation",
        "{{ not.a.key.template }}": ["3", 5, None, {"deep": "ops"}],
        "n": 1.5,
        "flag": True,
        "t": ("1",),
    }
    assert value["uri"] == "{{ kestra.url }}ui/{{ flow.id }}"  # input untouched


def test_render_value_returns_non_strings_as_is() -> None:
    marker = object()
    assert render_value(marker, {}) is marker
    assert render_value(42, {}) == 42
    assert render_value(None, {}) is None


def test_render_value_error_names_the_failing_string(ctx: dict[str, Any]) -> None:
    with pytest.raises(ExpressionError) as caught:
        render_value({"a": "ok", "b": ["{{ inputs.nope }}"]}, ctx)
    assert caught.value.expression == "{{ inputs.nope }}"


# --- printing values like Kestra -----------------------------------------------------------------


def test_vacation_body_is_valid_json(ctx: dict[str, Any]) -> None:
    body = render("{{ inputs.request }}", ctx)
    assert json.loads(body) == VACATION_REQUEST
    assert body == '{"name":"Rick Astley","start_date":"2024-07-01","end_date":"2024-07-07"}'


def test_lists_and_nested_maps_render_as_compact_json(ctx: dict[str, Any]) -> None:
    assert render("{{ inputs.tags }}", ctx) == '["a","b","c"]'
    assert render("{{ outputs.waitForApproval }}", ctx) == (
        '{"onResume":{"reason":"Enjoy!","approved":true}}'
    )
    assert render("{{ {'k': [1, null, true]} }}", {}) == '{"k":[1,null,true]}'
    assert render("{{ {'name': 'Zoë'} }}", {}) == '{"name":"Zoë"}'


def test_json_of_dates_and_decimals() -> None:
    context = {
        "v": {
            "d": date(2024, 7, 1),
            "t": datetime(2024, 7, 1, 10, 0, tzinfo=UTC),
            "n": Decimal("2.0"),
        }
    }
    assert render("{{ v }}", context) == '{"d":"2024-07-01","t":"2024-07-01T10:00:00Z","n":2}'


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.flag }}", "true"),
        ("{{ inputs.off }}", "false"),
        ("{{ true }}", "true"),
        ("{{ 1 == 1 }}", "true"),
        ("{{ inputs.count > 5 }}", "false"),
        ("{{ inputs.nothing }}", ""),
        ("{{ null }}", ""),
        ("{{ inputs.count }}", "3"),
        ("{{ inputs.ratio }}", "0.5"),
        ("{{ 1.0 }}", "1.0"),
        ("{{ 2.5 * 2 }}", "5.0"),
        ("{{ 1e20 }}", "1.0E20"),
        ("{{ 0.0001 }}", "1.0E-4"),
        ("{{ 12345678.9 }}", "1.23456789E7"),
        ("{{ 'x' ~ true ~ null ~ 1.0 }}", "xtrue1.0"),
        ("{{ inputs.flag ~ '' }}", "true"),
    ],
)
def test_scalars_print_like_pebble(ctx: dict[str, Any], template: str, expected: str) -> None:
    assert render(template, ctx) == expected


def test_datetimes_print_as_iso() -> None:
    moment = datetime(2024, 7, 1, 10, 15, 30, tzinfo=UTC)
    assert render("{{ t }}", {"t": moment}) == "2024-07-01T10:15:30Z"
    assert render("{{ d }}", {"d": date(2024, 7, 1)}) == "2024-07-01"


def test_to_text_and_to_json_helpers() -> None:
    assert to_text(None) == ""
    assert to_text(False) == "false"
    assert to_text({"a": 1}) == '{"a":1}'
    assert to_text(float("nan")) == "NaN"
    assert to_text(-0.0) == "-0.0"
    assert to_json(None) == "null"
    assert to_json({"a": [1, "b"]}) == '{"a":[1,"b"]}'


def test_trailing_newline_is_kept_and_tag_lines_trimmed() -> None:
    assert render("Hi {{ name }}\n", {"name": "Bob"}) == "Hi Bob\n"
    assert render("{% if true %}\nyes\n{% endif %}\ndone", {}) == "yes\ndone"


# --- Kestra seed templates -----------------------------------------------------------------------


def test_seed_vacation_message(ctx: dict[str, Any]) -> None:
    template = (
        "Validate holiday request for {{ inputs.request.name }}. To approve the request, click on "
        "the Resume button here http://localhost:28080/ui/executions/"
        "{{flow.namespace}}/{{flow.id}}/{{execution.id}}"
    )
    assert render(template, ctx) == (
        "Validate holiday request for Rick Astley. To approve the request, click on the Resume "
        "button here http://localhost:28080/ui/executions/company.team/vacation/6Zq3x1y"
    )


def test_seed_status_message(ctx: dict[str, Any]) -> None:
    template = (
        "Status is {{ outputs.waitForApproval.onResume.reason }}. "
        "Process finished with {{ outputs.approve.body }}"
    )
    assert render(template, ctx) == 'Status is Enjoy!. Process finished with {"status":"ok"}'


def test_seed_task_and_taskrun(ctx: dict[str, Any]) -> None:
    assert render("{{task.id}} > {{taskrun.startDate}}", ctx) == "log > 2024-06-20T08:00:01.5Z"


def test_seed_behavior(ctx: dict[str, Any]) -> None:
    assert render("{{inputs.behavior}}", ctx) == "RESUME"


def test_seed_pause_on_resume_optional(ctx: dict[str, Any]) -> None:
    assert render("{{outputs.pause.onResume.asked ?? 'MISSING'}}", ctx) == "MISSING"


# --- ?? and ??? ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ outputs.pause.onResume.asked ?? 'MISSING' }}", "MISSING"),
        ("{{ inputs.nothing ?? 'null-default' }}", "null-default"),
        ("{{ inputs.missing ?? 'undefined-default' }}", "undefined-default"),
        ("{{ inputs.behavior ?? 'unused' }}", "RESUME"),
        ("{{ inputs.off ?? 'unused' }}", "false"),  # false is a value, not null
        ("{{ inputs.count ?? 0 }}", "3"),
        ("{{ missing ?? inputs.nothing ?? 'c' }}", "c"),
        ("{{ missing ?? other.missing ?? inputs.count }}", "3"),
        ("{{ missing??'tight' }}", "tight"),
        ("{{ outputs['pause']['nope'] ?? 'idx' }}", "idx"),
        ("{{ inputs.tags[10] ?? 'none' }}", "none"),
        ("{{ null ?? 'n' }}", "n"),
        ("{{ missing ?? null }}", ""),
        ("{{ missing ?? {'a': 1} }}", '{"a":1}'),
        ("{{ missing ?? ['x'] }}", '["x"]'),
        ("{{ inputs.request.name ?? 'x' }}", "Rick Astley"),
    ],
)
def test_null_coalescing(ctx: dict[str, Any], template: str, expected: str) -> None:
    assert render(template, ctx) == expected


def test_coalescing_inside_string_literals_is_untouched(ctx: dict[str, Any]) -> None:
    assert render("{{ 'what??' }}", ctx) == "what??"
    assert render('{{ "a ?? b ? c : d" }}', ctx) == "a ?? b ? c : d"
    assert render("{{ missing ?? 'really ?? yes' }}", ctx) == "really ?? yes"
    assert render("{{ 'it\\'s ??' ~ (missing ?? '!') }}", ctx) == "it's ??!"
    assert render("Really?? {{ inputs.behavior }}?", ctx) == "Really?? RESUME?"


def test_coalescing_in_tags(ctx: dict[str, Any]) -> None:
    assert render("{% if outputs.pause.onResume.ok ?? true %}yes{% endif %}", ctx) == "yes"
    assert render("{% if outputs.pause.resumed ?? false %}yes{% else %}no{% endif %}", ctx) == "yes"
    assert render("{% set x = missing ?? 'set' %}{{ x }}", ctx) == "set"
    assert render("{% for t in missing ?? inputs.tags %}{{ t }}{% endfor %}", ctx) == "abc"
    assert render("{% if not (missing ?? false) %}neg{% endif %}", ctx) == "neg"


def test_coalescing_binds_tighter_than_filters_and_concat(ctx: dict[str, Any]) -> None:
    # Pebble precedence: `??` (120) > `~` (110) > `|` (100).
    assert render("{{ missing ?? 'abc' | upper }}", ctx) == "ABC"
    assert render("{{ inputs.behavior ?? 'abc' | lower }}", ctx) == "resume"
    assert render("{{ 'Hi ' ~ missing ?? 'there' }}", ctx) == "Hi there"
    assert render("{{ missing ?? 1 == 1 }}", ctx) == "true"
    assert render("{{ missing ?? 2 + 3 }}", ctx) == "5"
    assert render("{{ -inputs.count ?? 0 }}", ctx) == "-3"
    assert render("{{ missing ?? 'x' is defined }}", ctx) == "true"


def test_coalescing_is_lazy(ctx: dict[str, Any]) -> None:
    assert render("{{ 'left' ?? (1 / 0) }}", ctx) == "left"
    assert render("{{ inputs.behavior ?? fromJson('not json') }}", ctx) == "RESUME"


def test_coalescing_catches_undefined_errors_on_the_left(ctx: dict[str, Any]) -> None:
    # Pebble catches the attribute error raised while evaluating the left side.
    assert render("{{ missing | upper ?? 'd' }}", ctx) == "d"
    assert render("{{ outputs.nope.x | length ?? 0 }}", ctx) == "0"


def test_undefined_coalescing_keeps_null(ctx: dict[str, Any]) -> None:
    assert render("{{ inputs.nothing ??? 'u' }}", ctx) == ""
    assert render("{{ missing ??? 'u' }}", ctx) == "u"


def test_raw_and_verbatim_blocks_are_untouched(ctx: dict[str, Any]) -> None:
    assert render("{% raw %}{{ a ?? b }}{% endraw %}", ctx) == "{{ a ?? b }}"
    assert render("{% verbatim %}{{ a ? b : c }}{% endverbatim %}!", ctx) == "{{ a ? b : c }}!"
    assert render("{# a ?? b #}{{ inputs.count ?? 0 }}", ctx) == "3"


# --- ternary -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.flag ? 'yes' : 'no' }}", "yes"),
        ("{{ inputs.off ? 'yes' : 'no' }}", "no"),
        ("{{ inputs.count > 2 ? 'big' : 'small' }}", "big"),
        ("{{ inputs.off ? 'a' : inputs.flag ? 'b' : 'c' }}", "b"),
        ("{{ inputs.flag ? {'k': 'v'} : [1] }}", '{"k":"v"}'),
        ("{{ (missing ?? false) ? 'a' : 'b' }}", "b"),
        ("{{ missing is defined ? missing : 'fallback' }}", "fallback"),
        ("{{ inputs.flag ? 'x' : 'y' | upper }}", "x"),
        ("{{ inputs.tags[inputs.flag ? 0 : 1] }}", "a"),
        ("{{ inputs.behavior | default(inputs.off ? 'a' : 'b') }}", "RESUME"),
        ("{% set s = inputs.flag ? 'on' : 'off' %}{{ s }}", "on"),
        ("{% if inputs.off ? true : false %}T{% else %}F{% endif %}", "F"),
        ("{% for t in inputs.flag ? inputs.tags : [] %}{{ t }}{% endfor %}", "abc"),
        ("{{ 10 is divisibleby 5 ? 'div' : 'not' }}", "div"),
        ("{{ 'a' if inputs.flag else 'b' }}", "a"),  # Jinja's own form keeps working
    ],
)
def test_ternary(ctx: dict[str, Any], template: str, expected: str) -> None:
    assert render(template, ctx) == expected


def test_ternary_on_undefined_condition_is_an_error(ctx: dict[str, Any]) -> None:
    assert "'missing' is undefined" in failure("{{ missing ? 1 : 2 }}", ctx).reason


# --- other Pebble syntax -------------------------------------------------------------------------


def test_pebble_word_operators(ctx: dict[str, Any]) -> None:
    assert render("{{ inputs.behavior equals 'RESUME' }}", ctx) == "true"
    assert render("{{ inputs.tags contains 'b' }}", ctx) == "true"
    assert render("{{ inputs.request contains 'name' }}", ctx) == "true"
    assert render("{{ 'abc' contains 'z' }}", ctx) == "false"
    assert render("{{ inputs.nothing is null }}", ctx) == "true"
    assert render("{{ inputs.blank is empty }}", ctx) == "true"
    assert render("{{ inputs.tags is empty }}", ctx) == "false"


# --- strict undefined ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("{{ outputs.foo }}", "outputs.foo"),
        ("{{ outputs.foo.bar.baz }}", "outputs.foo"),
        ("{{ outputs.pause.onResume.asked }}", "outputs.pause.onResume"),
        ("{{ missing }}", "missing"),
        ("{{ inputs.request.nmae }}", "inputs.request.nmae"),
        ("{{ inputs['my-input'] }}", 'inputs["my-input"]'),
        ("{{ 'x' ~ inputs.nope }}", "inputs.nope"),
        ("{{ inputs.nope == 1 }}", "inputs.nope"),
        ("{% if inputs.nope %}x{% endif %}", "inputs.nope"),
        ("{% for x in inputs.nope %}{% endfor %}", "inputs.nope"),
        ("{{ inputs.nope | upper }}", "inputs.nope"),
        ("{{ inputs.nope | toJson }}", "inputs.nope"),
        ("{{ inputs.nope + 1 }}", "inputs.nope"),
    ],
)
def test_undefined_is_an_error_naming_the_path(
    ctx: dict[str, Any], template: str, path: str
) -> None:
    error = failure(template, ctx)
    assert f"'{path}' is undefined" in error.reason
    assert template in str(error)


def test_undefined_error_lists_available_keys(ctx: dict[str, Any]) -> None:
    reason = failure("{{ inputs.request.nmae }}", ctx).reason
    assert "keys: name, start_date, end_date" in reason


def test_undefined_fallbacks(ctx: dict[str, Any]) -> None:
    assert render("{{ missing | default('d') }}", ctx) == "d"
    assert render("{{ outputs.a.b.c | default('deep') }}", ctx) == "deep"
    assert render("{% if missing is defined %}yes{% else %}no{% endif %}", ctx) == "no"
    assert render("{% if outputs.pause.onResume.x is defined %}y{% else %}n{% endif %}", ctx) == "n"
    assert render("{% if outputs.pause.resumed is defined %}y{% endif %}", ctx) == "y"
    assert render("{{ missing is not defined }}", ctx) == "true"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "d"), ("", "d"), ("  ", "d"), ([], "d"), ({}, "d"), (0, "0"), (False, "false")],
)
def test_default_uses_pebble_emptiness(value: Any, expected: str) -> None:
    assert render("{{ v | default('d') }}", {"v": value}) == expected


# --- conditions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rendered", "truthy"),
    [
        ("false", False),
        ("0", False),
        ("-0", False),
        ("", False),
        ("  ", False),
        (" false\n", False),
        ("true", True),
        ("False", True),
        ("FALSE", True),
        ("no", True),
        ("1", True),
        ("0.0", True),
        ("null", True),
    ],
)
def test_condition_truthiness(rendered: str, truthy: bool) -> None:
    assert is_truthy(rendered) is truthy
    assert render_condition(rendered, {}) is truthy
    assert render_condition("{{ v }}", {"v": rendered}) is truthy


def test_render_condition_with_expressions(ctx: dict[str, Any]) -> None:
    assert render_condition("{{ inputs.behavior == 'RESUME' }}", ctx) is True
    assert render_condition("{{ inputs.off }}", ctx) is False
    assert render_condition("{{ inputs.nothing }}", ctx) is False
    assert render_condition("{{ outputs.pause.onResume.ok ?? false }}", ctx) is False
    assert render_condition(True, ctx) is True  # type: ignore[arg-type]
    with pytest.raises(ExpressionError):
        render_condition("{{ inputs.nope }}", ctx)


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.request | json }}", json.dumps(VACATION_REQUEST, separators=(",", ":"))),
        ("{{ inputs.tags | toJson }}", '["a","b","c"]'),
        ("{{ 'x\"y' | toJson }}", '"x\\"y"'),
        ("{{ null | toJson }}", "null"),
        ("{{ (outputs.approve.body | fromJson).status }}", "ok"),
        ("{{ '[1, 2]' | fromJson | length }}", "2"),
        ("{{ 'ab' | upper }} {{ 'AB' | lower }}", "AB ab"),
        ("{{ true | upper }}", "TRUE"),
        ("{{ 'hello wORLD' | capitalize }}", "Hello wORLD"),
        ("{{ 'hello big  wORLD' | title }}", "Hello Big  WORLD"),
        ("{{ '  pad \t' | trim }}", "pad"),
        ("{{ inputs.tags | length }} {{ 'abcd' | length }} {{ null | length }}", "3 4 0"),
        ("{{ inputs.request | keys }}", '["name","start_date","end_date"]'),
        ("{{ outputs.approve | values }}", '["{\\"status\\":\\"ok\\"}",200]'),
        ("{{ inputs.tags | first }}{{ inputs.tags | last }}", "ac"),
        ("{{ 'xyz' | first }}{{ 'xyz' | last }}", "xz"),
        ("{{ [] | first }}", ""),
        ("{{ inputs.tags | join(', ') }}", "a, b, c"),
        ("{{ [1, true, null] | join('-') }}", "1-true-"),
        ("{{ 'a,b,,c,,' | split(',') }}", '["a","b","","c"]'),
        ("{{ 'a,b,c' | split(',', 2) }}", '["a","b,c"]'),
        ("{{ 'Hello World' | replace({'Hello': 'Bye', 'World': 'all'}) }}", "Bye all"),
        ("{{ 'aaa' | replace('a', 'b') }}", "bbb"),
        ("{{ 'aaa' | replace('a', 'b', 2) }}", "bba"),
        ("{{ 'v1.2.3' | replace({'(\\\\d)': '<$1>'}, regexp=true) }}", "v<1>.<2>.<3>"),
        ("{{ {'k': 'a-b', 'l': ['a']} | replace({'a': 'z'}) }}", '{"k":"z-b","l":["z"]}'),
        ("{{ 'Héllo, Wörld!  Now_ok' | slugify }}", "hello-world-now_ok"),
        ("{{ 'a.b.c' | substringBefore('.') }}", "a"),
        ("{{ 'a.b.c' | substringAfter('.') }}", "b.c"),
        ("{{ 'a.b.c' | substringBeforeLast('.') }}", "a.b"),
        ("{{ 'a.b.c' | substringAfterLast('.') }}", "c"),
        ("{{ 'abc' | substringBefore('z') }}|{{ 'abc' | substringAfter('z') }}", "abc|"),
        ("{{ 'abc' | substringBeforeLast('z') }}|{{ 'abc' | substringAfterLast('z') }}", "abc|"),
        (
            "{{ 'report.csv' | startsWith('rep') }} {{ 'report.csv' | endsWith('.txt') }}",
            "true false",
        ),
        ("{% if 'report.csv' | endsWith('.csv') %}csv{% endif %}", "csv"),
        ("{{ '42' | number + 1 }}", "43"),
        ("{{ '2.5' | number * 2 }}", "5.0"),
        ("{{ '0x1F' | number }}", "31"),
        ("{{ '7' | number('DOUBLE') }}", "7.0"),
        ("{{ 'a b&c/d~*' | urlencode }}", "a+b%26c%2Fd%7E*"),
        ("{{ 'a+b%26c' | urldecode }}", "a b&c"),
        ("{{ 'Hello world' | abbreviate(8) }}", "Hello..."),
        ("{{ 'Hello' | abbreviate(8) }}", "Hello"),
        ("{{ 'ab' | string }}{{ false | string }}", "abfalse"),
        ("{{ null | upper }}", ""),
    ],
)
def test_filters(ctx: dict[str, Any], template: str, expected: str) -> None:
    assert render(template, ctx) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 'nope' | fromJson }}", "fromJson: invalid JSON"),
        ("{{ 'x' | number }}", "number: cannot convert 'x'"),
        ("{{ 'abc' | keys }}", "keys: expected a map"),
        ("{{ 'x' | date('yyyy') }}", "cannot parse 'x' as an ISO-8601 date"),
        ("{{ '2024-07-01' | date('yyyy ww') }}", "'ww' is not supported"),
        ("{{ '2024-07-01' | date('yyyy', timeZone='Mars/Base') }}", "unknown time zone"),
        ("{{ '2024-07-01' | dateAdd(1, 'FORTNIGHTS') }}", "dateAdd: unknown unit 'FORTNIGHTS'"),
        ("{{ 'a' | replace(1) }}", "replace: expected a map"),
    ],
)
def test_filter_errors_are_readable(ctx: dict[str, Any], template: str, message: str) -> None:
    assert message in failure(template, ctx).reason


# --- dates ---------------------------------------------------------------------------------------

MOMENT = "2024-07-01T10:15:30.123456Z"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ m | date('yyyy-MM-dd') }}", "2024-07-01"),
        ("{{ m | date('yyyy-MM-dd HH:mm:ss.SSS') }}", "2024-07-01 10:15:30.123"),
        ("{{ m | date(\"yyyy-MM-dd'T'HH:mm:ssXXX\") }}", "2024-07-01T10:15:30Z"),
        ("{{ m | date('EEE, d MMM yyyy') }}", "Mon, 1 Jul 2024"),
        ("{{ m | date('EEEE d MMMM yy') }}", "Monday 1 July 24"),
        ("{{ m | date('h:mm a') }}", "10:15 AM"),
        ("{{ m | date(\"'at' HH'h' 'it''s' ''\") }}", "at 10h it's '"),
        ("{{ m | date('HH:mm XXX', timeZone='Europe/Paris') }}", "12:15 +02:00"),
        ("{{ m | date('HH:mm xx Z', timeZone='America/New_York') }}", "06:15 -0400 -0400"),
        ("{{ m | date('VV', timeZone='Europe/Paris') }}", "Europe/Paris"),
        ("{{ m | date('HH:mm', timeZone='+05:30') }}", "15:45"),
        ("{{ m | date('D Q') }}", "183 3"),
        ("{{ m | date }}", "2024-07-01T10:15:30.123456Z"),
        ("{{ m | date('iso') }}", "2024-07-01T10:15:30.123456Z"),
        ("{{ m | date('iso_sec') }}", "2024-07-01T10:15:30Z"),
        ("{{ m | date('sql') }}", "2024-07-01 10:15:30.123456"),
        ("{{ m | date('iso_local_date') }}", "2024-07-01"),
        ("{{ m | date('iso_instant') }}", "2024-07-01T10:15:30.123456Z"),
        (
            "{{ m | date('iso_offset_date_time', timeZone='Europe/Paris') }}",
            "2024-07-01T12:15:30.123456+02:00",
        ),
        (
            "{{ m | date('iso_zoned_date_time', timeZone='Europe/Paris') }}",
            "2024-07-01T12:15:30.123456+02:00[Europe/Paris]",
        ),
        ("{{ m | date('iso_week_date') }}", "2024-W27-1Z"),
        ("{{ m | date('rfc_1123_date_time') }}", "Mon, 1 Jul 2024 10:15:30 GMT"),
        ("{{ '2024-07-01' | date('dd/MM/yyyy HH:mm') }}", "01/07/2024 00:00"),
        ("{{ '2024-07-01T12:00:00+02:00' | date('HH:mm') }}", "10:00"),
        ("{{ '2024-07-01T12:00:00' | date('HH:mm XXX') }}", "12:00 Z"),
        (
            "{{ '01/07/2024 09:30' | date('yyyy-MM-dd HH:mm', existingFormat='dd/MM/yyyy HH:mm') }}",
            "2024-07-01 09:30",
        ),
        ("{{ d | date('yyyy-MM-dd HH:mm') }}", "2024-07-01 12:00"),
        ("{{ dt | date('yyyy-MM-dd HH:mm') }}", "2024-07-01 08:00"),
        ("{{ 0 | date('yyyy-MM-dd') }}", "1970-01-01"),
        ("{{ null | date('yyyy') }}", ""),
    ],
)
def test_date_filter(template: str, expected: str) -> None:
    context = {
        "m": MOMENT,
        "d": date(2024, 7, 1),
        "dt": datetime(2024, 7, 1, 8, 0, tzinfo=UTC),
    }
    assert render(template, context) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ m | dateAdd(-1, 'DAYS') }}", "2024-06-30T10:15:30.123456Z"),
        ("{{ m | dateAdd(2, 'HOURS', 'HH:mm') }}", "12:15"),
        ("{{ m | dateAdd(1, 'WEEKS', 'yyyy-MM-dd') }}", "2024-07-08"),
        ("{{ '2024-01-31' | dateAdd(1, 'MONTHS', 'yyyy-MM-dd') }}", "2024-02-29"),
        ("{{ '2024-02-29' | dateAdd(1, 'YEARS', 'yyyy-MM-dd') }}", "2025-02-28"),
        ("{{ m | dateAdd(90, 'SECONDS', 'HH:mm:ss') }}", "10:17:00"),
        ("{{ m | dateAdd(-30, 'minutes', 'HH:mm') }}", "09:45"),
        (
            "{{ m | dateAdd(1, 'DAYS', format='yyyy-MM-dd', timeZone='Europe/Paris') }}",
            "2024-07-02",
        ),
        ("{{ m | timestamp }}", "1719828930"),
        ("{{ m | timestampMilli }}", "1719828930123"),
        ("{{ m | timestampMicro }}", "1719828930123456"),
        ("{{ m | timestampNano }}", "1719828930123456000"),
        ("{{ '2024-07-01' | timestamp }}", "1719792000"),
        ("{{ '2024-07-01T02:00:00' | timestamp(timeZone='Europe/Paris') }}", "1719792000"),
    ],
)
def test_date_add_and_timestamp(template: str, expected: str) -> None:
    assert render(template, {"m": MOMENT}) == expected


def test_docs_example_default_dates() -> None:
    # Kestra docs: `{{ inputs.start_date ?? now() | dateAdd(-1, 'MONTHS') | date('yyyy-MM-dd') }}`
    template = "{{ inputs.start_date ?? now() | dateAdd(-1, 'MONTHS') | date('yyyy-MM-dd') }}"
    given = render(template, {"inputs": {"start_date": "2024-03-31"}})
    assert given == "2024-02-29"
    defaulted = render(template, {"inputs": {"start_date": None}})
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", defaulted)


# --- functions -----------------------------------------------------------------------------------


def test_now_is_utc_iso() -> None:
    before = datetime.now(UTC)
    text = render("{{ now() }}", {})
    after = datetime.now(UTC)
    assert text.endswith("Z")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", text)
    assert before <= datetime.fromisoformat(text) <= after
    assert re.fullmatch(r"\d{4}", render("{{ now(format='yyyy') }}", {}))
    assert render("{{ now(timeZone='Europe/Paris') }}", {})[-6:] in ("+01:00", "+02:00")
    assert render("{{ now() | date('yyyy') }}", {}) == str(datetime.now(UTC).year)


def test_json_functions(ctx: dict[str, Any]) -> None:
    assert render("{{ json('{\"a\": [1, 2]}').a[1] }}", ctx) == "2"
    assert render("{{ fromJson(outputs.approve.body).status }}", ctx) == "ok"
    assert render("{{ fromJson(null) }}", ctx) == ""


def test_uuid_function() -> None:
    first, second = render("{{ uuid() }}|{{ uuid() }}", {}).split("|")
    assert uuid.UUID(first) and first != second


def test_render_function(ctx: dict[str, Any]) -> None:
    assert render("{{ vars.greeting }}", ctx) == "Hello {{ inputs.request.name }}"
    assert render("{{ render(vars.greeting) }}", ctx) == "Hello Rick Astley"
    assert render("{{ render(vars.greeting) | upper }}", ctx) == "HELLO RICK ASTLEY"
    assert render("{{ render(inputs.count) }}", ctx) == "3"  # non-strings pass through
    nested = {**ctx, "vars": {"a": "{{ vars.b }}", "b": "{{ flow.id }}"}}
    assert render("{{ render(vars.a) }}", nested) == "vacation"  # recursive by default
    assert render("{{ render(vars.a, recursive=false) }}", nested) == "{{ flow.id }}"


def test_render_function_errors(ctx: dict[str, Any]) -> None:
    failing = {**ctx, "vars": {"bad": "{{ inputs.nope }}"}}
    reason = failure("{{ render(vars.bad) }}", failing).reason
    assert "'inputs.nope' is undefined" in reason
    assert "nested more than" in failure("{{ render(vars.loop) }}", ctx).reason


def test_print_context(ctx: dict[str, Any]) -> None:
    printed = json.loads(render("{{ printContext() }}", ctx))
    assert printed["flow"]["id"] == "vacation"
    assert "now" not in printed and "range" not in printed


def test_env_variables() -> None:
    environ = {
        "PAUSEBOT_ENV_TEAM_NAME": "ops",
        "PAUSEBOT_ENV_Mixed": "x",
        "PAUSEBOT_ENV_": "ignored",
        "PAUSEBOT_TOKEN": "secret",
        "ENV_OTHER": "no",
    }
    assert env_variables(environ) == {"team_name": "ops", "mixed": "x"}
    assert render("{{ envs.team_name }}", {"envs": env_variables(environ)}) == "ops"


def test_env_variables_default_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAUSEBOT_ENV_REGION", "eu")
    assert env_variables()["region"] == "eu"


# --- sandbox -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ inputs.__class__.__mro__ }}",
        "{{ inputs['__class__'] }}",
        "{{ inputs.request._private }}",
        "{{ now.__globals__ }}",
        "{{ render.__globals__['os'] }}",
        "{{ self.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ namespace.__init__ }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ (1).__class__.__base__ }}",
        "{{ inputs.update({'behavior': 'hacked'}) }}",
        "{{ inputs.tags.append('d') }}",
        "{{ inputs.tags.pop() }}",
        "{{ inputs.request.clear() }}",
        "{{ inputs.setdefault('x', 1) }}",
        "{{ range(10**9) | list }}",
        "{{ range(10**9) }}",
        "{{ 'a' * 100000000 }}",
        "{{ [1] * 100000000 }}",
        "{{ 10 ** 100000 }}",
        "{{ '%s%s' % ('a', 'b') }}",
    ],
)
def test_sandbox_refuses_escapes(ctx: dict[str, Any], template: str) -> None:
    error = failure(template, ctx)
    assert error.reason
    assert ctx["inputs"]["behavior"] == "RESUME"
    assert ctx["inputs"]["tags"] == ["a", "b", "c"]
    assert ctx["inputs"]["request"] == VACATION_REQUEST


def test_sandbox_messages_say_why(ctx: dict[str, Any]) -> None:
    assert "unsafe" in failure("{{ ''.__class__ }}", ctx).reason
    assert "unsafe" in failure("{{ inputs.update({}) }}", ctx).reason
    assert "Range too big" in failure("{{ range(10**9) }}", ctx).reason


def test_safe_operations_still_work(ctx: dict[str, Any]) -> None:
    assert render("{{ range(3) | list }}", ctx) == "[0,1,2]"
    assert render("{{ 'ab' * 2 }} {{ 2 ** 10 }} {{ 7 % 3 }}", ctx) == "abab 1024 1"
    assert render("{{ inputs.request.get('name') }}", ctx) == "Rick Astley"
    assert render("{% for k, v in inputs.request.items() %}{{ k }};{% endfor %}", ctx) == (
        "name;start_date;end_date;"
    )


def test_map_keys_win_over_dict_methods() -> None:
    context = {"outputs": {"t": {"values": [1], "items": "x", "keys": None}}}
    assert render("{{ outputs.t.values }}|{{ outputs.t.items }}", context) == "[1]|x"
    assert render("{{ outputs.t.keys ?? 'none' }}", context) == "none"


# --- syntax errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ inputs.name", "syntax error on line 1"),
        ("line one\n{{ a + }}", "syntax error on line 2"),
        ("{% if true %}open", "syntax error on line 1"),
        ("{{ x | nosuchfilter }}", "No filter named 'nosuchfilter'"),
        ("{{ a ? b }}", "syntax error"),
        ("{{ a ?? }}", "syntax error"),
        ("{{ 'unterminated }}", "syntax error"),
    ],
)
def test_syntax_errors(ctx: dict[str, Any], template: str, fragment: str) -> None:
    error = failure(template, ctx)
    assert fragment in error.reason
    assert "__pebble" not in error.reason  # internal markers never leak


def test_errors_never_escape_as_jinja_exceptions(ctx: dict[str, Any]) -> None:
    for template in ["{{ 1 / 0 }}", "{{ inputs.tags + 1 }}", "{{ none.x.y() }}", "{% foo %}"]:
        failure(template, ctx)


def test_repeated_renders_use_the_cache(ctx: dict[str, Any]) -> None:
    template = "{{ inputs.count ?? 0 }}-{{ flow.id }}"
    assert [render(template, ctx) for _ in range(3)] == ["3-vacation"] * 3
    assert render(template, {**ctx, "flow": {"id": "other"}}) == "3-other"


# --- resource limits -----------------------------------------------------------------------------

TOO_LONG = "the result would be larger than 1,000,000 characters"
TOO_MANY_STEPS = "template exceeded 1,000,000 loop iterations"
PRINTED_TOO_LONG = "the printed value is larger than 10,000,000 characters"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        # padding, filters and str methods
        ("{{ 'x' | center(10**9) }}", f"center: {TOO_LONG}"),
        ("{{ 'x'.center(10**9) }}", f"center: {TOO_LONG}"),
        ("{{ 'x'.ljust(10**9) }}", f"ljust: {TOO_LONG}"),
        ("{{ 'x'.rjust(10**9, '-') }}", f"rjust: {TOO_LONG}"),
        ("{{ '1'.zfill(10**9) }}", f"zfill: {TOO_LONG}"),
        ("{{ ('\\t' * 1000000).expandtabs(1000) }}", f"expandtabs: {TOO_LONG}"),
        ("{{ 'x' | indent(10**9) }}", f"indent: {TOO_LONG}"),
        ("{{ ('a\\n' * 400000) | indent(100) }}", f"indent: {TOO_LONG}"),
        ("{{ ('a ' * 2000) | wordwrap(1, wrapstring='x' * 1000) }}", f"wordwrap: {TOO_LONG}"),
        ("{{ ('x' * 999999).translate({120: 'yy'}) }}", f"translate: {TOO_LONG}"),
        ("{{ (1).to_bytes(10**9, 'big') }}", "to_bytes: the result would be larger than 1,000,000"),
        # formatting
        ("{{ '{:>1000000000}'.format(1) }}", f"format: {TOO_LONG}"),
        ("{{ '{:{}}'.format('x', 10**9) }}", f"format: {TOO_LONG}"),
        ("{{ ('{0}' * 1000).format('x' * 999999) }}", f"format: {TOO_LONG}"),
        ("{{ '{a}'.format_map({'a': 'x' * 999999}) * 2 }}", f"'*': {TOO_LONG}"),
        ("{{ '%1000000000s' | format(1) }}", f"format: {TOO_LONG}"),
        ("{{ '%.1000000000d' | format(1) }}", f"format: {TOO_LONG}"),
        ("{{ '%*s' | format(10**9, 'x') }}", f"format: {TOO_LONG}"),
        ("{{ ('%s' * 1000) | format(*(['x' * 999999] * 1000)) }}", f"format: {TOO_LONG}"),
        # joining and replacing
        ("{{ (['x' * 999999] * 1000) | join }}", f"join: {TOO_LONG}"),
        ("{{ ('x' * 999999).join(['a'] * 1000) }}", f"join: {TOO_LONG}"),
        ("{{ ('x' * 999999).replace('x', 'yy') }}", f"replace: {TOO_LONG}"),
        ("{{ ('x' * 999999).replace('', 'y') }}", f"replace: {TOO_LONG}"),
        ("{{ ('x' * 999999) | replace('x', 'yy') }}", f"replace: {TOO_LONG}"),
        ("{{ ('x' * 999999) | replace({'x': 'yy'}) }}", f"replace: {TOO_LONG}"),
        ("{{ ('x' * 999999) | replace({'': 'y'}, regexp=true) }}", f"replace: {TOO_LONG}"),
        # operators, also when doubling a value in a loop
        ("{{ 'a' * 100000000 }}", f"'*': {TOO_LONG}"),
        ("{{ [1] * 100000000 }}", "'*': the result would be larger than 1,000,000 items"),
        ("{{ ('x' * 999999) ~ ('x' * 999999) }}", f"'~': {TOO_LONG}"),
        ("{{ ('x' * 999999) + ('x' * 999999) }}", f"'+': {TOO_LONG}"),
        ("{{ inputs.big + inputs.big }}", "'+': the result would be larger than 1,000,000 items"),
        (
            (
                "{% set ns = namespace(s='x') %}{% for i in range(40) %}"
                "{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
            ),
            f"'~': {TOO_LONG}",
        ),
        (
            (
                "{% set ns = namespace(x=3) %}{% for i in range(40) %}"
                "{% set ns.x = ns.x * ns.x %}{% endfor %}"
            ),
            "the product is too large",
        ),
        ("{{ [1] | batch(10**9, 0) | list }}", "batch: the result would be larger than 1,000,000"),
        ("{{ '1e999999' | number('BIGDECIMAL') | int }}", "int: 1E+999999 has more than 4,300"),
    ],
)
def test_huge_values_are_refused(ctx: dict[str, Any], template: str, message: str) -> None:
    ctx["inputs"]["big"] = [1] * 600_000
    assert message in failure(template, ctx).reason


@pytest.mark.parametrize(
    "template",
    [
        # One long string referenced a thousand times is small in memory, huge once printed.
        "{{ ['x' * 999999] * 1000 }}",
        "{{ (['x' * 999999] * 1000) | string }}",
        "{{ (['x' * 999999] * 1000) | e }}",
        "{{ '%s' | format(['x' * 999999] * 1000) }}",
        "{{ '{}'.format(['x' * 999999] * 1000) }}",
        "{{ 'a' ~ (['x' * 999999] * 1000) }}",
        "{{ dict.fromkeys(range(1000), 'x' * 999999).items() }}",
        "{{ namespace(a=['x' * 999999] * 1000) }}",
    ],
)
def test_printing_aliased_values_is_bounded(ctx: dict[str, Any], template: str) -> None:
    assert PRINTED_TOO_LONG in failure(template, ctx).reason


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "{% for i in range(20) %}{{ 'x' * 999999 }}{% endfor %}",
            "rendered text is larger than 10,000,000 characters",
        ),
        (
            "{% set x %}{% for i in range(20) %}{{ 'x' * 999999 }}{% endfor %}{% endset %}",
            "rendered text is larger than 10,000,000 characters",
        ),
        (
            (
                "{% macro m() %}{% for i in range(20) %}{{ 'x' * 999999 }}{% endfor %}{% endmacro %}"
                "{{ m() | length }}"
            ),
            "rendered text is larger than 10,000,000 characters",
        ),
        (
            "{% for i in range(100) %}{% set x = ('x' * 999999) ~ 'y' %}{% endfor %}",
            "template built more than 50,000,000 characters",
        ),
    ],
)
def test_output_and_built_text_are_bounded(
    ctx: dict[str, Any], template: str, message: str
) -> None:
    assert message in failure(template, ctx).reason


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) if false %}{% endfor %}{% endfor %}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% else %}{% endfor %}{% endfor %}",
        "{{ ([range(100000)] * 1000) | map('list') | list | length }}",
        "{{ ([[1] * 999999] * 1000) | sum(start=[]) | length }}",
        (
            "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}"
            "{% set ns.l = ns.l + ns.l %}{% endfor %}"
        ),
    ],
)
def test_loops_share_one_step_budget(ctx: dict[str, Any], template: str) -> None:
    assert TOO_MANY_STEPS in failure(template, ctx).reason


@pytest.mark.parametrize(
    "template",
    [
        # Calls fan out without loops; lazy filters iterate inside one expression.
        (
            "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
            "{{ f(40) }}"
        ),
        (
            "{% for x in [1] recursive %}{% if loop.depth < 3 %}{{ loop(range(100000)) }}{% endif %}"
            "{% endfor %}"
        ),
        (
            "{% set ns = namespace(d=0) %}{% block b %}{% set ns.d = ns.d + 1 %}"
            "{% if ns.d < 40 %}{{ self.b() }}{{ self.b() }}{% endif %}{% set ns.d = ns.d - 1 %}"
            "{% endblock %}"
        ),
        "{{ range(100000) | map('string') | map('string') | select | list | length }}",
        "{{ (['a'] * 999999) | join }}",
        "{{ ('a ' * 50000) | wordwrap(1) | length }}",
        "{{ ('a' * 50000) | replace({'': '-'}, regexp=true) | length }}",
    ],
)
def test_calls_and_filters_count_as_steps(
    ctx: dict[str, Any], template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "_MAX_STEPS", 20_000)  # keeps the test quick
    assert "template exceeded 20,000 loop iterations" in failure(template, ctx).reason


def test_nested_renders_share_the_budget(ctx: dict[str, Any]) -> None:
    loop = "{% for i in range(100) %}{% for j in range(6000) %}{% endfor %}{% endfor %}done"
    context = {**ctx, "vars": {"loop": loop}}
    assert render("{{ render(vars.loop) }}", context) == "done"
    reason = failure("{{ render(vars.loop) }}{{ render(vars.loop) }}", context).reason
    assert reason.startswith("render('{% for i in range(100) %}")
    assert TOO_MANY_STEPS in reason
    assert render("{{ render(vars.loop) }}", context) == "done"  # the next render starts afresh


def test_render_time_is_bounded(ctx: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "_MAX_RENDER_SECONDS", 0.0)
    reason = failure("{% for i in range(5000) %}{% endfor %}", ctx).reason
    assert reason == "template took longer than 0 seconds to render"


def test_templates_built_at_render_time_are_not_cached(ctx: dict[str, Any]) -> None:
    before = dialect._compile_cached.cache_info().currsize
    template = "{% for i in range(50) %}{{ render('{{ 7 }}' ~ ('.' * 2000) ~ i)[:1] }}{% endfor %}"
    assert render(template, ctx) == "7" * 50
    assert dialect._compile_cached.cache_info().currsize <= before + 1


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ lipsum(1000000) }}", "'lipsum' is undefined"),
        ("{{ [1] | pprint }}", "No filter named 'pprint'"),
        ("{{ 'www.example.com' | urlize }}", "No filter named 'urlize'"),
        ("{{ {'a': 1} | xmlattr }}", "No filter named 'xmlattr'"),
    ],
)
def test_unbounded_jinja_helpers_are_not_offered(
    ctx: dict[str, Any], template: str, fragment: str
) -> None:
    assert fragment in failure(template, ctx).reason


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ '%s, %s!' | format('Hello', 'World') }}", "Hello, World!"),
        ("{{ '%(a)s-%(b)05d' | format(a='x', b=3) }}", "x-00003"),
        (
            "{{ '%5.2f%%|%-4s|%*d|%c%r' | format(3.14159, 'ab', 4, 42, 65, 'x') }}",
            " 3.14%|ab  |  42|A'x'",
        ),
        ("{{ '%s' | format([1, 'a']) }}", '[1,"a"]'),
        ("{{ '{} {name} {:>3}'.format(1, 2, name='x') }}", "1 x   2"),
        ("{{ '{!r}'.format('b') }} {{ '{a}'.format_map({'a': [1]}) }}", "'b' [1]"),
        ("{{ 'abc' | center(7) }}|{{ 'x'.ljust(3) }}|{{ '7'.zfill(3) }}", "  abc  |x  |007"),
        ("{{ 'a\nb' | indent(2) }}|{{ 'a\nb' | indent('> ', first=true) }}", "a\n  b|> a\n> b"),
        ("{{ 'aaa bbb ccc' | wordwrap(4, wrapstring='<br>') }}", "aaa<br>bbb<br>ccc"),
        ("{{ 'aaa bbb' | wordwrap(4) }}", "aaa\nbbb"),
        ("{{ [1, 2, 3, 4, 5] | batch(2, 0) | list }}", "[[1,2],[3,4],[5,0]]"),
        ("{{ [1, 2, 3] | sum }} {{ [[1], [2]] | sum(start=[]) }}", "6 [1,2]"),
        ("{{ [{'p': 2}, {'p': 3}] | sum(attribute='p') }}", "5"),
        ("{{ '42' | int + 1 }} {{ 3.7 | int }}", "43 3"),
        (
            "{{ [3, 1, 2] | sort | join(',') }} {{ [1, 2, 3, 4] | select('odd') | list }}",
            "1,2,3 [1,3]",
        ),
        ("{{ range(3) | map('string') | join('-') }}", "0-1-2"),
        ("{{ 'a-b'.replace('-', '+') }} {{ ','.join(['a', 'b']) }}", "a+b a,b"),
        ("{{ [1] + [2] }} {{ 'a' + 'b' }} {{ 1 + 2 }} {{ (2 ** 64) * 2 }}", f"[1,2] ab 3 {2**65}"),
        ("{{ {'a': 1}.items() }} {{ namespace(a=1) }}", '[["a",1]] {"a":1}'),
        ("{{ 'x<' | e }} {{ [1] | e }} {{ 'a b c' | wordcount }}", "x&lt; [1] 3"),
        ("{{ 'abcdef' | truncate(5, true, '..', 0) }}", "abc.."),
    ],
)
def test_bounded_filters_and_methods_still_work(template: str, expected: str) -> None:
    assert render(template, {}) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            (
                "{% for x in [1, 2, 3] %}{{ loop.index }}/{{ loop.length }}"
                "{{ loop.last ? '.' : ',' }}{% endfor %}"
            ),
            "1/3,2/3,3/3.",
        ),
        (
            "{% for x in [1, 2, 3] %}{{ loop.revindex }}{{ loop.cycle('a', 'b') }}{% endfor %}",
            "3a2b1a",
        ),
        ("{% for x in [] %}x{% else %}none{% endfor %}", "none"),
        ("{% for x in [1, 2, 3, 4] if x is even %}{{ x }}{% endfor %}", "24"),
        ("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}", "a=1;b=2;"),
        (
            (
                "{% for n in [{'c': [{'c': []}]}] recursive %}[{{ loop.depth }}{{ loop(n.c) }}]"
                "{% endfor %}"
            ),
            "[1[2]]",
        ),
        ("{% macro hi(n) %}hi {{ n }}{% endmacro %}{{ hi('bob') }}", "hi bob"),
        ("{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}in{% endcall %}", "<in>"),
        ("{% set x %}{% for i in range(3) %}{{ i }}{% endfor %}{% endset %}{{ x }}", "012"),
        ("{% filter upper %}abc{% endfilter %}", "ABC"),
        ("{% for i in range(1000) %}{% for j in range(900) %}{% endfor %}{% endfor %}ok", "ok"),
        ("{{ ('x' * 999999) | length }}", "999999"),
    ],
)
def test_loops_and_blocks_still_work(template: str, expected: str) -> None:
    assert render(template, {}) == expected


def test_big_data_can_still_be_transformed() -> None:
    # Limits stop templates from growing values, not from reading big outputs.
    body = "a" * 2_000_000
    assert render("{{ body | upper | length }}", {"body": body}) == "2000000"
    assert render("{{ body.replace('a', 'b') | length }}", {"body": body}) == "2000000"
    assert len(render("{{ body }}", {"body": body})) == 2_000_000
    assert render("{{ rows | length }}", {"rows": [{"n": i} for i in range(200_000)]}) == "200000"
