"""Rendering templates and turning every failure into an ExpressionError that names the template."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, cast

from jinja2 import nodes
from jinja2.exceptions import (
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)

from engine.errors import ExpressionError
from engine.expressions.dialect import (
    ENVIRONMENT,
    _compile,
    _describe_keys,
    _unmark,
)
from engine.expressions.limits import _FilterError
from engine.expressions.printing import (
    has_expression,
    is_truthy,
    to_text,
)

ENV_PREFIX = "PAUSEBOT_ENV_"


# ---------------------------------------------------------------------------------------------
# Public rendering API
# ---------------------------------------------------------------------------------------------


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render one template string; raises ExpressionError naming the template on any failure."""
    if not has_expression(template):
        return template  # hot path: most flow values are plain strings
    try:
        return _compile(template).render(context)
    except ExpressionError as error:  # from a nested render() call
        reason = f"render({_shorten(error.expression)!r}) failed: {error.reason}"
        raise ExpressionError(template, reason) from error
    except TemplateSyntaxError as error:
        message = _unmark(error.message or "invalid syntax")
        raise ExpressionError(
            template, f"syntax error on line {error.lineno}: {message}"
        ) from error
    except UndefinedError as error:
        raise ExpressionError(template, _undefined_reason(error, template, context)) from error
    except TemplateError as error:
        raise ExpressionError(template, _unmark(error.message or type(error).__name__)) from error
    except Exception as error:  # filters, arithmetic, JSON parsing, ranges refused by the sandbox
        raise ExpressionError(template, _error_reason(error)) from error


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every string inside nested dicts/lists (dict keys are left as they are)."""
    if isinstance(value, str):
        return render(value, context)
    if isinstance(value, Mapping):
        return {key: render_value(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    if isinstance(value, tuple):
        return tuple(render_value(item, context) for item in value)
    return value


def render_condition(template: str, context: Mapping[str, Any]) -> bool:
    """Render and apply Kestra truthiness: false only for "false", "0", "-0" or blank."""
    if isinstance(template, bool):  # YAML `condition: true` arrives as a bool
        return template
    return is_truthy(render(to_text(template), context))


def env_variables(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """``envs.*``: the PAUSEBOT_ENV_* variables, prefix stripped and lower-cased."""
    return {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX)
    }


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_reason(error: Exception) -> str:
    if isinstance(error, _FilterError):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _undefined_reason(error: UndefinedError, template: str, context: Mapping[str, Any]) -> str:
    """Name the full dotted path that is undefined (``'outputs.pause.onResume' is undefined``).

    Jinja only knows the last name; on this (rare) error path we re-parse the template and find
    the attribute chain whose resolution against the context stops at that name.
    """
    fallback = _unmark(error.message or "a value is undefined")
    name = getattr(error, "name", None)
    if name is None:
        return fallback
    try:
        tree = ENVIRONMENT.parse(template)
    except TemplateError:
        return fallback
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
        chain = _attribute_chain(node)
        if chain is None:
            continue
        found = _first_missing(chain, context, name)
        if found is None:
            continue
        index, parent = found
        reason = f"'{_format_path(chain[: index + 1])}' is undefined"
        if index > 0 and isinstance(parent, Mapping):
            reason += f" ('{_format_path(chain[:index])}' has {_describe_keys(parent)})"
        return reason
    return fallback


def _attribute_chain(node: nodes.Node) -> list[str | int] | None:
    parts: list[str | int] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if not isinstance(node.arg.value, (str, int)):
                return None
            parts.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name):
            parts.append(node.name)
            return parts[::-1]
        else:
            return None


def _first_missing(
    chain: list[str | int], context: Mapping[str, Any], name: str
) -> tuple[int, Any] | None:
    current: Any = context
    for index, part in enumerate(chain):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif _has_index(current, part):
            current = current[cast(int, part)]
        else:
            return (index, current) if part == name else None
    return None


def _has_index(value: Any, part: str | int) -> bool:
    if not isinstance(value, Sequence) or isinstance(value, str) or not isinstance(part, int):
        return False
    return -len(value) <= part < len(value)


def _format_path(parts: Sequence[str | int]) -> str:
    text = str(parts[0])
    for part in parts[1:]:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.isidentifier():
            text += f".{part}"
        else:
            text += f'["{part}"]'
    return text
