"""Pebble functions, filters and tests Kestra flows use (issue 11), each as Kestra's docs and
sources describe it: secret, read, fileSize, errorLogs, randomInt, max/min, isIn, jq, yaml,
base64, hashes, numberFormat, escapeChar, chunk, merge, slice, map entries, `is json`."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from run_support import messages, start

from engine.engine import Engine
from engine.errors import ExpressionError
from engine.expressions import render
from engine.states import State


def fails(template: str, context: dict | None = None) -> str:
    with pytest.raises(ExpressionError) as caught:
        render(template, context or {})
    return caught.value.reason


# -- filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ [1, 2, 3] | jq('.') | first }}", "[1,2,3]"),
        ("{{ [1, 2, 3] | jq('.[0]') | first }}", "1"),
        ("{{ {'a': {'b': [4, 5]}} | jq('.a.b[]') }}", "[4,5]"),
        ("{{ '{\"x\": 2}' | jq('.x * 2') | first }}", "4"),
        ("{{ {'s': 72, 't': 95} | values | jq('reduce .[] as $n (0; .+$n)') | first }}", "167"),
        ("{{ {'a': [1, 2], 'b': 'x'} | yaml }}", "a:\n  - 1\n  - 2\nb: x\n"),
        ("{{ 'foo: [666, 1]' | fromYaml }}", '{"foo":[666,1]}'),
        ("{{ 'on: yes' | fromYaml }}", '{"on":"yes"}'),
        ("{{ 'test' | base64encode }}", "dGVzdA=="),
        ("{{ 'dGVzdA==' | base64decode }}", "test"),
        ("{{ 'test' | md5 }}", "098f6bcd4621d373cade4e832627b4f6"),
        ("{{ 'test' | sha1 }}", "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"),
        (
            "{{ 'test' | sha256 }}",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ),
        ("{{ 3.141592653 | numberFormat('#.##') }}", "3.14"),
        ("{{ 1234567.891 | numberFormat('#,##0.00') }}", "1,234,567.89"),
        ("{{ 2.5 | numberFormat('0') }}", "2"),  # half-even, as Java
        ("{{ 3.5 | numberFormat('0') }}", "4"),
        ("{{ 7 | numberFormat('000.0') }}", "007.0"),
        ("{{ 0.256 | numberFormat('#%') }}", "26%"),
        ("{{ -0.5 | numberFormat('$#,##0.00') }}", "-$0.50"),
        ("{{ \"it's\" | escapeChar('single') }}", "it\\'s"),
        ("{{ 'say \"hi\"' | escapeChar('double') }}", 'say \\"hi\\"'),
        ("{{ \"it's\" | escapeChar('shell') }}", "it'\\''s"),
        ("{{ [\"a'b\", {'k': \"c'd\"}] | escapeChar('single') }}", '["a\\\\\'b",{"k":"c\\\\\'d"}]'),
        ("{{ [1, 2, 3, 4, 5] | chunk(2) }}", "[[1,2],[3,4],[5]]"),
        ("{{ [1, 2] | merge([3, 4]) }}", "[1,2,3,4]"),
        ("{{ {'a': 1, 'b': 2} | merge({'b': 3}) }}", '{"a":1,"b":3}'),
        ("{{ ['apple', 'banana', 'cherry'] | slice(1, 2) }}", '["banana"]'),
        ("{{ [1, 2, 3, 4] | slice(0, 2) | join(',') }}", "1,2"),
        ("{{ 'hello' | slice(1, 3) }}", "el"),
        ("{{ [1, 2, 3] | slice(1) }}", "[2,3]"),
    ],
)
def test_filters(template: str, expected: str) -> None:
    assert render(template, {}) == expected


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ [1] | jq('.[') }}", "invalid jq expression"),
        ("{{ 'not json' | jq('.') }}", "needs JSON"),
        ("{{ [1] | jq('error(\"boom\")') }}", "boom"),
        ("{{ 'x' | escapeChar('triple') }}", "'single', 'double', or 'shell'"),
        ("{{ 'x' | chunk(2) }}", "can only be applied to a list"),
        ("{{ [1] | chunk(0) }}", "at least 1"),
        ("{{ [1, 2] | slice(0, 5) }}", "toIndex must be at most the length 2"),
        ("{{ [1, 2] | slice(-1) }}", "fromIndex must be 0 or more"),
        ("{{ 'x' | merge({'a': 1}) }}", "merges a list"),
        ("{{ '%%%' | base64decode }}", "not base64"),
        ("{{ 'x' | numberFormat('#') }}", "is not a number"),
        ("{{ 'a: [' | fromYaml }}", "invalid YAML"),
    ],
)
def test_filter_refusals_name_the_problem(template: str, reason: str) -> None:
    assert reason in fails(template)


def test_jq_results_are_bounded() -> None:
    assert "more than 10,000 results" in fails("{{ 1 | jq('range(100000)') }}")


# -- tests, loops, operators -------------------------------------------------------------------


def test_is_json_and_is_map() -> None:
    assert render("{{ '{\"test\": 1}' is json }} {{ 'nope' is json }} {{ [1] is json }}", {}) == (
        "true false true"
    )
    assert render("{{ {'a': 1} is map }} {{ [1] is map }}", {}) == "true false"


def test_a_map_iterates_as_key_value_entries() -> None:
    ctx = {"m": {"a": 1, "b": [2]}}
    assert render("{% for entry in m %}{{ entry.key }}={{ entry.value }};{% endfor %}", ctx) == (
        "a=1;b=[2];"
    )
    assert render("{% for k, v in m %}{{ k }}:{{ v }} {% endfor %}", ctx) == "a:1 b:[2] "
    assert render("{% for e in m %}{{ e }} {% endfor %}", ctx) == "a=1 b=[2] "


def test_is_in_as_function_and_operator() -> None:
    assert render("{{ isIn('SUCCESS', ['SUCCESS', 'KILLED']) }}", {}) == "true"
    assert render("{{ 'FAILED' isIn ['SUCCESS', 'KILLED'] }}", {}) == "false"
    assert render("{% if 'KILLED' isIn ['SUCCESS', 'KILLED'] %}yes{% endif %}", {}) == "yes"


# -- functions ------------------------------------------------------------------------------


def test_max_min_and_random_int() -> None:
    assert render("{{ max(5, 10, 15) }} {{ min(5, 10, 15) }}", {}) == "15 5"
    assert render("{{ max('b', 'a') }}", {}) == "b"
    draws = {render("{{ randomInt(1, 4) }}", {}) for _ in range(200)}
    assert draws == {"1", "2", "3"}  # upper excluded
    assert render("{{ randomInt(7, 7) }}", {}) == "7"
    assert "upper is less than lower" in fails("{{ randomInt(5, 1) }}")
    assert "whole numbers" in fails("{{ randomInt(1.5, 3) }}")
    assert "cannot be compared" in fails("{{ max(1, 'a') }}")


def test_yaml_function_parses() -> None:
    assert render("{{ yaml('foo: [666, 1, 2]').foo[0] }}", {}) == "666"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secret_reads_base64_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_GITHUB_TOKEN", _b64("ghp_s3cr3t"))
    monkeypatch.setenv("SECRET_BROKEN", "not base64!")
    assert render("{{ secret('GITHUB_TOKEN') }}", {}) == "ghp_s3cr3t"
    missing = fails("{{ secret('NOPE') }}")
    assert "cannot find secret 'NOPE'" in missing and "SECRET_NOPE" in missing
    broken = fails("{{ secret('BROKEN') }}")
    assert "not valid base64" in broken and "not base64!" not in broken


def test_a_secret_is_masked_in_logs_and_outputs(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_API_KEY", _b64("key-123456"))
    done = start(
        engine,
        """id: s
namespace: tests
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "using {{ secret('API_KEY') }} now"
  - id: keep
    type: io.kestra.plugin.core.debug.Return
    format: "{{ secret('API_KEY') }}"
""",
    )
    assert done.state.current == State.SUCCESS
    assert "using ****** now" in messages(engine, done.id)
    assert not any("key-123456" in m for m in messages(engine, done.id))
    shown = engine.get_execution(done.id).to_api()
    keep = next(r for r in shown["taskRunList"] if r["taskId"] == "keep")
    assert keep["outputs"]["value"] == "******"


def test_read_file_size_and_exists_on_namespace_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "company.team" / "sub").mkdir(parents=True)
    (tmp_path / "company.team" / "sub" / "hello.txt").write_text("héllo")
    (tmp_path / "company.team" / "empty.txt").write_text("")
    (tmp_path / "secret.txt").write_text("outside")
    monkeypatch.setenv("PAUSEBOT_NAMESPACE_FILES_DIR", str(tmp_path))
    ctx = {"flow": {"id": "f", "namespace": "company.team"}}
    assert render("{{ read('sub/hello.txt') }}", ctx) == "héllo"
    assert render("{{ fileSize('sub/hello.txt') }}", ctx) == "6"
    assert render("{{ fileExists('sub/hello.txt') }} {{ fileExists('nope') }}", ctx) == (
        "true false"
    )
    assert render("{{ isFileEmpty('empty.txt') }}", ctx) == "true"
    assert "no such file" in fails("{{ read('nope.txt') }}", ctx)
    assert "leaves the namespace" in fails("{{ read('../secret.txt') }}", ctx)
    assert "no file storage" in fails("{{ read('kestra:///a/b.txt') }}", ctx)
    monkeypatch.delenv("PAUSEBOT_NAMESPACE_FILES_DIR")
    assert "PAUSEBOT_NAMESPACE_FILES_DIR" in fails("{{ read('sub/hello.txt') }}", ctx)


def test_error_logs_in_an_errors_branch(engine: Engine) -> None:
    done = start(
        engine,
        """id: e
namespace: tests
tasks:
  - id: boom
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: the disk is full
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: "{{ errorLogs() | length > 0 }} {{ errorLogs()[0].taskId }}: {{ errorLogs()[0].message }}"
""",
    )
    assert done.state.current == State.FAILED
    assert "true boom: the disk is full" in messages(engine, done.id)


def test_error_logs_outside_a_runnable_task_is_refused() -> None:
    assert "can only be used in a runnable task" in fails("{{ errorLogs() }}")


def test_every_execution_gets_its_correlation_id_system_label(engine: Engine) -> None:
    source = (
        "id: c\nnamespace: tests\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n"
        "    message: \"{{ labels.system.correlationId }} {{ labels['system.correlationId'] }}\"\n"
    )
    done = start(engine, source)
    assert {"key": "system.correlationId", "value": done.id} in done.labels
    assert f"{done.id} {done.id}" in messages(engine, done.id)
    passed_on = engine.start_execution(
        "tests", "c", {}, labels={"system.correlationId": "parent-1"}, via="test"
    )
    assert passed_on.label_map()["system.correlationId"] == "parent-1"
