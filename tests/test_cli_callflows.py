"""``intelepeer callflows``: list, show (summary, JSON, Mermaid, DOT), create, delete."""

from __future__ import annotations

import json
from pathlib import Path

import respx

from intelepeer_async import CallFlow

from . import fake_vendor
from .cli_support import invoke, one_error_line
from .helpers import FIXTURES, fixture_json, seed_response

FLOWS = f"{fake_vendor.YAY}/voip/flow"
UUID = "31347d42-00bd-44a5-9b5c-20dc4197a2f6"
BODY = FIXTURES / "callflow_create_body.json"


def yay_calls(router: respx.MockRouter, method: str) -> list[respx.models.Call]:
    return [
        c for c in router.calls if c.request.method == method and "/voip/" in c.request.url.path
    ]


def test_list(vendor: respx.MockRouter) -> None:
    result = invoke("callflows", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["UUID", "EXTENSION", "NAME", "MODULES"]
    assert lines[1].split() == [UUID, "501", "Call", "Pete", "3"]
    assert lines[-1] == "1 call flow"
    headers = yay_calls(vendor, "GET")[0].request.headers
    assert (headers["X-Auth-Reseller"], headers["X-Auth-User"]) == ("reseller-1", "user-1")


def test_list_json_keeps_the_vendor_shape(vendor: respx.MockRouter) -> None:
    result = invoke("--json", "callflows", "list")
    assert json.loads(result.stdout) == fixture_json("callflow_list_200.json")["result"]


def test_yay_flags_and_act_for(vendor: respx.MockRouter) -> None:
    result = invoke(
        "--reseller", "r9", "--user", "u9", "--yay-password", "pw-9", "--act-for", "sub-1",
        "callflows", "list",
    )  # fmt: skip
    assert result.exit_code == 0
    headers = yay_calls(vendor, "GET")[0].request.headers
    assert (headers["X-Auth-Reseller"], headers["X-Auth-User"]) == ("r9", "u9")
    assert (headers["X-Auth-Password"], headers["X-Auth-For"]) == ("pw-9", "sub-1")
    assert "pw-9" not in result.output


def test_show_summary(vendor: respx.MockRouter) -> None:
    result = invoke("callflows", "show", UUID)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"Call Pete (extension 501, uuid {UUID})"
    assert lines[1].split() == ["KEY", "MODULE", "EXITS"]
    assert lines[2].split() == [
        "161ec941-1c6a-4d42-b011-1c050487324d",
        "start",
        "next",
        "->",
        "9085aa47-0ff0-4fd0-9c80-6077e1f475c2",
    ]
    assert yay_calls(vendor, "GET")[0].request.url.path == f"/voip/flow/{UUID}"


def test_show_as_mermaid_dot_and_json(vendor: respx.MockRouter) -> None:
    flow = CallFlow.model_validate(fixture_json("callflow_get_200.json")["result"])
    assert invoke("callflows", "show", UUID, "--mermaid").stdout == flow.to_mermaid()
    assert invoke("callflows", "show", UUID, "--dot").stdout == flow.to_dot()
    as_json = json.loads(invoke("callflows", "show", UUID, "--json").stdout)
    assert as_json == fixture_json("callflow_get_200.json")["result"]


def test_create_sends_the_checked_flow(vendor: respx.MockRouter) -> None:
    result = invoke("callflows", "create", str(BODY))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"created {UUID}: Call Pete (extension 501)\n"
    assert json.loads(yay_calls(vendor, "POST")[0].request.content) == fixture_json(
        "callflow_create_body.json"
    )


def test_create_from_stdin_with_the_envelope(vendor: respx.MockRouter) -> None:
    enveloped = json.dumps({"result": fixture_json("callflow_create_body.json")})
    result = invoke("--json", "callflows", "create", "-", input=enveloped)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["uuid"] == UUID


def test_create_lists_every_problem_and_sends_nothing(
    vendor: respx.MockRouter, tmp_path: Path
) -> None:
    broken = fixture_json("callflow_create_body.json")
    start = "161ec941-1c6a-4d42-b011-1c050487324d"
    broken["flow"][start]["next"] = "nowhere"
    broken["flow"]["second-start"] = {"module": "start", "next": start}
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(broken))
    result = invoke("callflows", "create", str(path))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {path} is not a valid call flow; nothing was sent"
    assert "  - 2 'start' modules" in lines[1]
    assert any("points at missing module 'nowhere'" in line for line in lines[2:])
    assert not yay_calls(vendor, "POST")


def test_create_rejects_bad_json_and_bad_fields(vendor: respx.MockRouter, tmp_path: Path) -> None:
    not_json = invoke("callflows", "create", "-", input="{nope")
    assert not_json.exit_code == 2
    assert one_error_line(not_json).startswith("error: stdin is not JSON:")
    a_list = invoke("callflows", "create", "-", input="[]")
    assert a_list.exit_code == 2
    assert "must hold a JSON object" in one_error_line(a_list)
    bad_field = invoke("callflows", "create", "-", input='{"name": "x", "extension": "abc"}')
    assert bad_field.exit_code == 2
    assert "  - extension:" in bad_field.stderr
    missing = invoke("callflows", "create", str(tmp_path / "none.json"))
    assert missing.exit_code == 2
    assert not yay_calls(vendor, "POST")


def test_create_warns_about_unreachable_modules(vendor: respx.MockRouter, tmp_path: Path) -> None:
    body = fixture_json("callflow_create_body.json")
    body["flow"]["lonely"] = {"module": "busy"}
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(body))
    result = invoke("callflows", "create", str(path))
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: ") and "lonely" in result.stderr
    assert len(yay_calls(vendor, "POST")) == 1


def test_delete(vendor: respx.MockRouter) -> None:
    result = invoke("callflows", "delete", UUID)
    assert result.exit_code == 0
    assert result.stdout == f"deleted {UUID}\n"
    assert json.loads(invoke("--json", "callflows", "delete", UUID).stdout) == {"deleted": UUID}
    assert yay_calls(vendor, "DELETE")[0].request.url.path == f"/voip/flow/{UUID}"


def test_not_found_and_envelope_errors(vendor: respx.MockRouter) -> None:
    vendor.get(url__startswith=f"{FLOWS}/").mock(
        return_value=seed_response(404, "callflow_404.json")
    )
    result = invoke("callflows", "show", "gone")
    assert result.exit_code == 1
    assert one_error_line(result) == "error: HTTP 404: Not Found"
    vendor.get(FLOWS).respond(
        200, json={"result": {}, "status_code": 401, "status_message": "Unauthorized"}
    )
    refused = invoke("callflows", "list")
    assert refused.exit_code == 3
    assert one_error_line(refused).startswith("error: HTTP 401: Unauthorized")
