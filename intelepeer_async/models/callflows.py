"""Yay.com call flows: one model per module type, in one union on ``module``.

A module type this SDK does not know (Yay.com may add some) parses as
`UnknownModule` and is sent back byte-for-byte: nothing is dropped on a
read-modify-write round trip. Reading is lenient, since the server may send
odd shapes: exits (``next``, ``match``, ...) are optional, an empty map sent
as ``[]`` (PHP) reads as ``{}``, numbers that are not numbers are kept as
received, and a known module that still does not fit its model is kept whole
as an `UnknownModule` (its problems listed by `CallFlow.validate`).
`CallFlow.validate` is where a flow is checked before it is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    TypeAdapter,
    ValidationError,
    field_serializer,
    field_validator,
)

from ._base import LenientInt, PhpMap, VendorModel

if TYPE_CHECKING:
    from ..callflow import FlowReport

__all__ = [
    "MODULE_TYPES",
    "BusyModule",
    "CallFlow",
    "CallFlowModule",
    "CallerIdMatchModule",
    "ConferenceModule",
    "DialByExtensionModule",
    "ExtensionModule",
    "ExtensionTarget",
    "FaxModule",
    "MusicOnHoldModule",
    "PlayModule",
    "PressExtensionModule",
    "RecordingModule",
    "StartModule",
    "TrunkModule",
    "UnknownModule",
    "VoicemailModule",
]


class StartModule(VendorModel):
    """Entry point; every flow has exactly one."""

    module: Literal["start"] = "start"
    next: str | None = None


class RecordingModule(VendorModel):
    """Record the call from here on."""

    module: Literal["recording"] = "recording"
    next: str | None = None


class MusicOnHoldModule(VendorModel):
    """Set the hold music (a playlist uuid, in the vendor's ``class`` field)."""

    module: Literal["musiconhold"] = "musiconhold"
    class_: str | None = Field(
        default=None, validation_alias=AliasChoices("class", "class_"), serialization_alias="class"
    )
    next: str | None = None


class CallerIdMatchModule(VendorModel):
    """Branch on the caller ID against regular expressions."""

    module: Literal["calleridmatch"] = "calleridmatch"
    patterns: list[str] = Field(default_factory=list)
    match: str | None = None
    nomatch: str | None = None


class PlayModule(VendorModel):
    """Play a sound."""

    module: Literal["play"] = "play"
    sound: str | None = None
    next: str | None = None


class ExtensionTarget(VendorModel):
    """Who an extension module rings: ``sipuser``/``huntgroup`` by uuid, or ``forward``."""

    type: str | None = None
    uuid: str | None = None
    number: str | None = None


class ExtensionModule(VendorModel):
    """Ring SIP users or hunt groups, or forward to an external number."""

    module: Literal["extension"] = "extension"
    extensions: list[ExtensionTarget] = Field(default_factory=list)
    duration: LenientInt = None
    announcement: str | None = None
    ringtone: str | None = None
    noanswer: str | None = None


class PressExtensionModule(VendorModel):
    """IVR menu: ``next`` maps a key ("1", "invalid", "timeout") to a module."""

    module: Literal["pressextension"] = "pressextension"
    next: Annotated[dict[str, str | None], PhpMap] = Field(default_factory=dict)
    duration: LenientInt = None
    sound: str | None = None


class DialByExtensionModule(VendorModel):
    """Caller dials a SIP user's extension; ``next`` has "invalid" and "timeout"."""

    module: Literal["dialbyextension"] = "dialbyextension"
    next: Annotated[dict[str, str | None], PhpMap] = Field(default_factory=dict)
    noanswer: str | None = None
    dial_duration: LenientInt = None
    wait_duration: LenientInt = None
    ringtone: str | None = None
    sound: str | None = None


class BusyModule(VendorModel):
    """Busy tone, then hang up (terminating)."""

    module: Literal["busy"] = "busy"
    duration: LenientInt = None


class VoicemailModule(VendorModel):
    """Leave a message in one or more mailboxes (terminating)."""

    module: Literal["voicemail"] = "voicemail"
    mailboxes: list[str] = Field(default_factory=list)


class ConferenceModule(VendorModel):
    """Join a conference bridge (terminating); `pin` is 4 digits."""

    module: Literal["conference"] = "conference"
    pin: str | None = None
    announcement: str | None = None
    music: str | None = None


class TrunkModule(VendorModel):
    """Send the call to a trunk on the account (terminating); note the capital T."""

    module: Literal["Trunk"] = "Trunk"
    uuid: str | None = None


class FaxModule(VendorModel):
    """Receive faxes (terminating); must come straight after start."""

    module: Literal["fax"] = "fax"


class UnknownModule(VendorModel):
    """A module type this SDK does not know, or a known one in a shape its model
    cannot read (`problems` then says why); every field is kept as received."""

    module: str
    _problems: list[str] = PrivateAttr(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Why a module of a known type was kept raw (empty for an unknown type)."""
        return list(self._problems)


#: Every module type the Yay doc lists, by its exact (case-sensitive) name.
MODULE_TYPES: dict[str, type[VendorModel]] = {
    cls.model_fields["module"].default: cls
    for cls in (
        StartModule,
        RecordingModule,
        MusicOnHoldModule,
        CallerIdMatchModule,
        PlayModule,
        ExtensionModule,
        PressExtensionModule,
        DialByExtensionModule,
        BusyModule,
        VoicemailModule,
        ConferenceModule,
        TrunkModule,
        FaxModule,
    )
}


def _module_tag(value: Any) -> str:
    if isinstance(value, UnknownModule):
        return "unknown"  # kept raw on purpose, whatever its name says
    name = value.get("module") if isinstance(value, dict) else getattr(value, "module", None)
    return name if isinstance(name, str) and name in MODULE_TYPES else "unknown"


CallFlowModule = Annotated[
    Annotated[StartModule, Tag("start")]
    | Annotated[RecordingModule, Tag("recording")]
    | Annotated[MusicOnHoldModule, Tag("musiconhold")]
    | Annotated[CallerIdMatchModule, Tag("calleridmatch")]
    | Annotated[PlayModule, Tag("play")]
    | Annotated[ExtensionModule, Tag("extension")]
    | Annotated[PressExtensionModule, Tag("pressextension")]
    | Annotated[DialByExtensionModule, Tag("dialbyextension")]
    | Annotated[BusyModule, Tag("busy")]
    | Annotated[VoicemailModule, Tag("voicemail")]
    | Annotated[ConferenceModule, Tag("conference")]
    | Annotated[TrunkModule, Tag("Trunk")]
    | Annotated[FaxModule, Tag("fax")]
    | Annotated[UnknownModule, Tag("unknown")],
    Discriminator(_module_tag),
]


@cache
def _module_adapter() -> TypeAdapter[CallFlowModule]:
    # Built on first use, not at import: it compiles every module model (issue 10).
    return TypeAdapter(CallFlowModule)


def _problems(exc: ValidationError) -> list[str]:
    # Locations and messages only: pydantic's input echo could hold anything.
    # The first location is the union's tag (the module type): left out.
    return [f"{'.'.join(map(str, e['loc'][1:])) or 'module'}: {e['msg']}" for e in exc.errors()]


def _module_or_raw(value: object) -> object:
    """A module from its JSON, or the JSON kept whole when its model cannot read it."""
    try:
        return _module_adapter().validate_python(value)
    except ValidationError as exc:
        problems = _problems(exc)
    if not isinstance(value, Mapping) or not isinstance(value.get("module"), str):
        return value  # not a module at all: the flow itself is unreadable
    raw = UnknownModule.model_validate(value)
    raw._problems = problems
    return raw


class CallFlow(VendorModel):
    """A Yay.com call flow: a name, an extension and a map of key -> module.

    Build one from the seed's JSON shape (``CallFlow.model_validate(d)``), from
    modules, or with `CallFlowBuilder`. ``validate()`` lists what is wrong
    before it is sent; ``to_mermaid()``/``to_dot()`` draw it. `step_names`
    maps module keys to the step names a `CallFlowBuilder` was given (used in
    messages and diagrams); `raw` is the answer a flow was read from.
    """

    name: str = ""
    extension: int | None = None
    flow: Annotated[dict[str, CallFlowModule], PhpMap] = Field(default_factory=dict)
    show_call_route_name: bool | None = None
    show_original_caller_id: bool | None = None
    uuid: str | None = None
    created_on: str | None = None
    updated_on: str | None = None
    _step_names: dict[str, str] = PrivateAttr(default_factory=dict)
    _raw: Any = PrivateAttr(default=None)

    @field_validator("flow", mode="wrap")
    @classmethod
    def _lenient_modules(cls, value: object, handler: Callable[[object], Any]) -> Any:
        try:
            return handler(value)
        except ValidationError:
            if not isinstance(value, Mapping):
                raise
        return handler({key: _module_or_raw(module) for key, module in value.items()})

    @property
    def step_names(self) -> dict[str, str]:
        """Module key -> the step name given to `CallFlowBuilder` (empty otherwise)."""
        return dict(self._step_names)

    @property
    def raw(self) -> Any:
        """What this flow was read from: the answer to get/create/update, or its
        entry in a list; None for a flow built here."""
        return self._raw

    @field_serializer("flow")
    def _dump_flow(self, flow: dict[str, VendorModel]) -> dict[str, Any]:
        return {key: _dump_module(module) for key, module in flow.items()}

    def to_wire(self) -> dict[str, Any]:
        """The POST/PUT body: the writable fields, in the vendor's spelling."""
        body = self.model_dump(
            by_alias=True,
            exclude_none=True,
            exclude={"uuid", "created_on", "updated_on"},
        )
        return body

    def validate(self) -> FlowReport:  # type: ignore[override]
        """Every problem (`errors`) and oddity (`warnings`) in this flow's graph."""
        from ..callflow import check_flow

        return check_flow(self)

    def to_mermaid(self) -> str:
        """The flow as a Mermaid flowchart, for docs and reviews."""
        from ..callflow import render_mermaid

        return render_mermaid(self)

    def to_dot(self) -> str:
        """The flow as a Graphviz digraph."""
        from ..callflow import render_dot

        return render_dot(self)


def _dump_module(module: VendorModel) -> dict[str, Any]:
    if isinstance(module, UnknownModule):
        # Untouched: exactly the fields received, nulls included.
        return module.model_dump(by_alias=True)
    return module.model_dump(by_alias=True, exclude_none=True)
