"""Typed inputs: definitions, parsing of form/JSON values, nesting, durations, form rendering."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from engine.errors import FieldError, InputValidationError
from engine.inputs import (
    DependsOn,
    InputDefinition,
    InputType,
    flatten,
    form_value,
    form_values,
    format_duration,
    nest,
    parse_duration,
    parse_inputs,
)


def define(**fields: Any) -> InputDefinition:
    fields.setdefault("id", "x")
    return InputDefinition.model_validate(fields)


def parse_one(value: Any, **fields: Any) -> Any:
    """Parse a single value of a single input (id ``x``)."""
    return parse_inputs([define(**fields)], {"x": value})["x"]


def errors(definitions: list[InputDefinition], raw: dict[str, Any], **kw: Any) -> dict[str, str]:
    with pytest.raises(InputValidationError) as info:
        parse_inputs(definitions, raw, **kw)
    return info.value.by_field()


def error_one(value: Any, **fields: Any) -> str:
    return errors([define(**fields)], {"x": value})["x"]


# --------------------------------------------------------------------------- definitions


class TestDefinition:
    def test_minimal_definition_defaults(self) -> None:
        d = define(type="STRING")
        assert d.required is True
        assert d.defaults is None
        assert d.allowCustomValue is False
        assert d.label == "x"

    def test_all_types_are_known(self) -> None:
        assert {t.value for t in InputType} == {
            "STRING", "INT", "FLOAT", "BOOLEAN", "BOOL", "DATE", "DATETIME", "TIME", "DURATION",
            "URI", "EMAIL", "ENUM", "SELECT", "MULTISELECT", "JSON", "ARRAY", "FILE", "SECRET",
            "YAML",
        }  # fmt: skip

    def test_type_is_case_insensitive(self) -> None:
        assert define(type="string").type is InputType.STRING

    def test_unknown_type_is_rejected(self) -> None:
        with pytest.raises(ValidationError):
            define(type="NUMBER")

    @pytest.mark.parametrize("good", ["a", "request.name", "my-file", "A_1.b-2", "1st"])
    def test_valid_ids(self, good: str) -> None:
        assert define(id=good, type="STRING").id == good

    @pytest.mark.parametrize("bad", ["", ".a", "-a", "a b", "a..b", "a.", "é", "a/b"])
    def test_invalid_ids(self, bad: str) -> None:
        with pytest.raises(ValidationError, match="invalid input id|should match|at least"):
            define(id=bad, type="STRING")

    def test_deprecated_name_fills_id(self) -> None:
        d = InputDefinition.model_validate({"name": "legacy", "type": "STRING"})
        assert d.id == "legacy"

    def test_name_and_different_id_is_an_error(self) -> None:
        with pytest.raises(ValidationError, match="deprecated"):
            InputDefinition.model_validate({"id": "a", "name": "b", "type": "STRING"})

    def test_options_alias_of_values(self) -> None:
        d = define(type="MULTISELECT", options=["a", "b"])
        assert d.values == ["a", "b"]

    def test_populate_by_field_name(self) -> None:
        d = InputDefinition(id="x", type=InputType.INT, min=1)
        assert d.min == 1

    def test_extra_fields_are_forbidden(self) -> None:
        with pytest.raises(ValidationError, match="Extra inputs"):
            define(type="STRING", colour="red")

    def test_display_name_max_64(self) -> None:
        assert define(type="STRING", displayName="a" * 64).displayName == "a" * 64
        with pytest.raises(ValidationError):
            define(type="STRING", displayName="a" * 65)

    @pytest.mark.parametrize("kind", ["ENUM", "SELECT", "MULTISELECT"])
    def test_choice_types_need_values(self, kind: str) -> None:
        with pytest.raises(ValidationError, match="needs 'values'"):
            define(type=kind)

    def test_choice_values_may_come_from_expression(self) -> None:
        d = define(type="SELECT", expression="{{ kv('choices') }}")
        assert d.values is None

    def test_empty_values_rejected(self) -> None:
        with pytest.raises(ValidationError, match="must not be empty"):
            define(type="SELECT", values=[])

    def test_values_on_non_choice_type_rejected(self) -> None:
        with pytest.raises(ValidationError, match="only allowed on ENUM"):
            define(type="STRING", values=["a"])

    def test_array_needs_item_type(self) -> None:
        with pytest.raises(ValidationError, match="needs 'itemType'"):
            define(type="ARRAY")

    @pytest.mark.parametrize("item", ["ARRAY", "FILE"])
    def test_array_item_type_restrictions(self, item: str) -> None:
        with pytest.raises(ValidationError, match="cannot be"):
            define(type="ARRAY", itemType=item)

    def test_item_type_only_on_array_and_multiselect(self) -> None:
        with pytest.raises(ValidationError, match="only allowed on ARRAY"):
            define(type="STRING", itemType="INT")

    def test_bad_regex_validator(self) -> None:
        with pytest.raises(ValidationError, match="not a valid regular expression"):
            define(type="STRING", validator="([a-z")

    def test_validator_only_on_text_types(self) -> None:
        with pytest.raises(ValidationError, match="'validator' is only allowed"):
            define(type="INT", validator="\\d+")

    def test_min_max_only_on_numbers_and_durations(self) -> None:
        with pytest.raises(ValidationError, match="'min'/'max'"):
            define(type="STRING", min=1)

    def test_after_before_only_on_temporal(self) -> None:
        with pytest.raises(ValidationError, match="'after'/'before'"):
            define(type="INT", after=1)

    def test_bounds_must_parse(self) -> None:
        with pytest.raises(ValidationError, match="'min' is not a valid DURATION"):
            define(type="DURATION", min="5 minutes")
        with pytest.raises(ValidationError, match="'max' is not a valid INT"):
            define(type="INT", max="ten")
        with pytest.raises(ValidationError, match="'after' is not a valid DATE"):
            define(type="DATE", after="01/01/2024")

    def test_bounds_must_be_ordered(self) -> None:
        with pytest.raises(ValidationError, match="'min' must not be greater than 'max'"):
            define(type="INT", min=10, max=1)
        with pytest.raises(ValidationError, match="'after' must not be greater"):
            define(type="DATE", after=date(2024, 2, 1), before="2024-01-01")

    @pytest.mark.parametrize(
        ("fields", "expected"),
        [
            ({"type": "BOOLEAN", "defaults": "ture"}, "expected true or false"),
            ({"type": "INT", "defaults": "abc"}, "expected an integer"),
            ({"type": "INT", "defaults": 50, "max": 10}, "must be at most 10"),
            ({"type": "DATE", "defaults": "July 1st"}, "expected a date"),
            ({"type": "SELECT", "values": ["a", "b"], "defaults": "c"}, "must be one of"),
            ({"type": "STRING", "validator": "[a-z]+", "defaults": "ABC"}, "must match"),
            ({"type": "URI", "defaults": "nope"}, "expected a URI"),
            ({"type": "BOOLEAN", "prefill": "maybe"}, "'prefill' is not a valid BOOLEAN"),
        ],
    )
    def test_invalid_defaults_are_definition_errors(
        self, fields: dict[str, Any], expected: str
    ) -> None:
        with pytest.raises(ValidationError, match=expected):
            define(**fields)

    def test_template_string_defaults_are_not_validated(self) -> None:
        d = define(type="STRING", validator="[a-z]+", defaults="{{ trigger.user }}")
        assert d.defaults == "{{ trigger.user }}"

    def test_typed_yaml_defaults_are_accepted(self) -> None:
        doc = yaml.safe_load(
            """
            - {id: d, type: DATE, defaults: 2024-07-01}
            - {id: dt, type: DATETIME, defaults: 2024-07-01T10:00:00Z}
            - {id: b, type: BOOLEAN, defaults: true}
            - {id: i, type: INT, defaults: 3}
            - {id: f, type: FLOAT, defaults: 2}
            - {id: a, type: ARRAY, itemType: INT, defaults: [1, 2, 3]}
            - {id: j, type: JSON, defaults: {k: [1, 2]}}
            - {id: m, type: MULTISELECT, values: [a, b], defaults: [b]}
            """
        )
        defs = [InputDefinition.model_validate(item) for item in doc]
        assert isinstance(defs[0].defaults, date)
        assert parse_inputs(defs, {}) == {
            "d": "2024-07-01",
            "dt": "2024-07-01T10:00:00Z",
            "b": True,
            "i": 3,
            "f": 2.0,
            "a": [1, 2, 3],
            "j": {"k": [1, 2]},
            "m": ["b"],
        }

    def test_depends_on_model(self) -> None:
        d = define(type="STRING", dependsOn={"inputs": ["a"], "condition": "{{ true }}"})
        assert d.dependsOn == DependsOn(inputs=["a"], condition="{{ true }}")
        with pytest.raises(ValidationError):
            define(type="STRING", dependsOn={"inputs": ["a"], "when": "x"})

    def test_label_and_default_value(self) -> None:
        assert define(type="STRING", description="Why?", displayName="Reason").label == "Why?"
        assert define(type="STRING", displayName="Reason").label == "Reason"
        assert define(type="STRING", defaults="d", prefill="p").default_value == "d"
        assert define(type="STRING", prefill="p").default_value == "p"
        assert define(type="STRING").default_value is None
        auto = define(type="SELECT", values=["a", "b"], autoSelectFirst=True)
        assert auto.default_value == "a"
        multi = define(type="MULTISELECT", values=["a", "b"], autoSelectFirst=True)
        assert multi.default_value == ["a"]

    def test_dump_round_trip(self) -> None:
        d = define(id="request.start_date", type="DATE", defaults=date(2024, 7, 1))
        dumped = d.model_dump(mode="json", exclude_none=True)
        assert dumped["defaults"] == "2024-07-01"
        assert InputDefinition.model_validate(dumped) == define(
            id="request.start_date", type="DATE", defaults="2024-07-01"
        )


# --------------------------------------------------------------------------- scalar types


class TestString:
    def test_plain(self) -> None:
        assert parse_one("hello", type="STRING") == "hello"

    def test_a_yaml_default_number_becomes_text(self) -> None:
        assert parse_one(None, type="STRING", defaults=42) == "42"

    @pytest.mark.parametrize("bad", [True, 42, 1.5, {"a": 1}, ["a"]])
    def test_non_text_rejected(self, bad: Any) -> None:
        assert error_one(bad, type="STRING").startswith("expected a string, got")

    def test_validator_full_match(self) -> None:
        assert parse_one("abc", type="STRING", validator="[a-z]+") == "abc"
        message = error_one("abc1", type="STRING", validator="[a-z]+")
        assert message == "must match the pattern [a-z]+, got 'abc1'"

    def test_long_values_are_truncated_in_messages(self) -> None:
        message = error_one("y" * 500, type="STRING", validator="[a-z]")
        shown = message.split("got ")[1]
        assert len(shown) <= 102
        assert shown.endswith("...'")


class TestSecret:
    def test_treated_as_string(self) -> None:
        assert parse_one("s3cret", type="SECRET") == "s3cret"

    def test_error_never_shows_the_value(self) -> None:
        with pytest.raises(InputValidationError) as info:
            parse_inputs([define(type="SECRET", validator="[0-9]+")], {"x": "hunter2"})
        (error,) = info.value.errors
        assert "hunter2" not in error.message
        assert "hunter2" not in str(info.value)
        assert error.value is None


class TestBoolean:
    @pytest.mark.parametrize("kind", ["BOOLEAN", "BOOL"])
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            (True, True),
            (False, False),
            ("true", True),
            ("TRUE", True),
            ("False", False),
            ("tRuE", True),
        ],
    )
    def test_accepted(self, kind: str, raw: Any, expected: bool) -> None:
        assert parse_one(raw, type=kind) is expected

    @pytest.mark.parametrize("kind", ["BOOLEAN", "BOOL"])
    def test_ture_is_rejected(self, kind: str) -> None:
        assert error_one("ture", type=kind) == "expected true or false, got 'ture'"

    @pytest.mark.parametrize(
        "bad", ["maybe", "t", "yes", "no", "on", "off", "1", "0", " true", 1, 0, 2, 1.0, ["true"]]
    )
    def test_other_rejections(self, bad: Any) -> None:
        """Issue 7 finding 5: one clear message for every near miss, a JSON number included."""
        assert error_one(bad, type="BOOLEAN").startswith("expected true or false, got ")


class TestInt:
    @pytest.mark.parametrize(("raw", "expected"), [("42", 42), (" -7 ", -7), (5, 5), ("+3", 3)])
    def test_accepted(self, raw: Any, expected: int) -> None:
        value = parse_one(raw, type="INT")
        assert value == expected
        assert type(value) is int

    @pytest.mark.parametrize("bad", ["abc", "1.5", 1.5, 2.0, True, "1e3", "1_000", "0x10"])
    def test_rejected(self, bad: Any) -> None:
        assert error_one(bad, type="INT").startswith("expected an integer, got ")

    def test_message_shape(self) -> None:
        assert error_one("abc", type="INT") == "expected an integer, got 'abc'"

    def test_min_max_inclusive(self) -> None:
        fields = {"type": "INT", "min": 1, "max": 10}
        assert parse_one("1", **fields) == 1
        assert parse_one("10", **fields) == 10
        assert error_one("12", **fields) == "must be at most 10, got '12'"
        assert error_one(0, **fields) == "must be at least 1, got 0"


class TestFloat:
    @pytest.mark.parametrize(
        ("raw", "expected"), [("1.5", 1.5), ("2", 2.0), (3, 3.0), (0.25, 0.25), ("1e3", 1000.0)]
    )
    def test_accepted(self, raw: Any, expected: float) -> None:
        value = parse_one(raw, type="FLOAT")
        assert value == expected
        assert type(value) is float

    @pytest.mark.parametrize("bad", ["abc", "nan", "inf", float("nan"), True, "1,5"])
    def test_rejected(self, bad: Any) -> None:
        assert error_one(bad, type="FLOAT").startswith("expected a number, got ")

    def test_min_max(self) -> None:
        fields = {"type": "FLOAT", "min": 0.5, "max": 1.5}
        assert parse_one("1.5", **fields) == 1.5
        assert error_one("1.51", **fields) == "must be at most 1.5, got '1.51'"
        assert error_one("0.1", **fields) == "must be at least 0.5, got '0.1'"


class TestDate:
    def test_string(self) -> None:
        assert parse_one("2024-07-01", type="DATE") == "2024-07-01"

    def test_date_object(self) -> None:
        assert parse_one(date(2024, 7, 1), type="DATE") == "2024-07-01"

    @pytest.mark.parametrize(
        "bad", ["2024-13-01", "2024-02-30", "01/07/2024", "20240701", "2024-07-01T00:00:00Z", 5]
    )
    def test_rejected(self, bad: Any) -> None:
        assert error_one(bad, type="DATE").startswith("expected a date (YYYY-MM-DD), got ")

    def test_datetime_object_is_not_a_date(self) -> None:
        assert error_one(datetime(2024, 7, 1, tzinfo=UTC), type="DATE").startswith(
            "expected a date"
        )

    def test_after_before_inclusive(self) -> None:
        fields = {"type": "DATE", "after": "2024-01-01", "before": date(2024, 12, 31)}
        assert parse_one("2024-01-01", **fields) == "2024-01-01"
        assert parse_one("2024-12-31", **fields) == "2024-12-31"
        assert error_one("2023-12-31", **fields) == (
            "must be on or after 2024-01-01, got '2023-12-31'"
        )
        assert error_one("2025-01-01", **fields) == (
            "must be on or before 2024-12-31, got '2025-01-01'"
        )


class TestDateTime:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("2024-07-01T10:00:00Z", "2024-07-01T10:00:00Z"),
            ("2024-07-01T12:00:00+02:00", "2024-07-01T10:00:00Z"),
            ("2024-07-01 05:00:00-05:00", "2024-07-01T10:00:00Z"),
            ("2042-04-02T04:20:42.000Z", "2042-04-02T04:20:42Z"),
            ("2024-07-01T10:00:00.250Z", "2024-07-01T10:00:00.25Z"),
            ("2024-07-01T10:00Z", "2024-07-01T10:00:00Z"),
            (datetime(2024, 7, 1, 12, tzinfo=timezone(timedelta(hours=2))), "2024-07-01T10:00:00Z"),
        ],
    )
    def test_normalised_to_utc(self, raw: Any, expected: str) -> None:
        assert parse_one(raw, type="DATETIME") == expected

    def test_naive_needs_a_timezone(self) -> None:
        message = error_one("2024-07-01T10:00:00", type="DATETIME")
        assert message.startswith("needs a timezone")
        assert "'2024-07-01T10:00:00'" in message
        assert error_one(datetime(2024, 7, 1, 10), type="DATETIME").startswith("needs a timezone")

    @pytest.mark.parametrize("bad", ["yesterday", "2024-07-01", "2024-07-01T25:00:00Z", 1719828000])
    def test_rejected(self, bad: Any) -> None:
        assert error_one(bad, type="DATETIME").startswith("expected a date-time")

    def test_bounds(self) -> None:
        fields = {"type": "DATETIME", "after": "2024-07-01T00:00:00Z"}
        assert parse_one("2024-07-01T02:00:00+02:00", **fields) == "2024-07-01T00:00:00Z"
        assert error_one("2024-07-01T01:59:59+02:00", **fields).startswith(
            "must be on or after 2024-07-01T00:00:00Z"
        )

    def test_naive_bound_is_a_definition_error(self) -> None:
        with pytest.raises(ValidationError, match="needs a timezone"):
            define(type="DATETIME", before="2024-07-01T00:00:00")


class TestTime:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("10:15", "10:15:00"), ("10:15:30", "10:15:30"), (time(8, 0), "08:00:00")],
    )
    def test_accepted(self, raw: Any, expected: str) -> None:
        assert parse_one(raw, type="TIME") == expected

    @pytest.mark.parametrize("bad", ["25:00", "10h15", "10:15:30+02:00", "9:15"])
    def test_rejected(self, bad: Any) -> None:
        assert error_one(bad, type="TIME").startswith("expected a time (HH:MM or HH:MM:SS), got ")

    def test_unquoted_yaml_time_gets_a_hint(self) -> None:
        # PyYAML turns `defaults: 10:15:30` into the base-60 integer 36930.
        raw = yaml.safe_load("{id: t, type: TIME, defaults: 10:15:30}")
        with pytest.raises(ValidationError, match="quote times in YAML"):
            InputDefinition.model_validate(raw)

    def test_bounds(self) -> None:
        fields = {"type": "TIME", "after": "09:00", "before": "17:00"}
        assert parse_one("17:00:00", **fields) == "17:00:00"
        assert error_one("08:59", **fields) == "must be on or after 09:00:00, got '08:59'"


class TestDuration:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("PT5M6S", "PT5M6S"),
            ("PT0.25S", "PT0.25S"),
            ("P1D", "P1D"),
            ("P2DT3H", "P2DT3H"),
            ("PT90M", "PT1H30M"),
            ("pt1h", "PT1H"),
            (timedelta(minutes=5), "PT5M"),
        ],
    )
    def test_canonical(self, raw: Any, expected: str) -> None:
        assert parse_one(raw, type="DURATION") == expected

    @pytest.mark.parametrize("bad", ["5 minutes", "P", "PT", "P1M", 300])
    def test_rejected(self, bad: Any) -> None:
        message = error_one(bad, type="DURATION")
        assert "duration" in message or "months" in message

    def test_min_max(self) -> None:
        fields = {"type": "DURATION", "min": "PT1M", "max": "P1D"}
        assert parse_one("PT1M", **fields) == "PT1M"
        assert parse_one("PT24H", **fields) == "P1D"
        assert error_one("PT30S", **fields) == "must be at least PT1M, got 'PT30S'"
        assert error_one("P2D", **fields) == "must be at most P1D, got 'P2D'"


class TestUri:
    @pytest.mark.parametrize(
        "good",
        [
            "https://reqres.in/api/slack",
            "http://localhost:8080/x?y=1#z",
            "ftp://files.example.com",
            "postgresql+psycopg://db.example.com:5432/app",
        ],
    )
    def test_accepted(self, good: str) -> None:
        assert parse_one(good, type="URI") == good

    @pytest.mark.parametrize(
        "bad", ["not a uri", "reqres.in/api", "https://", "mailto:a@b.c", "https://a b.com", 42]
    )
    def test_rejected(self, bad: Any) -> None:
        assert error_one(bad, type="URI").startswith("expected a URI")

    def test_message_shows_value(self) -> None:
        assert error_one("not a uri", type="URI").endswith("got 'not a uri'")


class TestEmail:
    @pytest.mark.parametrize("good", ["rick@example.com", "a.b+tag@mail.example.co.uk"])
    def test_accepted(self, good: str) -> None:
        assert parse_one(good, type="EMAIL") == good

    @pytest.mark.parametrize("bad", ["rick", "rick@", "@example.com", "a@b", "a b@example.com"])
    def test_rejected(self, bad: str) -> None:
        assert error_one(bad, type="EMAIL") == f"expected an email address, got {bad!r}"


class TestJsonAndYaml:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ('{"a": [1, 2]}', {"a": [1, 2]}),
            ("[1, 2]", [1, 2]),
            ("3", 3),
            ("true", True),
            ({"already": "typed"}, {"already": "typed"}),
            ([1, "a"], [1, "a"]),
        ],
    )
    def test_json(self, raw: Any, expected: Any) -> None:
        assert parse_one(raw, type="JSON") == expected

    def test_invalid_json(self) -> None:
        message = error_one("{oops", type="JSON")
        assert message.startswith("expected valid JSON")
        assert message.endswith("got '{oops'")

    def test_yaml(self) -> None:
        assert parse_one("a: 1\nb: [x, y]\n", type="YAML") == {"a": 1, "b": ["x", "y"]}
        assert parse_one({"k": "v"}, type="YAML") == {"k": "v"}

    def test_yaml_dates_become_strings(self) -> None:
        assert parse_one("when: 2024-07-01", type="YAML") == {"when": "2024-07-01"}

    def test_invalid_yaml(self) -> None:
        assert error_one("a: [1, 2", type="YAML").startswith("expected valid YAML")


class TestFile:
    def test_text_is_not_a_file(self) -> None:
        assert error_one("report.pdf", type="FILE").startswith("expected a file: upload it")

    def test_upload_and_stored_uri_are_accepted(self) -> None:
        from engine.storage import UploadedFile

        upload = UploadedFile("report.pdf", b"%PDF")
        assert parse_one(upload, type="FILE") == upload
        assert parse_one("kestra:///a/b/report.pdf", type="FILE") == "kestra:///a/b/report.pdf"

    def test_upload_for_another_type_is_refused(self) -> None:
        from engine.storage import UploadedFile

        assert "accepted only for FILE inputs" in error_one(UploadedFile("a", b""), type="STRING")

    def test_optional_without_value_is_fine(self) -> None:
        assert parse_inputs([define(type="FILE", required=False)], {}) == {"x": None}


# --------------------------------------------------------------------------- choices and lists


class TestSelect:
    @pytest.mark.parametrize("kind", ["ENUM", "SELECT"])
    def test_value_in_values(self, kind: str) -> None:
        assert parse_one("b", type=kind, values=["a", "b", "c"]) == "b"

    def test_not_in_values(self) -> None:
        message = error_one("d", type="SELECT", values=["a", "b", "c"])
        assert message == "must be one of: a, b, c, got 'd'"

    def test_custom_value_allowed(self) -> None:
        assert parse_one("d", type="SELECT", values=["a"], allowCustomValue=True) == "d"

    def test_form_text_matches_typed_values(self) -> None:
        # A form posts "2" for `values: [1, 2]`; the declared (typed) value is kept.
        assert parse_one("2", type="SELECT", values=[1, 2]) == 2

    def test_list_rejected(self) -> None:
        assert error_one(["a"], type="SELECT", values=["a"]).startswith("expected a single value")

    def test_expression_only_accepts_any_text(self) -> None:
        assert parse_one("z", type="SELECT", expression="{{ values }}") == "z"

    def test_auto_select_first_as_default(self) -> None:
        d = define(type="SELECT", values=["a", "b"], autoSelectFirst=True)
        assert parse_inputs([d], {}) == {"x": "a"}


class TestMultiselect:
    @pytest.mark.parametrize("raw", [["a", "c"], '["a", "c"]'])
    def test_list_or_json_string(self, raw: Any) -> None:
        assert parse_one(raw, type="MULTISELECT", values=["a", "b", "c"]) == ["a", "c"]

    def test_items_not_in_values(self) -> None:
        message = error_one(["a", "x", "y"], type="MULTISELECT", values=["a", "b"])
        assert message == "each item must be one of: a, b; not allowed: 'x', 'y'"

    def test_custom_values(self) -> None:
        fields = {"type": "MULTISELECT", "values": ["a"], "allowCustomValue": True}
        assert parse_one(["a", "z"], **fields) == ["a", "z"]

    def test_custom_values_typed_by_item_type(self) -> None:
        fields = {"type": "MULTISELECT", "values": [1], "allowCustomValue": True, "itemType": "INT"}
        assert parse_one('["1", "7"]', **fields) == [1, 7]
        assert error_one(["nope"], **fields) == "item 1: expected an integer, got 'nope'"

    @pytest.mark.parametrize("bad", ["a", "a,b", '{"a": 1}', "[broken"])
    def test_not_a_list(self, bad: str) -> None:
        assert error_one(bad, type="MULTISELECT", values=["a", "b"]).startswith("expected a list")

    def test_empty_list_is_a_value(self) -> None:
        assert parse_one([], type="MULTISELECT", values=["a"]) == []


class TestArray:
    def test_items_parsed_with_item_type(self) -> None:
        assert parse_one('["1", 2, "3"]', type="ARRAY", itemType="INT") == [1, 2, 3]
        assert parse_one(["2024-07-01"], type="ARRAY", itemType="DATE") == ["2024-07-01"]
        assert parse_one(["PT90M"], type="ARRAY", itemType="DURATION") == ["PT1H30M"]

    def test_item_errors_are_listed(self) -> None:
        message = error_one(["1", "x", "3", "ture"], type="ARRAY", itemType="INT")
        assert message == (
            "item 2: expected an integer, got 'x'; item 4: expected an integer, got 'ture'"
        )

    def test_boolean_items_are_strict(self) -> None:
        assert error_one(["true", "ture"], type="ARRAY", itemType="BOOLEAN") == (
            "item 2: expected true or false, got 'ture'"
        )

    def test_empty_items_rejected(self) -> None:
        assert error_one(["a", ""], type="ARRAY", itemType="STRING") == "item 2: must not be empty"

    def test_not_a_list(self) -> None:
        assert error_one("1,2", type="ARRAY", itemType="INT").startswith("expected a list")


# --------------------------------------------------------------------------- request-level rules


class TestRequiredAndDefaults:
    @pytest.mark.parametrize("raw", [{}, {"x": None}, {"x": ""}])
    def test_missing_required(self, raw: dict[str, Any]) -> None:
        assert errors([define(type="STRING")], raw) == {"x": "missing required input"}

    @pytest.mark.parametrize("raw", [{}, {"x": None}, {"x": ""}])
    def test_missing_optional_is_present_as_none(self, raw: dict[str, Any]) -> None:
        assert parse_inputs([define(type="STRING", required=False)], raw) == {"x": None}

    def test_default_used_when_missing(self) -> None:
        d = define(type="INT", defaults=5)
        assert parse_inputs([d], {}) == {"x": 5}
        assert parse_inputs([d], {"x": ""}) == {"x": 5}
        assert parse_inputs([d], {"x": "7"}) == {"x": 7}

    def test_use_defaults_false(self) -> None:
        required = define(type="INT", defaults=5)
        optional = define(id="y", type="INT", defaults=5, required=False)
        assert errors([required], {}, use_defaults=False) == {"x": "missing required input"}
        assert parse_inputs([optional], {}, use_defaults=False) == {"y": None}

    def test_prefill_is_not_a_default(self) -> None:
        d = define(type="STRING", required=False, prefill="suggested")
        assert parse_inputs([d], {"x": ""}) == {"x": None}

    def test_undeclared_fields_ignored(self) -> None:
        d = define(type="STRING")
        assert parse_inputs([d], {"x": "a", "extra": "b", "csrf": "t"}) == {"x": "a"}

    def test_whitespace_string_is_a_value(self) -> None:
        assert parse_one(" ", type="STRING") == " "


class TestAllErrorsTogether:
    def test_every_bad_field_reported_in_definition_order(self) -> None:
        defs = [
            define(id="count", type="INT", max=10),
            define(id="ok", type="STRING"),
            define(id="flag", type="BOOLEAN"),
            define(id="when", type="DATE"),
            define(id="needed", type="STRING"),
            define(id="choice", type="SELECT", values=["a", "b", "c"]),
        ]
        raw = {"count": "12", "ok": "fine", "flag": "ture", "when": "tomorrow", "choice": "z"}
        with pytest.raises(InputValidationError) as info:
            parse_inputs(defs, raw)
        assert info.value.errors == [
            FieldError("count", "must be at most 10, got '12'", "12"),
            FieldError("flag", "expected true or false, got 'ture'", "ture"),
            FieldError("when", "expected a date (YYYY-MM-DD), got 'tomorrow'", "tomorrow"),
            FieldError("needed", "missing required input", None),
            FieldError("choice", "must be one of: a, b, c, got 'z'", "z"),
        ]
        text = str(info.value)
        assert text.startswith("Invalid input: count: must be at most 10")
        assert "choice: must be one of: a, b, c" in text

    def test_duplicate_ids(self) -> None:
        defs = [define(type="STRING"), define(type="INT")]
        assert errors(defs, {"x": "1"}) == {"x": "is declared more than once"}


class TestNesting:
    def test_dotted_ids_become_nested(self) -> None:
        defs = [
            define(id="request.name", type="STRING"),
            define(id="request.days", type="INT"),
            define(id="top", type="STRING"),
        ]
        raw = {"request.name": "Rick", "request.days": "3", "top": "t"}
        assert parse_inputs(defs, raw) == {"request": {"name": "Rick", "days": 3}, "top": "t"}

    def test_nested_raw_dicts(self) -> None:
        defs = [define(id="request.name", type="STRING"), define(id="request.days", type="INT")]
        raw = {"request": {"name": "Rick", "days": 3}}
        assert parse_inputs(defs, raw) == {"request": {"name": "Rick", "days": 3}}

    def test_mixed_flat_and_nested_raw(self) -> None:
        defs = [define(id="a.b.c", type="STRING"), define(id="a.b.d", type="STRING")]
        raw = {"a": {"b.c": "1"}, "a.b": {"d": "2"}}
        assert parse_inputs(defs, raw) == {"a": {"b": {"c": "1", "d": "2"}}}

    def test_flat_key_wins_over_nested(self) -> None:
        defs = [define(id="a.b", type="STRING")]
        assert parse_inputs(defs, {"a.b": "flat", "a": {"b": "nested"}}) == {"a": {"b": "flat"}}

    def test_conflict_reported_on_later_id(self) -> None:
        defs = [define(id="a", type="STRING"), define(id="a.b", type="STRING")]
        assert errors(defs, {"a": "1", "a.b": "2"}) == {"a.b": "conflicts with input 'a'"}

    def test_conflict_when_parent_comes_last(self) -> None:
        defs = [define(id="a.b", type="STRING"), define(id="a", type="JSON")]
        assert errors(defs, {"a.b": "2", "a": "{}"}) == {"a": "conflicts with input 'a.b'"}

    def test_conflict_even_with_null_value(self) -> None:
        defs = [define(id="a", type="STRING", required=False), define(id="a.b", type="STRING")]
        assert errors(defs, {"a.b": "2"}) == {"a.b": "conflicts with input 'a'"}

    def test_nest_and_flatten(self) -> None:
        flat = {"request.name": "Rick", "request.dates.start": "2024-07-01", "top": 1}
        nested = nest(flat)
        assert nested == {"request": {"name": "Rick", "dates": {"start": "2024-07-01"}}, "top": 1}
        assert flatten(nested) == flat
        assert flatten({"b": 2}, prefix="a") == {"a.b": 2}
        assert flatten({"empty": {}}) == {"empty": {}}

    def test_nest_conflict(self) -> None:
        with pytest.raises(ValueError, match="conflicts"):
            nest({"a": 1, "a.b": 2})
        with pytest.raises(ValueError, match="conflicts"):
            nest({"a.b.c": 1, "a.b": 2})


class TestDependsOn:
    @staticmethod
    def definitions() -> list[InputDefinition]:
        return [
            define(id="kind", type="SELECT", values=["leave", "expense"]),
            define(
                id="amount",
                type="FLOAT",
                dependsOn={"inputs": ["kind"], "condition": "{{ inputs.kind == 'expense' }}"},
            ),
            define(id="receipt.note", type="STRING", dependsOn={"inputs": ["amount"]}),
        ]

    @staticmethod
    def evaluator(seen: list[dict[str, Any]]) -> Any:
        def evaluate(condition: str, values: dict[str, Any]) -> bool:
            seen.append(values)
            assert condition == "{{ inputs.kind == 'expense' }}"
            return values.get("kind") == "expense"

        return evaluate

    def test_condition_true(self) -> None:
        seen: list[dict[str, Any]] = []
        raw = {"kind": "expense", "amount": "12.5", "receipt.note": "taxi"}
        result = parse_inputs(self.definitions(), raw, evaluate_condition=self.evaluator(seen))
        assert result == {"kind": "expense", "amount": 12.5, "receipt": {"note": "taxi"}}
        assert seen == [{"kind": "expense"}]

    def test_condition_false_drops_input_and_its_dependents(self) -> None:
        seen: list[dict[str, Any]] = []
        raw = {"kind": "leave", "amount": "not a number"}
        result = parse_inputs(self.definitions(), raw, evaluate_condition=self.evaluator(seen))
        assert result == {"kind": "leave"}

    def test_without_evaluator_inputs_are_enabled(self) -> None:
        result = parse_inputs(
            self.definitions(), {"kind": "leave", "amount": "1", "receipt.note": "n"}
        )
        assert result == {"kind": "leave", "amount": 1.0, "receipt": {"note": "n"}}

    def test_failed_dependency_blocks_dependents_quietly(self) -> None:
        assert errors(self.definitions(), {"kind": "other"}) == {
            "kind": "must be one of: leave, expense, got 'other'"
        }

    def test_dependency_declared_later(self) -> None:
        defs = [
            define(id="b", type="STRING", dependsOn={"inputs": ["a"], "condition": "c"}),
            define(id="a", type="BOOLEAN"),
        ]
        result = parse_inputs(defs, {"a": "true", "b": "x"}, evaluate_condition=lambda c, v: v["a"])
        assert result == {"b": "x", "a": True}
        assert parse_inputs(
            defs, {"a": "false", "b": "x"}, evaluate_condition=lambda c, v: v["a"]
        ) == {"a": False}

    def test_unknown_dependency(self) -> None:
        defs = [define(type="STRING", dependsOn={"inputs": ["ghost"]})]
        assert errors(defs, {"x": "1"}) == {"x": "depends on unknown input 'ghost'"}

    def test_cycle(self) -> None:
        defs = [
            define(id="a", type="STRING", dependsOn={"inputs": ["b"]}),
            define(id="b", type="STRING", dependsOn={"inputs": ["a"]}),
        ]
        assert errors(defs, {"a": "1", "b": "2"}) == {
            "b": "has a circular dependency through input 'a'"
        }


# --------------------------------------------------------------------------- durations


class TestDurations:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("PT5M6S", timedelta(minutes=5, seconds=6)),
            ("PT0.25S", timedelta(milliseconds=250)),
            ("PT0,5S", timedelta(milliseconds=500)),
            ("P1D", timedelta(days=1)),
            ("P2W", timedelta(weeks=2)),
            ("P2DT3H", timedelta(days=2, hours=3)),
            ("PT1.5H", timedelta(minutes=90)),
            ("-PT1H", timedelta(hours=-1)),
            ("PT0S", timedelta(0)),
            ("p1dt1m", timedelta(days=1, minutes=1)),
        ],
    )
    def test_parse(self, text: str, expected: timedelta) -> None:
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("bad", ["", "P", "PT", "5M", "PT5", "P1H", "PT1D", "1 day", "P-1D"])
    def test_parse_rejects(self, bad: str) -> None:
        with pytest.raises(ValueError, match="expected an ISO-8601 duration"):
            parse_duration(bad)

    @pytest.mark.parametrize("bad", ["P1Y", "P2M", "P1Y2M3D"])
    def test_years_and_months_refused(self, bad: str) -> None:
        with pytest.raises(ValueError, match="years and months are not supported"):
            parse_duration(bad)

    def test_non_string(self) -> None:
        with pytest.raises(TypeError):
            parse_duration(5)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("td", "text"),
        [
            (timedelta(hours=1, minutes=2, seconds=3.5), "PT1H2M3.5S"),
            (timedelta(days=1, hours=2), "P1DT2H"),
            (timedelta(0), "PT0S"),
            (timedelta(days=3), "P3D"),
            (timedelta(minutes=-5), "-PT5M"),
            (timedelta(microseconds=1), "PT0.000001S"),
            (timedelta(weeks=1), "P7D"),
        ],
    )
    def test_format(self, td: timedelta, text: str) -> None:
        assert format_duration(td) == text
        assert parse_duration(text) == td

    @pytest.mark.parametrize("text", ["PT5M6S", "PT0.25S", "P1D", "P2DT3H", "P1DT2H3M4.5S", "PT0S"])
    def test_canonical_round_trip(self, text: str) -> None:
        assert format_duration(parse_duration(text)) == text


# --------------------------------------------------------------------------- forms


class TestFormValue:
    @pytest.mark.parametrize(
        ("fields", "value", "text"),
        [
            ({"type": "BOOLEAN"}, True, "true"),
            ({"type": "BOOLEAN"}, False, "false"),
            ({"type": "STRING"}, None, ""),
            ({"type": "INT"}, 3, "3"),
            ({"type": "FLOAT"}, 1.5, "1.5"),
            ({"type": "DATE"}, "2024-07-01", "2024-07-01"),
            ({"type": "DATE"}, date(2024, 7, 1), "2024-07-01"),
            ({"type": "DURATION"}, timedelta(minutes=5), "PT5M"),
            ({"type": "MULTISELECT", "values": ["a", "b"]}, ["a", "b"], '["a", "b"]'),
            ({"type": "JSON"}, {"a": 1}, '{"a": 1}'),
            ({"type": "JSON"}, "text", '"text"'),
            ({"type": "ARRAY", "itemType": "INT"}, [1, 2], "[1, 2]"),
        ],
    )
    def test_render(self, fields: dict[str, Any], value: Any, text: str) -> None:
        assert form_value(define(**fields), value) == text

    @pytest.mark.parametrize(
        ("fields", "value"),
        [
            ({"type": "BOOLEAN"}, True),
            ({"type": "DATETIME"}, "2024-07-01T10:00:00Z"),
            ({"type": "DURATION"}, "PT1H30M"),
            ({"type": "JSON"}, {"nested": [1, {"b": None}]}),
            ({"type": "JSON"}, "just text"),
            ({"type": "MULTISELECT", "values": ["a", "b"]}, ["b"]),
            ({"type": "ARRAY", "itemType": "DATE"}, ["2024-07-01"]),
            ({"type": "YAML"}, {"k": ["v"]}),
        ],
    )
    def test_round_trip_through_parse(self, fields: dict[str, Any], value: Any) -> None:
        d = define(**fields)
        assert parse_inputs([d], {"x": form_value(d, value)}) == {"x": value}

    def test_form_values_from_nested(self) -> None:
        defs = [
            define(id="request.name", type="STRING", defaults="Rick Astley"),
            define(id="payload", type="JSON", required=False),
            define(id="ok", type="BOOLEAN", defaults=True),
        ]
        values = {"request": {"name": "Ann"}, "payload": {"a": {"b": 1}}}
        assert form_values(defs, values) == {
            "request.name": "Ann",
            "payload": '{"a": {"b": 1}}',
            "ok": "true",
        }


# --------------------------------------------------------------------------- the vacation seed

VACATION = """
inputs:
  - id: request.name
    type: STRING
    defaults: Rick Astley
  - id: request.start_date
    type: DATE
    defaults: 2024-07-01
  - id: slack_webhook_uri
    type: URI
    defaults: https://reqres.in/api/slack
onResume:
  - id: approved
    description: Whether to approve the request
    type: BOOLEAN
    defaults: true
  - id: reason
    description: Reason for approval or rejection
    type: STRING
    defaults: Approved
"""


class TestVacationSeed:
    @staticmethod
    def load() -> tuple[list[InputDefinition], list[InputDefinition]]:
        doc = yaml.safe_load(VACATION)
        inputs = [InputDefinition.model_validate(item) for item in doc["inputs"]]
        on_resume = [InputDefinition.model_validate(item) for item in doc["onResume"]]
        return inputs, on_resume

    def test_inputs_defaults(self) -> None:
        inputs, _ = self.load()
        assert isinstance(inputs[1].defaults, date)  # PyYAML already typed it
        result = parse_inputs(inputs, {})
        assert result == {
            "request": {"name": "Rick Astley", "start_date": "2024-07-01"},
            "slack_webhook_uri": "https://reqres.in/api/slack",
        }
        json.dumps(result)  # storable as is

    def test_inputs_from_form_strings(self) -> None:
        inputs, _ = self.load()
        raw = {"request.name": "Ann", "request.start_date": "2024-08-05"}
        assert parse_inputs(inputs, raw)["request"] == {"name": "Ann", "start_date": "2024-08-05"}

    def test_inputs_from_json_body(self) -> None:
        inputs, _ = self.load()
        raw = {"request": {"name": "Ann", "start_date": "2024-08-05"}, "unknown": 1}
        assert parse_inputs(inputs, raw)["request"] == {"name": "Ann", "start_date": "2024-08-05"}

    def test_inputs_errors(self) -> None:
        inputs, _ = self.load()
        raw = {"request.start_date": "next monday", "slack_webhook_uri": "not a uri"}
        assert errors(inputs, raw) == {
            "request.start_date": "expected a date (YYYY-MM-DD), got 'next monday'",
            "slack_webhook_uri": (
                "expected a URI with a scheme and a host (e.g. https://example.com), "
                "got 'not a uri'"
            ),
        }

    def test_on_resume_defaults(self) -> None:
        _, on_resume = self.load()
        assert parse_inputs(on_resume, {}) == {"approved": True, "reason": "Approved"}
        assert on_resume[0].label == "Whether to approve the request"

    def test_on_resume_reject(self) -> None:
        _, on_resume = self.load()
        raw = {"approved": "false", "reason": "Team offsite that week"}
        assert parse_inputs(on_resume, raw) == {
            "approved": False,
            "reason": "Team offsite that week",
        }

    def test_on_resume_ture_is_refused(self) -> None:
        _, on_resume = self.load()
        assert errors(on_resume, {"approved": "ture"}) == {
            "approved": "expected true or false, got 'ture'"
        }

    def test_form_prefill(self) -> None:
        inputs, on_resume = self.load()
        assert form_values(on_resume, {}) == {"approved": "true", "reason": "Approved"}
        assert form_values(inputs, {}) == {
            "request.name": "Rick Astley",
            "request.start_date": "2024-07-01",
            "slack_webhook_uri": "https://reqres.in/api/slack",
        }


def test_unknown_keys_are_rejected_on_request() -> None:
    definitions = [
        InputDefinition(id="request.name", type="STRING"),
        InputDefinition(id="config", type="JSON", required=False),
    ]
    nested = {"request": {"name": "Ada"}, "config": {"any": {"shape": 1}}}
    assert parse_inputs(definitions, nested, reject_unknown=True)["request"] == {"name": "Ada"}
    with pytest.raises(InputValidationError) as error:
        parse_inputs(
            definitions, {"request": {"name": "Ada", "nmae": "x"}, "extra": 1}, reject_unknown=True
        )
    assert set(error.value.by_field()) == {"request.nmae", "extra"}
    assert parse_inputs(definitions, {"request.name": "Ada", "extra": 1}) == {
        "request": {"name": "Ada"},
        "config": None,
    }


def test_datetime_out_of_range_is_a_field_error() -> None:
    with pytest.raises(InputValidationError) as error:
        parse_inputs(
            [InputDefinition(id="at", type="DATETIME")], {"at": "9999-12-31T23:59:59-23:59"}
        )
    assert "outside the range" in error.value.by_field()["at"]


class TestControlCharacters:
    """Issue 7, finding 3: per field, tab/newline/CRLF only in multi-line text."""

    @pytest.mark.parametrize("kind", ["STRING", "SECRET", "JSON", "YAML"])
    def test_multi_line_types_take_tab_and_newlines(self, kind: str) -> None:
        texts = {"JSON": '"a\\tb"', "YAML": "a: b\r\nc: d\n"}
        text = texts.get(kind, "a\tb\r\nc\nd")
        assert parse_one(text, type=kind) is not None

    @pytest.mark.parametrize("bad", ["a\x00b", "a\x1bb", "a\rb", "a\x85b", "a\x7fb"])
    def test_other_control_characters_are_refused(self, bad: str) -> None:
        assert error_one(bad, type="STRING").startswith("control character U+")

    def test_a_json_array_laid_out_on_lines_is_fine_but_not_an_item_with_a_nul(self) -> None:
        assert parse_one('[\n  "x",\n  "y"\n]', type="ARRAY", itemType="STRING") == ["x", "y"]
        assert "control character U+0000" in error_one(
            '["x\\u0000"]', type="ARRAY", itemType="STRING"
        )

    def test_nested_json_values_are_checked(self) -> None:
        assert "U+0000" in error_one({"a": ["b\x00"]}, type="JSON")
