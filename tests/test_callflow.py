"""Call-flow graph checks, the builder, and rendering."""

from __future__ import annotations

import re
from typing import Any

import pytest

from intelepeer_async import CallFlow, CallFlowBuilder, InvalidInputError

from .helpers import fixture_json

# What Mermaid 11 accepts in a label without escaping; "#123;" entity codes and
# <br/> are how everything else is written.
_NODE = re.compile(r'    (n\d+|missing_\d+)\["(?P<text>[^"]*)"\]')
_EDGE = re.compile(r'    n\d+ -->\|"(?P<text>[^"]*)"\| (n\d+|missing_\d+)')
_SPECIAL = re.compile(r"[()\[\]{}|<>\"#;`]")


def assert_mermaid_labels_are_escaped(mermaid: str) -> None:
    lines = mermaid.splitlines()
    assert lines[0] == "flowchart TD"
    for line in lines[1:]:
        found = _NODE.fullmatch(line) or _EDGE.fullmatch(line)
        assert found, f"not a node or edge line: {line!r}"
        text = re.sub(r"#\d+;|<br/>", "", found["text"])
        assert not _SPECIAL.search(text), f"unescaped character in {line!r}"


def flow_of(modules: dict[str, dict[str, Any]]) -> CallFlow:
    return CallFlow.model_validate({"name": "T", "extension": 500, "flow": modules})


def test_the_seed_flow_is_valid() -> None:
    report = CallFlow.model_validate(fixture_json("callflow_create_body.json")).validate()
    assert report.ok
    assert report.errors == []
    assert report.warnings == []


@pytest.mark.parametrize(
    ("modules", "problem"),
    [
        ({"a": {"module": "busy"}}, "no 'start'"),
        (
            {
                "s1": {"module": "start", "next": "b"},
                "s2": {"module": "start", "next": "b"},
                "b": {"module": "busy"},
            },
            "2 'start' modules",
        ),
        ({"s": {"module": "start", "next": "nowhere"}}, "points at missing module 'nowhere'"),
        ({"s": {"module": "start"}}, "has no 'next'"),
        (
            {
                "s": {"module": "start", "next": "m"},
                "m": {"module": "calleridmatch", "patterns": ["^44"], "match": "b", "nomatch": "x"},
                "b": {"module": "busy"},
            },
            "exit 'nomatch' points at missing module 'x'",
        ),
        (
            {
                "s": {"module": "start", "next": "e"},
                "e": {
                    "module": "extension",
                    "extensions": [{"type": "sipuser", "uuid": "u"}],
                    "noanswer": "gone",
                },
            },
            "exit 'noanswer' points at missing module 'gone'",
        ),
        (
            {
                "s": {"module": "start", "next": "i"},
                "i": {"module": "pressextension", "next": {"1": "b", "timeout": "zz"}},
                "b": {"module": "busy"},
            },
            "exit 'timeout' points at missing module 'zz'",
        ),
        (
            {"s": {"module": "start", "next": "b"}, "b": {"module": "busy", "next": "s"}},
            "b (busy) is terminating but has an exit (next)",
        ),
        (
            {
                "s": {"module": "start", "next": "v"},
                "v": {"module": "voicemail", "mailboxes": ["m"], "match": "s"},
            },
            "terminating",
        ),
        (
            {"s": {"module": "start", "next": "c"}, "c": {"module": "conference", "noanswer": "s"}},
            "terminating",
        ),
        (
            {
                "s": {"module": "start", "next": "t"},
                "t": {"module": "Trunk", "uuid": "u", "next": "s"},
            },
            "terminating",
        ),
        (
            {
                "s": {"module": "start", "next": "p"},
                "p": {"module": "play", "sound": "x", "next": "f"},
                "f": {"module": "fax"},
            },
            "f (fax) must come directly after start",
        ),
        (
            {"s": {"module": "start", "next": "c"}, "c": {"module": "conference", "pin": "12345"}},
            "pin must be exactly 4 digits",
        ),
        (
            {"s": {"module": "start", "next": "c"}, "c": {"module": "conference", "pin": "12a4"}},
            "pin must be exactly 4 digits",
        ),
        (
            {
                "s": {"module": "start", "next": "m"},
                "m": {
                    "module": "calleridmatch",
                    "patterns": ["^44(", "ok"],
                    "match": "b",
                    "nomatch": "b",
                },
                "b": {"module": "busy"},
            },
            "caller-id pattern '^44(' is not a regex",
        ),
        (
            {
                "s": {"module": "start", "next": "e"},
                "e": {
                    "module": "extension",
                    "extensions": [{"type": "forward", "number": "07700900"}],
                },
            },
            "forward number is not E.164",
        ),
        (
            {"s": {"module": "start", "next": "v"}, "v": {"module": "voicemail"}},
            "has no mailboxes",
        ),
    ],
)
def test_each_problem_is_reported(modules: dict[str, dict[str, Any]], problem: str) -> None:
    report = flow_of(modules).validate()
    assert not report.ok
    assert any(problem in error for error in report.errors), report.errors


def test_all_problems_in_one_error() -> None:
    flow = flow_of(
        {
            "s": {"module": "start", "next": "missing"},
            "c": {"module": "conference", "pin": "1"},
            "b": {"module": "busy", "next": "s"},
        }
    )
    with pytest.raises(InvalidInputError) as info:
        flow.validate().raise_for_errors()
    assert len(info.value.problems) == 3
    assert isinstance(info.value, ValueError)


def test_fax_straight_after_start_is_fine() -> None:
    report = flow_of({"s": {"module": "start", "next": "f"}, "f": {"module": "fax"}}).validate()
    assert report.ok, report.errors


def test_dialbyextension_may_go_to_the_users_own_mailbox() -> None:
    report = flow_of(
        {
            "s": {"module": "start", "next": "d"},
            "d": {
                "module": "dialbyextension",
                "next": {"invalid": "d", "timeout": "b"},
                "noanswer": "sipuser_voicemail",
            },
            "b": {"module": "busy"},
        }
    ).validate()
    assert report.ok, report.errors


def test_unreachable_modules_are_warnings() -> None:
    report = flow_of(
        {
            "s": {"module": "start", "next": "b"},
            "b": {"module": "busy"},
            "orphan": {"module": "busy"},
        }
    ).validate()
    assert report.ok
    assert report.warnings == ["orphan (busy) is not reachable from start"]


def test_builder_makes_a_valid_flow_with_stable_uuid_keys() -> None:
    def build() -> CallFlow:
        return (
            CallFlowBuilder("Support", extension=501, show_original_caller_id=True)
            .start("menu")
            .ivr("menu", {"1": "sales", "2": "support"}, invalid="menu", timeout="vm")
            .ring("sales", sipusers=["sip-1"], huntgroups=["hg-1"], noanswer="vm")
            .forward("support", "+441234567890", noanswer="vm")
            .voicemail("vm", mailboxes=["mb-1"])
            .build()
        )

    flow = build()
    assert flow.validate().ok and flow.validate().warnings == []
    assert set(flow.flow) == set(build().flow)  # same keys on every build
    wire = flow.to_wire()
    assert wire["name"] == "Support" and wire["extension"] == 501
    assert wire["show_original_caller_id"] is True and "show_call_route_name" not in wire
    start = next(m for m in wire["flow"].values() if m["module"] == "start")
    menu = wire["flow"][start["next"]]
    assert menu["module"] == "pressextension"
    assert set(menu["next"]) == {"1", "2", "invalid", "timeout"}
    assert wire["flow"][menu["next"]["1"]]["extensions"] == [
        {"type": "sipuser", "uuid": "sip-1"},
        {"type": "huntgroup", "uuid": "hg-1"},
    ]


def test_builder_with_name_keys_and_every_shortcut() -> None:
    flow = (
        CallFlowBuilder("All", extension=600)
        .start("rec")
        .record("rec", "moh")
        .hold_music("moh", "playlist-1", "who")
        .match_caller("who", ["^44", "anonymous"], match="hello", nomatch="dial")
        .play("hello", "sound-1", "conf")
        .conference("conf", pin="1234")
        .dial_by_extension("dial", invalid="trunk", timeout="busy", noanswer="sipuser_voicemail")
        .trunk("trunk", "trunk-1")
        .busy("busy", duration=3)
        .build(keys="names")
    )
    assert list(flow.flow) == [
        "start",
        "rec",
        "moh",
        "who",
        "hello",
        "conf",
        "dial",
        "trunk",
        "busy",
    ]
    assert flow.to_wire()["flow"]["moh"] == {
        "module": "musiconhold",
        "class": "playlist-1",
        "next": "who",
    }


def test_builder_refuses_bad_flows() -> None:
    builder = CallFlowBuilder("Bad", extension=1).start("x")
    with pytest.raises(InvalidInputError, match="missing module"):
        builder.build(keys="names")
    with pytest.raises(InvalidInputError, match="defined twice"):
        builder.busy("x").busy("x")


def test_mermaid_and_dot() -> None:
    flow = CallFlow.model_validate(fixture_json("callflow_create_body.json"))
    mermaid = flow.to_mermaid()
    assert mermaid.splitlines()[0] == "flowchart TD"
    assert mermaid.count("-->") == 5  # start->menu, and 4 menu options
    assert 'n1 -->|"invalid"| n2' in mermaid
    assert 'n0["start<br/>161ec941#8230;"]' in mermaid
    dot = flow.to_dot()
    assert dot.startswith('digraph "Call Pete" {')
    assert dot.count("->") == 5
    assert '[label="timeout"]' in dot
    assert dot.rstrip().endswith("}")


def test_rendering_survives_awkward_names_and_dangling_exits() -> None:
    flow = flow_of({'say "hi"': {"module": "start", "next": "gone|x"}})
    mermaid = flow.to_mermaid()
    assert "say #34;hi#34;" in mermaid and "missing: gone#124;x" in mermaid
    assert_mermaid_labels_are_escaped(mermaid)
    dot = flow.to_dot()
    assert '"say \\"hi\\""' in dot


def test_mermaid_escapes_brackets_in_every_label() -> None:
    """Issue 8 item 19: Mermaid 11 rejects labels with bare (, [, {."""
    flow = (
        CallFlowBuilder("Odd (names)", extension=510)
        .start("menu [main]")
        .ivr("menu [main]", {"1": "sales {eu}", "(2)": "vm; #1"}, timeout="vm; #1")
        .forward("sales {eu}", "+441234567890", noanswer="vm; #1")
        .voicemail("vm; #1", mailboxes=["mb-1"])
        .build()
    )
    mermaid = flow.to_mermaid()
    assert_mermaid_labels_are_escaped(mermaid)
    assert "menu #91;main#93;" in mermaid
    assert "sales #123;eu#125;" in mermaid
    assert '-->|"#40;2#41;"|' in mermaid


def test_messages_and_diagrams_use_the_builders_step_names() -> None:
    """Issue 8 item 19: not only uuids."""
    builder = (
        CallFlowBuilder("Support", extension=501)
        .start("menu")
        .ivr("menu", {"1": "sales"}, timeout="nobody")
        .play("sales", "", next="menu")
        .busy("spare")
    )
    with pytest.raises(InvalidInputError) as info:
        builder.build()
    problems = info.value.problems
    assert "menu (pressextension) exit 'timeout' points at missing module 'nobody'" in problems
    assert "sales (play) has no 'sound' to play" in problems
    flow = (
        CallFlowBuilder("Support", extension=501)
        .start("menu")
        .ivr("menu", {"1": "sales"})
        .busy("sales")
        .busy("spare")
        .build()
    )
    assert all(len(key) == 36 for key in flow.flow)  # uuid keys on the wire
    assert flow.validate().warnings == ["spare (busy) is not reachable from start"]
    assert 'n1["pressextension<br/>menu"]' in flow.to_mermaid()
    assert 'label="busy\\nsales"' in flow.to_dot()
    assert "menu" not in str(flow.to_wire())


@pytest.mark.parametrize(
    ("module", "problem"),
    [
        ({"module": "trunk", "uuid": "t"}, "x (trunk): Yay spells this module type 'Trunk'"),
        ({"module": "Busy"}, "x (Busy): Yay spells this module type 'busy'"),
        ({"module": "play", "next": "b"}, "x (play) has no 'sound' to play"),
        ({"module": "musiconhold", "next": "b"}, "x (musiconhold) has no 'class'"),
        (
            {
                "module": "extension",
                "extensions": [{"type": "sipuser", "uuid": "u"}],
                "noanswer": "sipuser_voicemail",
            },
            # Review (minor): it was "points at missing module 'sipuser_voicemail'".
            "x (extension) exit 'noanswer' is 'sipuser_voicemail', which is valid only as"
            " the 'noanswer' of a dialbyextension",
        ),
        (
            {"module": "extension", "extensions": [{"uuid": "u"}]},
            "x (extension) extensions[0] has no 'type'",
        ),
        (
            {"module": "extension", "extensions": [{"type": "phone", "uuid": "u"}]},
            "x (extension) extensions[0] type 'phone' is not one of",
        ),
        (
            {
                "module": "extension",
                "extensions": [{"type": "sipuser", "uuid": "u"}],
                "duration": "30s",
            },
            "x (extension) duration must be a whole number of seconds",
        ),
        ({"module": "pressextension", "next": {"1": None}}, "x (pressextension) exit '1' must be"),
        ({"module": "play", "sound": {"not": "a uuid"}, "next": "b"}, "x (play) does not have"),
    ],
)
def test_module_checks_follow_the_yay_doc(module: dict[str, Any], problem: str) -> None:
    """Issue 8 item 19: wrong case, required fields, where sipuser_voicemail is allowed."""
    report = flow_of(
        {"s": {"module": "start", "next": "x"}, "x": module, "b": {"module": "busy"}}
    ).validate()
    assert any(error.startswith(problem) for error in report.errors), report.errors


def test_an_undocumented_module_type_is_a_warning() -> None:
    report = flow_of(
        {"s": {"module": "start", "next": "x"}, "x": {"module": "sms_notify", "to": "+44"}}
    ).validate()
    assert report.ok
    assert report.warnings == [
        "x (sms_notify): 'sms_notify' is not a module type Yay documents; sent as is"
    ]
