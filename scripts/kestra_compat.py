"""Compatibility report: how pausebot reads a directory of Kestra flows.

    python scripts/kestra_compat.py DIR [--json]

Each ``*.yml``/``*.yaml`` file is validated the way ``POST /api/v1/flows/validate`` does (a
file holding several ``---``-separated documents is one flow per document). Every file gets one
verdict:

- ``valid``: every document is a valid pausebot flow (warnings, if any, are printed beside it);
- ``refused-feature``: refused, and every problem names a feature pausebot does not have
  (an unknown task type, or a property or value it says it does not support);
- ``kestra-refuses``: refused, and Kestra refuses it too (listed below with the reason);
- ``wrongly-refused``: refused for any other reason: a compatibility bug;
- ``traceback``: validating raised something other than a validation error: a bug.

The totals come last; the exit status is 1 when any file is wrongly refused or raised.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.errors import FlowValidationError
from engine.flows import parse_flow, split_documents

# Flows Kestra's own tests expect to be refused, each with the reason Kestra gives.
KESTRA_REFUSES: dict[str, str] = {
    "core__src__test__resources__flows__tests__invalid-task-defaults.yaml": (
        "a taskDefaults value names a property Log does not have (PluginDefaultsCaseTest)"
    ),
    "core__src__test__resources__tasks__flows__sequentials__execution_empty.yaml": (
        "an execution document, not a flow (Kestra's tests read it as an Execution)"
    ),
    "webserver__src__test__resources__flows__simpleInvalidFlow.yaml": (
        "unknown property 'badProperties' (FlowControllerTest)"
    ),
    "webserver__src__test__resources__flows__validateMultipleInvalidFlows.yaml": (
        "both documents are invalid on purpose (FlowControllerTest.validateFlows)"
    ),
}

# A problem that names a feature pausebot lacks, as opposed to a reading bug.
_FEATURE_PATTERNS = (
    re.compile(r"^unknown task type '"),
    re.compile(r"is not supported"),
)

VERDICTS = ("valid", "refused-feature", "kestra-refuses", "wrongly-refused", "traceback")


@dataclass
class FileVerdict:
    name: str
    verdict: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def names_a_feature(message: str) -> bool:
    return any(pattern.search(message) for pattern in _FEATURE_PATTERNS)


def judge(path: Path) -> FileVerdict:
    source = path.read_text(encoding="utf-8")
    problems: list[str] = []
    messages: list[str] = []
    warnings: list[str] = []
    try:
        documents = split_documents(source) or [source]
        for index, document in enumerate(documents):
            try:
                flow = parse_flow(document, f"document {index}")
            except FlowValidationError as error:
                problems += [str(problem) for problem in error.problems]
                messages += [problem.message for problem in error.problems]
                continue
            warnings += [str(warning) for warning in flow.warnings]
    except Exception:  # noqa: BLE001 - a traceback is exactly what the report is looking for
        return FileVerdict(path.name, "traceback", [traceback.format_exc()])
    if not problems:
        return FileVerdict(path.name, "valid", warnings=warnings)
    if path.name in KESTRA_REFUSES:
        return FileVerdict(path.name, "kestra-refuses", [KESTRA_REFUSES[path.name], *problems])
    if all(names_a_feature(message) for message in messages):
        return FileVerdict(path.name, "refused-feature", problems)
    return FileVerdict(path.name, "wrongly-refused", problems)


def report(directory: Path) -> list[FileVerdict]:
    files = sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml"))
    return [judge(path) for path in files]


def totals(verdicts: list[FileVerdict]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for item in verdicts:
        counts[item.verdict] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="a directory of Kestra flow files")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        parser.error(f"{args.directory} is not a directory")
    verdicts = report(args.directory)
    counts = totals(verdicts)
    if args.json:
        print(json.dumps({"files": [asdict(v) for v in verdicts], "totals": counts}, indent=2))
    else:
        for item in verdicts:
            first = item.problems[0].splitlines()[-1] if item.problems else ""
            print(f"{item.verdict:16} {item.name}" + (f"  -- {first}" if first else ""))
            for warning in item.warnings:
                print(f"{'':16}   warning: {warning}")
        print()
        print(f"{len(verdicts)} files: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    return 1 if counts["wrongly-refused"] or counts["traceback"] else 0


if __name__ == "__main__":
    sys.exit(main())
