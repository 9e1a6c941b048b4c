"""``intelepeer agents``: flags mirror ``ip.agents``; vendor messages pass through."""

from __future__ import annotations

import json

import respx

from . import fake_vendor
from .cli_support import invoke, one_error_line
from .helpers import fixture_json

AGENTS = f"{fake_vendor.SMARTCOMM}/rest/v1/smartcomm/12345678/agents"


def agent_calls(router: respx.MockRouter) -> list[respx.models.Call]:
    return [c for c in router.calls if "/smartcomm/" in c.request.url.path]


def test_list_as_a_table(vendor: respx.MockRouter) -> None:
    result = invoke("agents", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["USER", "OBJECT", "ID", "PHONE", "UPN", "STATUS"]
    assert lines[1].split() == [
        "e2f19e0a-0490-41f4-8509-44a3390ae0b6",
        "+13132095887",
        "-",
        "active",
    ]
    assert lines[-1] == "4 agents"
    # SmartCommunicator gets its own login and the bare JWT
    assert agent_calls(vendor)[0].request.headers["Authorization"].count(".") == 2


def test_list_json_and_customer_flag(vendor: respx.MockRouter) -> None:
    other = vendor.get(f"{fake_vendor.SMARTCOMM}/rest/v1/smartcomm/99/agents").respond(
        200, json={"data": [], "error": None}
    )
    assert json.loads(invoke("--customer-id", "99", "--json", "agents", "list").stdout) == []
    assert other.call_count == 1
    listed = json.loads(invoke("--json", "agents", "list").stdout)
    blanks = {"consistency_id": None, "upn": None, "customer_id": None}
    assert listed == [{**blanks, **a} for a in fixture_json("agents_list_200.json")["data"]]


def test_get_by_phone_number(vendor: respx.MockRouter) -> None:
    result = invoke("agents", "get", "+15727982113", "--key-id", "phone_number")
    assert result.exit_code == 0
    assert "phone_number: +15727982113" in result.stdout.splitlines()
    request = agent_calls(vendor)[-1].request
    assert request.url.raw_path.startswith(b"/rest/v1/smartcomm/12345678/agents/%2B15727982113?")
    assert request.url.params["key_id"] == "phone_number"


def test_bad_key_id_is_a_usage_error(vendor: respx.MockRouter) -> None:
    result = invoke("agents", "offboard", "x", "--key-id", "upn")  # upn is for reads only
    assert result.exit_code == 2
    assert "key_id must be one of agent_id, consistency_id, user_object_id" in one_error_line(
        result
    )
    assert not agent_calls(vendor)


def test_onboard_sends_the_flags(vendor: respx.MockRouter) -> None:
    result = invoke(
        "agents", "onboard", "--user-object-id", "u-1", "--tenant-id", "t-1",
        "--phone-number", "+18680831601", "--upn", "jane@example.com",
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout == "onboarded: Onboarded Successfully\n"
    assert json.loads(agent_calls(vendor)[-1].request.content) == {
        "user_object_id": "u-1",
        "tenant_id": "t-1",
        "phone_number": "+18680831601",
        "upn": "jane@example.com",
    }


def test_onboard_conflict_passes_the_vendor_message(vendor: respx.MockRouter) -> None:
    vendor.post(AGENTS).respond(
        400, json={"message": "TN exists with the same Azure Object ID", "status": 400}
    )
    result = invoke(
        "agents", "onboard", "--user-object-id", "u", "--tenant-id", "t",
        "--phone-number", "+18680831601",
    )  # fmt: skip
    assert result.exit_code == 1
    assert one_error_line(result) == "error: HTTP 400: TN exists with the same Azure Object ID"


def test_update_sends_only_the_fields_given(vendor: respx.MockRouter) -> None:
    result = invoke(
        "--json", "agents", "update", "u-1", "--upn", "new@example.com", "--no-transfer-data"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        **fixture_json("agent_update_200.json"),
        "customer_id": None,
    }
    request = agent_calls(vendor)[-1].request
    assert request.method == "PATCH"
    assert json.loads(request.content) == {"upn": "new@example.com", "transfer_data": False}


def test_update_without_changes_is_a_usage_error(vendor: respx.MockRouter) -> None:
    result = invoke("agents", "update", "u-1")
    assert result.exit_code == 2
    assert "at least one field" in one_error_line(result)


def test_offboard(vendor: respx.MockRouter) -> None:
    result = invoke("agents", "offboard", "jane@example.com", "--key-id", "consistency_id")
    assert result.exit_code == 0
    assert result.stdout == "offboarded (ok)\n"
    request = agent_calls(vendor)[-1].request
    assert request.method == "DELETE"
    assert request.url.params["key_id"] == "consistency_id"


def test_agent_not_found_is_exit_1(vendor: respx.MockRouter) -> None:
    vendor.get(url__startswith=f"{AGENTS}/").respond(
        404, json={"requestId": "c2469727-a1a4", "message": "Agent not found"}
    )
    result = invoke("agents", "get", "nobody")
    assert result.exit_code == 1
    assert one_error_line(result) == "error: HTTP 404: Agent not found (request id c2469727-a1a4)"
