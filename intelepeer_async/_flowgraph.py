"""A call flow as a graph: its exits, and how to name its modules in messages.

Shared by the checks (`callflow.py`) and the diagrams (`_diagram.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .models._base import VendorModel
from .models.callflows import CallFlow

__all__ = ["EXIT_FIELDS", "TERMINATING", "exits", "module_name", "raw_exits", "step_name"]

TERMINATING = frozenset({"busy", "voicemail", "conference", "Trunk", "fax"})
EXIT_FIELDS = ("next", "match", "nomatch", "noanswer")


def raw_exits(module: VendorModel) -> Iterable[tuple[str, object]]:
    """(label, target) of every exit as stored, targets not yet checked to be keys."""
    for name in EXIT_FIELDS:
        value = getattr(module, name, None)
        if value is None and module.model_extra:
            value = module.model_extra.get(name)
        if value is None:
            continue
        if isinstance(value, Mapping):
            for label, target in value.items():
                yield str(label), target
        else:
            yield name, value


def exits(module: VendorModel) -> list[tuple[str, str]]:
    """(label, target key) of every way out of `module`; labels are field or IVR keys."""
    return [(label, target) for label, target in raw_exits(module) if isinstance(target, str)]


def module_name(module: VendorModel) -> str:
    """The module's type as written (``"Trunk"``, or whatever an unknown one says)."""
    return str(getattr(module, "module", "?"))


def step_name(flow: CallFlow, key: str) -> str:
    """How messages and diagrams name a module: its builder step name, else its key."""
    return flow.step_names.get(key, key)
