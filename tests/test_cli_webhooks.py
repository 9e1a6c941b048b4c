"""``intelepeer sms webhook set|get``: numbers from anywhere, many at once, every outcome."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import respx

from . import fake_vendor
from .cli_support import invoke, one_error_line
from .helpers import seed_response

WEBHOOK = f"{fake_vendor.API}/_rest/v4/my/did/sms/webhook"
HOOK = "https://rx.example.com/sms"


def posted(router: respx.MockRouter) -> list[dict[str, object]]:
    return [
        json.loads(c.request.content)
        for c in router.calls
        if c.request.method == "POST" and c.request.url.path == "/_rest/v4/my/did/sms/webhook"
    ]


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"+1303555{n:04d}" for n in range(start, start + count)]


def test_one_number_from_the_arguments(vendor: respx.MockRouter) -> None:
    result = invoke("sms", "webhook", "set", HOOK, "+12161112222")
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"+12161112222  ok  provisioned\n1 of 1 numbers now post to {HOOK}\n")
    assert posted(vendor) == [{"endpoints": ["+12161112222"], "webhook": HOOK}]


def test_many_numbers_from_a_file_in_chunks(vendor: respx.MockRouter, tmp_path: Path) -> None:
    wanted = numbers(250)
    listing = tmp_path / "numbers.txt"
    listing.write_text("# our numbers\n" + "\n\n".join(wanted) + "\n")
    result = invoke("--json", "sms", "webhook", "set", HOOK, "--file", str(listing))
    assert result.exit_code == 0, result.output
    results = json.loads(result.stdout)
    assert [r["number"] for r in results] == wanted
    assert all(r["ok"] and r["status"] == 201 and r["state"] == "provisioned" for r in results)
    sizes = sorted(len(b["endpoints"]) for b in posted(vendor))  # type: ignore[arg-type]
    assert sizes == [50, 100, 100]


def test_file_dash_and_arguments_together(vendor: respx.MockRouter) -> None:
    result = invoke(
        "sms", "webhook", "set", HOOK, "+13035550001", "--file", "-", input="+13035550002\n"
    )
    assert result.exit_code == 0
    assert posted(vendor)[0]["endpoints"] == ["+13035550001", "+13035550002"]


def test_duplicates_are_sent_once(vendor: respx.MockRouter) -> None:
    result = invoke("--json", "sms", "webhook", "set", HOOK, input="+13035550001\n+13035550001\n")
    assert len(json.loads(result.stdout)) == 1
    assert posted(vendor)[0]["endpoints"] == ["+13035550001"]


def test_a_malformed_line_stops_everything_before_sending(vendor: respx.MockRouter) -> None:
    result = invoke("sms", "webhook", "set", HOOK, input="+13035550001\n\n303-555-0102\n")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert line.startswith("error: line 3 of stdin must be E.164")
    assert "303-555-0102" not in line
    assert not posted(vendor)


def test_bad_url_and_no_numbers_are_usage_errors(vendor: respx.MockRouter) -> None:
    bad_url = invoke("sms", "webhook", "set", "rx.example.com/sms", "+13035550001")
    assert bad_url.exit_code == 2
    assert "url must be an http:// or https:// URL" in one_error_line(bad_url)
    empty = invoke("sms", "webhook", "set", HOOK, input="\n# nothing\n")
    assert empty.exit_code == 2
    assert one_error_line(empty) == "error: no numbers given"
    missing = invoke("sms", "webhook", "set", HOOK, "--file", "/no/such/file")
    assert missing.exit_code == 2
    assert not posted(vendor)


def test_partial_failure_reports_every_number_and_exits_1(vendor: respx.MockRouter) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["endpoints"]
        return httpx.Response(
            207,
            json={
                "code": 207,
                "endpoints": [
                    {"status": 201, "endpoint": sent[0], "response": {"tnkey": sent[0]}},
                    {
                        "status": 400,
                        "endpoint": sent[1],
                        "response": {"message": "TN is not SMS enabled"},
                    },
                ],
            },
        )

    vendor.post(WEBHOOK).mock(side_effect=answer)
    result = invoke("sms", "webhook", "set", HOOK, "+13035550001", "+13035550002")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "+13035550001  ok",
        "+13035550002  failed  HTTP 400: TN is not SMS enabled",
        f"1 of 2 numbers now post to {HOOK}",
    ]
    assert one_error_line(result) == "error: 1 of 2 numbers failed"
    as_json = invoke("--json", "sms", "webhook", "set", HOOK, "+13035550001", "+13035550002")
    assert [r["ok"] for r in json.loads(as_json.stdout)] == [True, False]
    assert as_json.exit_code == 1


def test_every_number_refused_credentials_is_exit_3(vendor: respx.MockRouter) -> None:
    vendor.post(WEBHOOK).respond(403, json={"error": "number not on this account"})
    result = invoke("sms", "webhook", "set", HOOK, *numbers(150))
    assert result.exit_code == 3
    assert one_error_line(result) == "error: 150 of 150 numbers failed"
    assert result.stdout.count("failed  HTTP 403: number not on this account") == 150


def test_every_number_without_a_response_is_exit_4(
    vendor: respx.MockRouter, no_sleep: list[float]
) -> None:
    vendor.post(WEBHOOK).mock(side_effect=httpx.ConnectError("refused"))
    result = invoke("--json", "sms", "webhook", "set", HOOK, *numbers(3))
    assert result.exit_code == 4
    results = json.loads(result.stdout)
    assert [r["status"] for r in results] == [None, None, None]
    assert "never reached the server" in results[0]["error"]


def test_mixed_failures_are_exit_1(vendor: respx.MockRouter, no_sleep: list[float]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)["endpoints"][0] == "+13035550000":
            return httpx.Response(403, json={"error": "no"})  # the first chunk
        raise httpx.ConnectError("down")  # the second, every attempt

    vendor.post(WEBHOOK).mock(side_effect=answer)
    result = invoke("sms", "webhook", "set", HOOK, *numbers(200))
    assert result.exit_code == 1
    assert one_error_line(result) == "error: 200 of 200 numbers failed"


def test_the_password_in_the_url_is_never_printed(vendor: respx.MockRouter) -> None:
    url = "https://intelepeer:pa55word@rx.example.com/sms"
    human = invoke("sms", "webhook", "set", url, "+13035550001")
    as_json = invoke("--json", "sms", "webhook", "set", url, "+13035550001")
    assert human.exit_code == as_json.exit_code == 0
    for result in (human, as_json):
        assert "pa55word" not in result.output
    assert "https://intelepeer:***@rx.example.com/sms" in human.stdout
    assert json.loads(as_json.stdout)[0]["webhook"] == "https://intelepeer:***@rx.example.com/sms"
    assert posted(vendor)[0]["webhook"] == url  # sent as given


def test_get(vendor: respx.MockRouter) -> None:
    result = invoke("sms", "webhook", "get", "+12161112222")
    assert result.exit_code == 0
    assert result.stdout == ("+12161112222  https://www.yourcompany.com/sms/webhook  provisioned\n")
    assert vendor.calls[-1].request.url.params["endpoint"] == "+12161112222"


def test_get_json_masks_a_password(vendor: respx.MockRouter) -> None:
    vendor.get(WEBHOOK).respond(
        200, json={"code": 200, "tnkey": "+12161112222", "webhook": "https://u:p4ss@h/x"}
    )
    result = invoke("--json", "sms", "webhook", "get", "+12161112222")
    assert json.loads(result.stdout) == {
        "number": "+12161112222",
        "webhook": "https://u:***@h/x",
        "state": None,
    }


def test_get_unknown_number_is_exit_1(vendor: respx.MockRouter) -> None:
    vendor.get(WEBHOOK).mock(return_value=seed_response(404, "callflow_404.json"))
    result = invoke("sms", "webhook", "get", "+12161112222")
    assert result.exit_code == 1
    assert one_error_line(result).startswith("error: HTTP 404")
