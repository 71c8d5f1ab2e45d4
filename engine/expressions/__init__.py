"""Kestra (Pebble) expressions rendered with a sandboxed Jinja2 environment.

Flows are Kestra YAML, so their templates are Pebble: ``{{ inputs.x ?? 'd' }}``, ``cond ? a : b``,
``| date('yyyy-MM-dd')``, ``null``, strict undefined variables, maps printed as JSON, booleans as
``true``/``false``. Jinja2 gives us a battle-tested sandbox and compiler; this module bends its
syntax and output towards Pebble:

* Jinja's lexer has no ``?``: a source pre-pass (a Jinja extension) turns ``??``/``???``/``?``
  inside ``{{ }}``/``{% %}``, never inside string literals, into marker names, then into
  operator tokens; a parser subclass compiles them to a lazy coalesce (Pebble precedence 120:
  tighter than ``|`` and ``~``, so ``a ?? b | upper`` is ``(a ?? b) | upper``) and a ternary
  (lowest precedence). Also Pebble's ``null``, ``equals`` and ``contains``;
* a chainable but strict Undefined: ``outputs.a.b.c`` evaluates to "undefined" without raising so
  ``??``, ``default`` and ``is defined`` work, but printing, iterating or comparing it fails;
* ``finalize`` prints values the way Kestra does; filters and functions carry Pebble/Kestra names.

Not supported (Pebble features with no cheap equivalent): the ``..`` range operator, ``#{}``
string interpolation, localized date styles (``full``/``long``/...), Java method calls;
nor Jinja's HTML/debug helpers ``lipsum``, ``pprint``, ``urlize`` and ``xmlattr`` (unboundable).

The package, a module per concern: ``dialect`` (syntax, Undefined, the environment), ``limits``
(what a render may spend), ``printing`` (values as Kestra prints them), ``dates``, ``filters``,
``data_filters`` (jq, yaml, base64, hashes, numberFormat, ...), ``functions`` and ``rendering`` (the public entry points below).
"""

from __future__ import annotations

from engine.expressions import data_filters as data_filters  # jq, yaml, hashes, ...
from engine.expressions import filters as filters  # registers the filters and tests
from engine.expressions import functions as functions  # registers the functions
from engine.expressions.dialect import ENVIRONMENT, MissingValueError, PebbleUndefined
from engine.expressions.printing import has_expression, is_truthy, to_json, to_text
from engine.expressions.rendering import (
    ENV_PREFIX,
    env_variables,
    render,
    render_condition,
    render_value,
)

__all__ = [
    "ENVIRONMENT",
    "ENV_PREFIX",
    "MissingValueError",
    "PebbleUndefined",
    "env_variables",
    "has_expression",
    "is_truthy",
    "render",
    "render_condition",
    "render_value",
    "to_json",
    "to_text",
]
