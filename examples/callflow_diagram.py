"""Check a Yay.com call flow and draw it, without calling the API.

    python examples/callflow_diagram.py flow.json          # Mermaid
    python examples/callflow_diagram.py flow.json --dot    # Graphviz

`flow.json` is a flow in Yay.com's JSON shape (as `GET /voip/flow/{uuid}` returns it,
with or without the `result` envelope). Exit code 1 if the flow has errors, 2 if the
file cannot be read as a call flow at all (one ``error:`` line says why).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import ValidationError

from intelepeer_async import CallFlow


def load(path: str) -> CallFlow:
    """The call flow in `path`; ValueError, in one line, if the file does not hold one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, absurdly nested
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object (a call flow)")
    try:
        return CallFlow.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ValueError(f"{path} is not a call flow: {where}: {first['msg']}{more}") from None


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    try:
        flow = load(argv[0])
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = flow.validate()
    for error in report.errors:
        print("error:", error, file=sys.stderr)
    for warning in report.warnings:
        print("warning:", warning, file=sys.stderr)
    print(flow.to_dot() if "--dot" in argv else flow.to_mermaid(), end="")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
