"""Call-flow diagrams: Mermaid and Graphviz text, with every label escaped."""

from __future__ import annotations

from ._flowgraph import TERMINATING, exits, module_name, step_name
from .models._base import VendorModel
from .models.callflows import CallFlow

__all__ = ["mermaid_text", "render_dot", "render_mermaid"]


def _label(flow: CallFlow, key: str, module: VendorModel) -> str:
    name = flow.step_names.get(key)
    if name is None:
        name = key if len(key) <= 12 else key[:8] + "…"
    return f"{module_name(module)}\n{name}"


# Characters Mermaid reads as themselves in any label; every other one is
# written as an entity code (#40; for "("), which Mermaid 11 decodes.
_MERMAID_PLAIN = frozenset(" _-.,:/@+*'!?=")


def mermaid_text(text: str) -> str:
    """`text` escaped for a Mermaid label: brackets, quotes, pipes, ``#``, ``;``
    and the like as entity codes, line breaks as ``<br/>``."""
    out: list[str] = []
    for char in text:
        if char == "\n":
            out.append("<br/>")
        elif (char.isalnum() and char.isascii()) or char in _MERMAID_PLAIN:
            out.append(char)
        else:
            out.append(f"#{ord(char)};")
    return "".join(out)


def render_mermaid(flow: CallFlow) -> str:
    """A Mermaid ``flowchart TD``; node ids are positional, labels show type and step."""
    ids = {key: f"n{i}" for i, key in enumerate(flow.flow)}
    lines = ["flowchart TD"]
    for key, module in flow.flow.items():
        lines.append(f'    {ids[key]}["{mermaid_text(_label(flow, key, module))}"]')
    for key, module in flow.flow.items():
        for label, target in exits(module):
            end = ids.get(target)
            if end is None:
                end = f"missing_{len(lines)}"
                text = mermaid_text(f"missing: {step_name(flow, target)}")
                lines.append(f'    {end}["{text}"]')
            lines.append(f'    {ids[key]} -->|"{mermaid_text(label)}"| {end}')
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_dot(flow: CallFlow) -> str:
    """A Graphviz ``digraph``; keys are node ids, labels show type and step."""
    lines = [f"digraph {_dot_quote(flow.name or 'callflow')} {{", "    rankdir=TB;"]
    for key, module in flow.flow.items():
        shape = "doubleoctagon" if module_name(module) in TERMINATING else "box"
        label = _dot_quote(_label(flow, key, module))
        lines.append(f"    {_dot_quote(key)} [label={label}, shape={shape}];")
    for key, module in flow.flow.items():
        for label, target in exits(module):
            lines.append(
                f"    {_dot_quote(key)} -> {_dot_quote(target)} [label={_dot_quote(label)}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"
