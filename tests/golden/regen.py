"""Rewrite the `-- expect` section of golden cases with the down computed now.

Run after an intended change in output (`make golden`), then review `git diff tests/golden`.
Never part of a test run: a test that rewrites its own expectation cannot fail.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from tests.golden.test_golden import CASES, Case, computed_down


def write_expect(case: Case, script: str) -> bool:
    """Write the computed down into the case file; True when it changed."""
    text = case.path.read_text()
    cut = text.find("\n-- expect")
    body = text if cut < 0 else text[: cut + 1]
    new = body.rstrip("\n") + "\n\n-- expect\n" + script
    if new == text:
        return False
    case.path.write_text(new)
    return True


def main(only: list[str]) -> int:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its fallback notices are ours to report
    changed = 0
    for case in CASES:
        if only and not any(o in case.id for o in only):
            continue
        script, complete = computed_down(case)
        if not complete:
            print(f"{case.id}: incomplete (the engine could not model part of it)", file=sys.stderr)
        if write_expect(case, script):
            changed += 1
            print(f"rewrote {Path(case.path).relative_to(Path.cwd())}")
    print(f"{changed} case(s) rewritten; review them with `git diff tests/golden`")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
