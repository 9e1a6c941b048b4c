"""Call-flow graphs: check them, build them, draw them.

Yay.com charges for each create/update and stores whatever it is given, so a
dangling ``next`` or a second ``start`` is caught here, all problems at once,
before anything is sent.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ._diagram import mermaid_text, render_dot, render_mermaid
from ._flowgraph import EXIT_FIELDS, TERMINATING, exits, module_name, raw_exits, step_name
from .errors import InvalidInputError
from .models._base import VendorModel
from .models.callflows import (
    MODULE_TYPES,
    BusyModule,
    CallerIdMatchModule,
    CallFlow,
    ConferenceModule,
    DialByExtensionModule,
    ExtensionModule,
    ExtensionTarget,
    FaxModule,
    MusicOnHoldModule,
    PlayModule,
    PressExtensionModule,
    RecordingModule,
    StartModule,
    TrunkModule,
    UnknownModule,
    VoicemailModule,
)
from .types import is_e164

__all__ = [
    "TERMINATING",
    "CallFlowBuilder",
    "FlowReport",
    "check_flow",
    "exits",
    "mermaid_text",
    "render_dot",
    "render_mermaid",
]

#: A dialbyextension ``noanswer`` may name the dialled user's own mailbox instead of a module
#: (the Yay doc allows it there only).
_SPECIAL_TARGETS = frozenset({"sipuser_voicemail"})
_TARGET_TYPES = ("sipuser", "huntgroup", "forward")
_SECONDS_FIELDS = ("duration", "dial_duration", "wait_duration")
_PIN = re.compile(r"[0-9]{4}")


@dataclass
class FlowReport:
    """What `CallFlow.validate` found: errors block sending, warnings do not."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise one `InvalidInputError` listing every error, if there are any."""
        if self.errors:
            raise InvalidInputError(
                "invalid call flow: " + "; ".join(self.errors), problems=self.errors
            )


def check_flow(flow: CallFlow) -> FlowReport:
    """Check the graph and each module's fields against the Yay.com documentation.

    Errors: no or several starts, an exit to a missing module, a terminating
    module with an exit, fax not straight after start, a required field
    missing (play ``sound``, musiconhold ``class``, ...), a module type in the
    wrong case, a known module in a shape its model cannot read. Warnings:
    modules unreachable from start, module types Yay does not document.
    Modules are named by their builder step names when the flow has them.
    """
    report = FlowReport()
    errors = report.errors
    modules = flow.flow
    if not isinstance(flow.name, str) or not flow.name.strip():
        errors.append("name must not be empty")
    if flow.extension is None:
        errors.append("extension is required")
    starts = [key for key, m in modules.items() if isinstance(m, StartModule)]
    if not starts:
        errors.append("no 'start' module: every flow needs exactly one")
    elif len(starts) > 1:
        listed = ", ".join(step_name(flow, key) for key in starts)
        errors.append(f"{len(starts)} 'start' modules ({listed}): exactly one allowed")

    for key, module in modules.items():
        name = module_name(module)
        where = f"{step_name(flow, key)} ({name})"
        found = list(raw_exits(module))
        if name in TERMINATING and found:
            labels = ", ".join(sorted({label for label, _ in found}))
            errors.append(f"{where} is terminating but has an exit ({labels})")
        special = _SPECIAL_TARGETS if isinstance(module, DialByExtensionModule) else frozenset()
        for label, target in found:
            if not isinstance(target, str) or not target:
                errors.append(f"{where} exit {label!r} must be a module key")
            elif target not in modules and not (label == "noanswer" and target in special):
                errors.append(
                    f"{where} exit {label!r} is {target!r}, which is valid only as the"
                    " 'noanswer' of a dialbyextension"
                    if target in _SPECIAL_TARGETS
                    else f"{where} exit {label!r} points at missing module"
                    f" {step_name(flow, target)!r}"
                )
        if isinstance(module, UnknownModule):
            _unknown_module(where, module, report)
        else:
            errors.extend(_field_problems(where, module))

    _check_fax(flow, starts, errors)
    report.warnings.extend(_unreachable(flow, starts))
    return report


def _unknown_module(where: str, module: UnknownModule, report: FlowReport) -> None:
    name = module.module
    if name in MODULE_TYPES:
        problems = "; ".join(module.problems) or "unreadable"
        report.errors.append(f"{where} does not have the shape Yay documents: {problems}")
        return
    spelled = next((known for known in MODULE_TYPES if known.lower() == name.lower()), None)
    if spelled is not None:
        report.errors.append(f"{where}: Yay spells this module type {spelled!r}")
    else:
        report.warnings.append(f"{where}: {name!r} is not a module type Yay documents; sent as is")


def _field_problems(where: str, module: VendorModel) -> list[str]:
    problems: list[str] = []
    needs_next = (StartModule, RecordingModule, MusicOnHoldModule, PlayModule)
    if isinstance(module, needs_next) and not module.next:
        problems.append(f"{where} has no 'next'")
    if isinstance(module, PlayModule) and not module.sound:
        problems.append(f"{where} has no 'sound' to play")
    if isinstance(module, MusicOnHoldModule) and not module.class_:
        problems.append(f"{where} has no 'class' (the hold-music playlist)")
    if isinstance(module, CallerIdMatchModule):
        if not module.match or not module.nomatch:
            problems.append(f"{where} needs both 'match' and 'nomatch'")
        for pattern in module.patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"{where} caller-id pattern {pattern!r} is not a regex: {exc}")
    if isinstance(module, PressExtensionModule | DialByExtensionModule) and not module.next:
        problems.append(f"{where} has no 'next' options")
    if isinstance(module, ExtensionModule):
        if not module.extensions:
            problems.append(f"{where} has no extensions to ring")
        for index, target in enumerate(module.extensions):
            problems.extend(_target_problems(f"{where} extensions[{index}]", target))
    for name in _SECONDS_FIELDS:
        value = getattr(module, name, None)
        if value is not None and (not isinstance(value, int) or value < 1):
            problems.append(f"{where} {name} must be a whole number of seconds (1 or more)")
    pin = module.pin if isinstance(module, ConferenceModule) else None
    if pin is not None and not _PIN.fullmatch(pin):
        problems.append(f"{where} pin must be exactly 4 digits")
    if isinstance(module, VoicemailModule) and not module.mailboxes:
        problems.append(f"{where} has no mailboxes")
    if isinstance(module, TrunkModule) and not module.uuid:
        problems.append(f"{where} needs the trunk's uuid")
    return problems


def _target_problems(where: str, target: ExtensionTarget) -> list[str]:
    if target.type is None:
        return [f"{where} has no 'type' ({', '.join(_TARGET_TYPES)})"]
    if target.type not in _TARGET_TYPES:
        return [f"{where} type {target.type!r} is not one of {', '.join(_TARGET_TYPES)}"]
    if target.type == "forward" and not is_e164(target.number):
        return [f"{where} forward number is not E.164"]
    if target.type in ("sipuser", "huntgroup") and not target.uuid:
        return [f"{where} {target.type} needs a uuid"]
    return []


def _check_fax(flow: CallFlow, starts: list[str], errors: list[str]) -> None:
    fax_keys = [key for key, m in flow.flow.items() if isinstance(m, FaxModule)]
    if not fax_keys or len(starts) != 1:
        return
    start = flow.flow[starts[0]]
    first = start.next if isinstance(start, StartModule) else None
    for key in fax_keys:
        if first != key:
            errors.append(f"{step_name(flow, key)} (fax) must come directly after start")


def _unreachable(flow: CallFlow, starts: list[str]) -> list[str]:
    if len(starts) != 1:
        return []
    seen = {starts[0]}
    todo = [starts[0]]
    while todo:
        for _, target in exits(flow.flow[todo.pop()]):
            if target in flow.flow and target not in seen:
                seen.add(target)
                todo.append(target)
    return [
        f"{step_name(flow, key)} ({module_name(module)}) is not reachable from start"
        for key, module in flow.flow.items()
        if key not in seen
    ]


# -- building ----------------------------------------------------------------

_NAMESPACE = uuid_module.UUID("6f1c6c52-4a4b-4d53-9a57-6b0f8f5f3a10")


class CallFlowBuilder:
    """Write a flow with readable step names; `build` turns them into module keys.

        flow = (
            CallFlowBuilder("Support", extension=501)
            .start("menu")
            .ivr("menu", {"1": "sales", "2": "support"}, invalid="menu", timeout="vm")
            .ring("sales", sipusers=["<sip-user-uuid>"], noanswer="vm")
            .forward("support", "+441234567890", noanswer="vm")
            .voicemail("vm", mailboxes=["<mailbox-uuid>"])
            .build()
        )

    Yay.com's own flows use UUIDs as keys; `build()` does the same by default
    (a stable UUID per step name, so rebuilding gives the same keys) and
    ``build(keys="names")`` keeps your names as keys instead.
    """

    def __init__(
        self,
        name: str,
        *,
        extension: int,
        show_call_route_name: bool | None = None,
        show_original_caller_id: bool | None = None,
    ) -> None:
        self._name = name
        self._extension = extension
        self._show_name = show_call_route_name
        self._show_caller = show_original_caller_id
        self._steps: dict[str, VendorModel] = {}

    def add(self, step: str, module: VendorModel) -> CallFlowBuilder:
        """Add any module (including ones this builder has no shortcut for)."""
        if step in self._steps:
            raise InvalidInputError(f"step {step!r} is defined twice")
        self._steps[step] = module
        return self

    def start(self, next: str, *, step: str = "start") -> CallFlowBuilder:
        return self.add(step, StartModule(next=next))

    def record(self, step: str, next: str) -> CallFlowBuilder:
        return self.add(step, RecordingModule(next=next))

    def hold_music(self, step: str, playlist: str, next: str) -> CallFlowBuilder:
        return self.add(step, MusicOnHoldModule(class_=playlist, next=next))

    def match_caller(
        self, step: str, patterns: list[str], *, match: str, nomatch: str
    ) -> CallFlowBuilder:
        return self.add(step, CallerIdMatchModule(patterns=patterns, match=match, nomatch=nomatch))

    def play(self, step: str, sound: str, next: str) -> CallFlowBuilder:
        return self.add(step, PlayModule(sound=sound, next=next))

    def ring(
        self,
        step: str,
        *,
        sipusers: Sequence[str] = (),
        huntgroups: Sequence[str] = (),
        noanswer: str | None = None,
        duration: int | None = None,
    ) -> CallFlowBuilder:
        targets = [ExtensionTarget(type="sipuser", uuid=u) for u in sipusers]
        targets += [ExtensionTarget(type="huntgroup", uuid=u) for u in huntgroups]
        return self.add(
            step, ExtensionModule(extensions=targets, noanswer=noanswer, duration=duration)
        )

    def forward(
        self, step: str, number: str, *, noanswer: str | None = None, duration: int | None = None
    ) -> CallFlowBuilder:
        target = ExtensionTarget(type="forward", number=number)
        return self.add(
            step, ExtensionModule(extensions=[target], noanswer=noanswer, duration=duration)
        )

    def ivr(
        self,
        step: str,
        options: Mapping[str, str],
        *,
        invalid: str | None = None,
        timeout: str | None = None,
        sound: str | None = None,
        duration: int | None = None,
    ) -> CallFlowBuilder:
        routes: dict[str, str | None] = dict(options)
        if invalid is not None:
            routes["invalid"] = invalid
        if timeout is not None:
            routes["timeout"] = timeout
        return self.add(step, PressExtensionModule(next=routes, sound=sound, duration=duration))

    def dial_by_extension(
        self,
        step: str,
        *,
        invalid: str,
        timeout: str,
        noanswer: str | None = None,
        sound: str | None = None,
    ) -> CallFlowBuilder:
        module = DialByExtensionModule(
            next={"invalid": invalid, "timeout": timeout}, noanswer=noanswer, sound=sound
        )
        return self.add(step, module)

    def busy(self, step: str, *, duration: int | None = None) -> CallFlowBuilder:
        return self.add(step, BusyModule(duration=duration))

    def voicemail(self, step: str, *, mailboxes: list[str]) -> CallFlowBuilder:
        return self.add(step, VoicemailModule(mailboxes=mailboxes))

    def conference(self, step: str, *, pin: str | None = None) -> CallFlowBuilder:
        return self.add(step, ConferenceModule(pin=pin))

    def trunk(self, step: str, trunk_uuid: str) -> CallFlowBuilder:
        return self.add(step, TrunkModule(uuid=trunk_uuid))

    def fax(self, step: str = "fax") -> CallFlowBuilder:
        return self.add(step, FaxModule())

    def build(self, *, keys: Literal["uuid", "names"] = "uuid") -> CallFlow:
        """The `CallFlow`; raises `InvalidInputError` listing every problem."""
        if keys == "names":
            rename = {step: step for step in self._steps}
        else:
            rename = {step: str(uuid_module.uuid5(_NAMESPACE, step)) for step in self._steps}
        modules = {rename[step]: _renamed(m, rename) for step, m in self._steps.items()}
        flow = CallFlow(
            name=self._name,
            extension=self._extension,
            flow=modules,  # type: ignore[arg-type]
            show_call_route_name=self._show_name,
            show_original_caller_id=self._show_caller,
        )
        # Never sent: only for messages and diagrams.
        flow._step_names = {key: step for step, key in rename.items()}
        flow.validate().raise_for_errors()
        return flow


def _renamed(module: VendorModel, rename: Mapping[str, str]) -> VendorModel:
    updates: dict[str, object] = {}
    for name in EXIT_FIELDS:
        value = getattr(module, name, None)
        if isinstance(value, str):
            updates[name] = rename.get(value, value)
        elif isinstance(value, Mapping):
            updates[name] = {k: rename.get(v, v) for k, v in value.items()}
    return module.model_copy(update=updates)
