"""Check a Yay.com call flow and draw it, without calling the API.

    python examples/callflow_diagram.py flow.json          # Mermaid
    python examples/callflow_diagram.py flow.json --dot    # Graphviz

`flow.json` is a flow in Yay.com's JSON shape (as `GET /voip/flow/{uuid}` returns it,
with or without the `result` envelope). Exit code 1 if the flow has errors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from intelepeer_async import CallFlow


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    data = json.loads(Path(argv[0]).read_text())
    flow = CallFlow.model_validate(data.get("result", data))
    report = flow.validate()
    for error in report.errors:
        print("error:", error, file=sys.stderr)
    for warning in report.warnings:
        print("warning:", warning, file=sys.stderr)
    print(flow.to_dot() if "--dot" in argv else flow.to_mermaid(), end="")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
