"""Every Python block in the README runs, against the vendors' documented answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import respx

ROOT = Path(__file__).parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(
    index: int, vendor: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    code = compile(BLOCKS[index], f"README.md python block {index}", "exec")
    exec(code, {"__name__": "__main__"})  # noqa: S102 - our own README
    assert capsys.readouterr().out.strip(), "each example shows what it did"
