"""``intelepeer sms send|status|provision`` against the vendor's documented answers."""

from __future__ import annotations

import json

import respx

from . import fake_vendor
from .cli_support import invoke, one_error_line
from .helpers import sent_json

API = fake_vendor.API
SEND = f"{API}/_rest/v4/app/sms/send"
MDR = f"{API}/_rest/v4/app/sms/mdr"
PROVISION = f"{API}/_rest/v4/my/did/sms/provision"
REFID = "ABCDEF1234567890ABCDEF1234567890"


def sent_to(router: respx.MockRouter, path: str) -> list[object]:
    return [json.loads(c.request.content) for c in router.calls if c.request.url.path == path]


def test_send_prints_the_refid_and_sends_the_fields(vendor: respx.MockRouter) -> None:
    result = invoke(
        "sms", "send", "--from", "+13035550100", "--to", "+13035550111", "--text", "Hi there",
        "--guid", "order-1", "--dlr",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == f"sent (HTTP 202), refid {REFID}\n"
    assert sent_to(vendor, "/_rest/v4/app/sms/send") == [
        {
            "from": "+13035550100",
            "to": "+13035550111",
            "text": "Hi there",
            "guid": "order-1",
            "dlr": True,
            "dlroptions": {"include-accepted": False},
        }
    ]


def test_send_json_and_text_from_stdin(vendor: respx.MockRouter) -> None:
    result = invoke(
        "--json", "sms", "send", "--from", "1-12345", "--to", "+13035550111", "--text", "-",
        input="multi\nline text\n",
    )  # fmt: skip
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "status_code": 202,
        "raw": {"refid": REFID},
        "refid": REFID,
    }
    assert sent_to(vendor, "/_rest/v4/app/sms/send")[0] == {
        "from": "1-12345",
        "to": "+13035550111",
        "text": "multi\nline text",
    }


def test_send_mms_with_media_links_and_no_text(vendor: respx.MockRouter) -> None:
    result = invoke(
        "sms", "send", "--from", "+13035550100", "--to", "+13035550111",
        "--media-link", "https://example.com/a.jpg", "--media-link", "https://example.com/b.png",
    )  # fmt: skip
    assert result.exit_code == 0
    body = sent_to(vendor, "/_rest/v4/app/sms/send")[0]
    assert body == {
        "from": "+13035550100",
        "to": "+13035550111",
        "text": "",
        "media": [{"link": "https://example.com/a.jpg"}, {"link": "https://example.com/b.png"}],
    }


def test_send_rejects_a_bad_media_link_before_sending(vendor: respx.MockRouter) -> None:
    result = invoke(
        "sms", "send", "--from", "+13035550100", "--to", "+13035550111", "--media-link", "ftp://x"
    )
    assert result.exit_code == 2
    assert "media[0]" in one_error_line(result)
    assert not sent_to(vendor, "/_rest/v4/app/sms/send")


def test_send_without_a_refid_in_the_answer(vendor: respx.MockRouter) -> None:
    vendor.post(SEND).respond(202, json={"status": "queued"})
    result = invoke("sms", "send", "--from", "+13035550100", "--to", "+13035550111", "--text", "x")
    assert result.exit_code == 0
    assert result.stdout == "sent (HTTP 202); the answer carried no refid\n"


def test_status_get_and_post(vendor: respx.MockRouter) -> None:
    post = vendor.post(MDR).respond(200, json={"code": 200, "RCC_en": "Queued", "RCC": 0})
    got = invoke("sms", "status", REFID)
    assert got.exit_code == 0
    assert got.stdout == "DLR:Delivered (delivered)\n"
    assert vendor.calls[-1].request.url.params["refid"] == REFID
    posted = invoke("--json", "sms", "status", REFID, "--post")
    assert posted.exit_code == 0
    assert json.loads(posted.stdout) == {
        "code": 200,
        "rcc": 0,
        "rcc_en": "Queued",
        "state": "queued",
        "raw": {"code": 200, "RCC_en": "Queued", "RCC": 0},  # the record as the vendor sent it
    }
    assert sent_json(post) == {"refid": REFID}


def test_status_of_an_unknown_record_is_exit_1(vendor: respx.MockRouter) -> None:
    vendor.get(MDR).respond(404, json={"detail": "record not found"})
    result = invoke("sms", "status", "nope")
    assert result.exit_code == 1
    assert one_error_line(result) == "error: HTTP 404: record not found"


def test_provision_and_already_in_progress(vendor: respx.MockRouter) -> None:
    result = invoke("sms", "provision", "+13035550122")
    assert result.exit_code == 0
    assert result.stdout == "provisioning requested\n"
    assert sent_to(vendor, "/_rest/v4/my/did/sms/provision") == [{"endpoints": ["+13035550122"]}]
    vendor.post(PROVISION).respond(409, json={"error": "provisioning already in progress"})
    again = invoke("--json", "sms", "provision", "+13035550122")
    assert again.exit_code == 1
    assert again.stdout == ""
    assert one_error_line(again) == "error: HTTP 409: provisioning already in progress"


def test_provision_json(vendor: respx.MockRouter) -> None:
    result = invoke("sms", "provision", "+13035550122", "--json")
    assert json.loads(result.stdout) == {
        "code": 202,
        "state": "requested",
        "raw": {"code": 202, "provisioning": {"state": "requested"}},
    }
