"""The simulator's configuration, virtual clock, fault engine and state view."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anyio
import httpx
import pytest

from intelepeer_async import InvalidInputError
from intelepeer_async.sandbox import Fault, Sandbox, SandboxConfig
from intelepeer_async.sandbox.clock import VirtualClock
from intelepeer_async.sandbox.faults import FaultEngine

# -- config ------------------------------------------------------------------------------


def test_defaults_are_the_documented_demo_account() -> None:
    c = SandboxConfig()
    assert (c.username, c.password, c.customer_id) == ("demo", "demo", 12345678)
    assert c.sms_numbers == [f"+130355501{n:02d}" for n in range(10)]
    assert c.other_numbers == [f"+130355501{n:02d}" for n in range(10, 20)]
    assert (c.yay_reseller, c.yay_user, c.yay_password) == ("demo", "demo", "demo")
    assert c.smartflows == ["demo-flow"] and c.max_delivery_attempts == 5


def test_load_json_and_toml_with_overrides(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(json.dumps({"username": "ann", "customer_id": 42}))
    (tmp_path / "c.toml").write_text(
        'username = "bob"\nsms_numbers = ["+15555550100"]\n'
        '[[faults]]\nkind = "latency"\nseconds = 0.5\npath = "/voip/*"\n'
    )
    from_json = SandboxConfig.load(tmp_path / "c.json", customer_id=7)
    from_toml = SandboxConfig.load(tmp_path / "c.toml")
    assert (from_json.username, from_json.customer_id) == ("ann", 7)
    assert from_toml.sms_numbers == ["+15555550100"]
    assert from_toml.faults == [Fault(kind="latency", seconds=0.5, path="/voip/*")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"usernme": "typo"}', "usernme"),
        ('{"sms_numbers": ["3035550100"]}', "not E.164"),
        ('{"faults": [{"kind": "explode"}]}', "faults.0.kind"),
        ('{"delivery_backoff": []}', "delivery_backoff"),
        ("[1, 2]", "must hold an object"),
        ("{not json", "not valid"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=problem):
        SandboxConfig.load(path)


def test_missing_config_file_and_bad_hmac_setting(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="cannot read"):
        SandboxConfig.load(tmp_path / "absent.toml")
    with pytest.raises(InvalidInputError, match="unknown digest"):
        Sandbox(SandboxConfig(signature="hmac", hmac_digest="md17"))


def test_config_repr_hides_secrets() -> None:
    text = repr(SandboxConfig(password="hunter2", hmac_secret="hs-1", portal_token="pt-1"))
    assert "username='demo'" in text
    assert not any(secret in text for secret in ("hunter2", "hs-1", "pt-1", "demo-shared-code"))


def test_state_shows_only_the_demo_secrets() -> None:
    default = Sandbox().state()
    assert default["account"]["password"] == "demo"
    assert default["inbound_signing"]["shared_code"] == "demo-shared-code"
    custom = SandboxConfig(
        password="hunter2", yay_password="yay-pw", shared_code="sc", hmac_secret="hs"
    )
    text = json.dumps(Sandbox(custom).state())
    for secret in ("hunter2", "yay-pw", '"sc"', '"hs"'):
        assert secret not in text
    assert text.count("********") == 4


# -- virtual clock ----------------------------------------------------------------------------


def test_clock_stands_still_at_rate_zero_and_advances() -> None:
    clock = VirtualClock(start=1000.0, rate=0)
    assert clock.now() == 1000.0
    assert clock.advance(30) == 1030.0
    assert clock.now() == 1030.0
    with pytest.raises(ValueError, match="finite"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="finite"):
        clock.advance(float("nan"))


def test_clock_follows_real_time_at_its_rate() -> None:
    clock = VirtualClock(start=0.0, rate=1000.0)
    first = clock.now()
    time.sleep(0.01)
    assert clock.now() - first >= 10.0  # 10 ms real at 1000x


@pytest.mark.anyio
async def test_sleep_until_wakes_on_advance() -> None:
    clock = VirtualClock(start=0.0, rate=0)
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.sleep_until(60.0)
        woke.append(clock.now())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(sleeper)
            await anyio.sleep(0.01)
            clock.advance(30)
            await anyio.sleep(0.01)
            assert woke == []
            clock.advance(30)
    assert woke == [60.0]


# -- faults --------------------------------------------------------------------------------------


def pattern(seed: int) -> list[bool]:
    engine = FaultEngine([Fault(kind="error", probability=0.5)], seed=seed)
    return [engine.for_request("GET", "/x").action is not None for _ in range(200)]


def test_probabilities_are_repeatable_with_a_seed() -> None:
    assert pattern(7) == pattern(7)
    assert pattern(7) != pattern(8)
    assert 60 < sum(pattern(7)) < 140


def test_fault_matching_times_and_latency() -> None:
    engine = FaultEngine(
        [
            Fault(kind="latency", seconds=0.2, path="/voip/*"),
            Fault(kind="latency", seconds=0.3, method="GET"),
            Fault(kind="drop_after", method="post", path="/voip/flow", times=2),
            Fault(kind="error", status=503, path="/voip/flow"),
        ]
    )
    get = engine.for_request("GET", "/voip/flow")
    assert get.latency == pytest.approx(0.5) and get.action is not None
    assert get.action.kind == "error"  # the POST-only fault did not match
    kinds = [engine.for_request("POST", "/voip/flow").action for _ in range(3)]
    assert [k.kind if k else None for k in kinds] == ["drop_after", "drop_after", "error"]
    assert engine.for_request("POST", "/_rest/v4/app/sms/send").action is None
    assert [f["kind"] for f in engine.views()] == ["latency", "latency", "error"]  # spent: gone


def test_delivery_faults_do_not_touch_requests() -> None:
    engine = FaultEngine([Fault(kind="duplicate", times=1)])
    assert engine.for_request("POST", "/x").action is None
    assert [f.kind for f in engine.for_delivery()] == ["duplicate"]
    assert engine.for_delivery() == []


@pytest.mark.anyio
async def test_faults_over_the_control_api() -> None:
    async with Sandbox(SandboxConfig(clock_rate=0)) as sb, sb.client() as http:
        single = await http.post("/_sandbox/faults", json={"kind": "drop_before", "times": 1})
        listed = await http.post(
            "/_sandbox/faults", json={"faults": [{"kind": "latency"}, {"kind": "rate_limit"}]}
        )
        bad = await http.post("/_sandbox/faults", json={"kind": "latency", "probability": 2})
        partly_bad = await http.post(
            "/_sandbox/faults", json=[{"kind": "drop_after"}, {"kind": "drop_after", "times": 0}]
        )
        not_json = await http.post("/_sandbox/faults", content=b"nope")
        ids = [f["id"] for f in (await http.get("/_sandbox/faults")).json()]
        removed = await http.delete(f"/_sandbox/faults/{ids[0]}")
        gone = await http.delete(f"/_sandbox/faults/{ids[0]}")
        cleared = await http.delete("/_sandbox/faults")
    assert single.status_code == 200 and single.json()[0]["kind"] == "drop_before"
    assert [f["kind"] for f in listed.json()] == ["latency", "rate_limit"]
    assert bad.status_code == 400 and "probability" in bad.json()["error"]
    assert partly_bad.status_code == 400  # and the valid first item was not added either:
    assert partly_bad.json()["error"].startswith("invalid fault 2: times")
    assert len(ids) == 3
    assert not_json.status_code == 400
    assert [f["id"] for f in removed.json()] == ids[1:]
    assert gone.status_code == 404
    assert cleared.json() == []


@pytest.mark.anyio
async def test_clock_over_the_control_api() -> None:
    config = SandboxConfig(clock_rate=0, clock_start=1_700_000_000)
    async with Sandbox(config) as sb, sb.client() as http:
        moved = await http.post("/_sandbox/clock", json={"advance": 90})
        wrong = await http.post("/_sandbox/clock", json={"advance": "soon"})
        negative = await http.post("/_sandbox/clock", json={"advance": -5})
    assert moved.json()["now"] == 1_700_000_090
    assert moved.json()["now_iso"] == "2023-11-14T22:14:50.000+00:00"
    assert wrong.status_code == 400 and negative.status_code == 400


@pytest.mark.anyio
async def test_the_app_never_answers_with_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    sb = Sandbox()

    def broken() -> dict[str, object]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(sb.world, "snapshot", broken)
    async with sb.client() as http:
        answer = await http.get("/_sandbox/state")
    assert answer.status_code == 500
    assert answer.json() == {"code": 500, "error": "sandbox internal error"}
    assert "secret" not in answer.text and isinstance(answer, httpx.Response)
