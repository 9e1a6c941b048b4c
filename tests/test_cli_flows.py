"""``intelepeer flows trigger``: one trigger, or one per CSV row, never resent blindly."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import respx

from . import fake_vendor
from .cli_support import invoke, one_error_line

V4 = f"{fake_vendor.API}/_rest/v4/sfgen/apitriggers"
LEGACY = f"{fake_vendor.LEGACY}/v2/api/apitriggers"
ANI, DNIS = "+17205551212", "+17205551213"


def triggers(router: respx.MockRouter) -> list[dict[str, object]]:
    return [
        json.loads(c.request.content) for c in router.calls if "apitriggers" in c.request.url.path
    ]


def test_trigger_with_variables(vendor: respx.MockRouter) -> None:
    result = invoke(
        "flows", "trigger", "flow-1", "--ani", ANI, "--dnis", DNIS,
        "--var", "OrderNo=A-1001", "--var", "Note=a=b",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "flow accepted (HTTP 202)\n"
    assert triggers(vendor) == [
        {"flowId": "flow-1", "ANI": ANI, "DNIS": DNIS, "OrderNo": "A-1001", "Note": "a=b"}
    ]
    assert vendor.calls[-1].request.url == V4


def test_trigger_legacy_json(vendor: respx.MockRouter) -> None:
    result = invoke("--json", "flows", "trigger", "f", "--ani", ANI, "--dnis", DNIS, "--legacy")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"accepted": True, "status_code": 202, "raw": True}
    assert vendor.calls[-1].request.url == LEGACY


def test_trigger_usage_errors(vendor: respx.MockRouter) -> None:
    no_dnis = invoke("flows", "trigger", "f", "--ani", ANI)
    assert no_dnis.exit_code == 2
    assert "--ani and --dnis are required" in one_error_line(no_dnis)
    bad_var = invoke("flows", "trigger", "f", "--ani", ANI, "--dnis", DNIS, "--var", "novalue")
    assert bad_var.exit_code == 2
    assert "expected NAME=VALUE" in one_error_line(bad_var)
    reserved = invoke("flows", "trigger", "f", "--ani", ANI, "--dnis", DNIS, "--var", "ANI=x")
    assert reserved.exit_code == 2
    assert "collides" in one_error_line(reserved)
    bad_ani = invoke("flows", "trigger", "f", "--ani", "7205551212", "--dnis", DNIS)
    assert bad_ani.exit_code == 2
    assert not triggers(vendor)


def test_a_false_answer_is_not_success(vendor: respx.MockRouter) -> None:
    vendor.post(V4).respond(202, json=False)
    result = invoke("flows", "trigger", "f", "--ani", ANI, "--dnis", DNIS)
    assert result.exit_code == 1
    assert result.stdout == "flow NOT accepted (HTTP 202)\n"
    assert "did not accept" in one_error_line(result)


def write_csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rows.csv"
    path.write_text(text)
    return str(path)


def test_csv_triggers_every_row_with_its_variables(
    vendor: respx.MockRouter, tmp_path: Path
) -> None:
    rows = write_csv(
        tmp_path,
        "ani,OrderNo,FirstName\n+17205550001,A-1,Ann\n+17205550002,A-2,\n+17205550003,A-3,Cy\n",
    )
    result = invoke(
        "flows", "trigger", "flow-9", "--csv", rows, "--dnis", DNIS, "--var", "Shop=Main St"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "row 2: accepted (HTTP 202)",
        "row 3: accepted (HTTP 202)",
        "row 4: accepted (HTTP 202)",
        "3 of 3 rows accepted",
    ]
    sent = sorted(triggers(vendor), key=lambda body: str(body["ANI"]))
    assert sent[0] == {
        "flowId": "flow-9",
        "ANI": "+17205550001",
        "DNIS": DNIS,
        "Shop": "Main St",
        "OrderNo": "A-1",
        "FirstName": "Ann",
    }
    assert sent[1]["FirstName"] == ""


def test_csv_from_stdin_as_json(vendor: respx.MockRouter) -> None:
    result = invoke(
        "--json", "flows", "trigger", "f", "--csv", "-",
        input=f"ANI,DNIS\n{ANI},{DNIS}\n",
    )  # fmt: skip
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {"row": 2, "ok": True, "status": 202, "error": None, "may_have_been_processed": None}
    ]


def test_csv_problems_are_all_listed_and_nothing_is_sent(
    vendor: respx.MockRouter, tmp_path: Path
) -> None:
    rows = write_csv(tmp_path, f"ANI,DNIS\n{ANI},{DNIS}\n7205550002,{DNIS}\n,{DNIS}\n{ANI},x,y\n")
    result = invoke("flows", "trigger", "f", "--csv", rows)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 3 problem(s) in the CSV; nothing was sent"
    assert lines[1].startswith("  - row 3: ANI must be an E.164 number")
    assert lines[2:] == ["  - row 4: no ANI", "  - row 5: more fields than the header"]
    assert "7205550002" not in result.stderr
    assert not triggers(vendor)


def test_csv_without_rows(vendor: respx.MockRouter) -> None:
    result = invoke("flows", "trigger", "f", "--csv", "-", input="ANI,DNIS\n")
    assert result.exit_code == 2
    assert "no rows" in one_error_line(result)


def test_csv_row_failures_are_reported_and_exit_1(vendor: respx.MockRouter) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["ANI"] == "+17205550002":
            return httpx.Response(400, json={"message": "DNIS is not on the account"})
        return httpx.Response(202, json=True)

    vendor.post(V4).mock(side_effect=answer)
    csv_text = "ANI\n+17205550001\n+17205550002\n"
    result = invoke("--json", "flows", "trigger", "f", "--dnis", DNIS, "--csv", "-", input=csv_text)
    assert result.exit_code == 1
    assert json.loads(result.stdout)[1] == {
        "row": 3,
        "ok": False,
        "status": 400,
        "error": "HTTP 400: DNIS is not on the account",
        "may_have_been_processed": False,
    }
    assert one_error_line(result) == "error: 1 of 2 rows failed"


def test_csv_rows_that_may_have_run_are_not_resent(vendor: respx.MockRouter) -> None:
    route = vendor.post(V4).mock(side_effect=httpx.ReadTimeout("slow"))
    csv_text = f"ANI,DNIS\n{ANI},{DNIS}\n+17205550009,{DNIS}\n"
    result = invoke("--json", "flows", "trigger", "f", "--csv", "-", input=csv_text)
    assert result.exit_code == 4  # every row failed for want of a response
    outcomes = json.loads(result.stdout)
    assert [o["may_have_been_processed"] for o in outcomes] == [True, True]
    assert route.call_count == 2  # one attempt per row


def test_csv_all_rows_refused_is_exit_3(vendor: respx.MockRouter) -> None:
    vendor.post(V4).respond(403, json={"error": "Forbidden"})
    csv_text = f"ANI,DNIS\n{ANI},{DNIS}\n{ANI},{DNIS}\n"
    result = invoke("flows", "trigger", "f", "--csv", "-", input=csv_text)
    assert result.exit_code == 3
    assert "row 2: failed: HTTP 403: Forbidden" in result.stdout
