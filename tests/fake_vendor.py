"""respx routes that answer like the vendors' documented examples, on their real hosts.

Used to run the README snippets and examples/ without network or account:
every request they make is answered here (and an unexpected one fails).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import respx

from .helpers import fixture_text, make_jwt

API = "https://api.intelepeer.com"
AUTH = "https://customer.intelepeer.com"
SMARTCOMM = "https://atmosphere-api.intelepeer.com"
LEGACY = "https://smart-flows.intelepeer.com"
YAY = "https://api.yay.com"

ENV = {
    "INTELEPEER_USERNAME": "me@example.com",
    "INTELEPEER_PASSWORD": "not-a-real-password",
    "INTELEPEER_CUSTOMER_ID": "12345678",
    "YAY_RESELLER": "reseller-1",
    "YAY_USER": "user-1",
    "YAY_PASSWORD": "not-a-real-password",
}


def webhook_answer(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Status and body of the seed's webhook set: 201 for one number, 207 for several."""
    numbers, hook = body["endpoints"], body["webhook"]
    if len(numbers) == 1:
        return 201, {
            "code": 201,
            "tnkey": numbers[0],
            "webhook": hook,
            "provisioning": {"state": "provisioned"},
        }
    return 207, {
        "code": 207,
        "endpoints": [
            {
                "status": 201,
                "endpoint": n,
                "response": {"tnkey": n, "webhook": hook, "provisioning": {"state": "provisioned"}},
            }
            for n in numbers
        ],
    }


def _webhook(request: httpx.Request) -> httpx.Response:
    status, body = webhook_answer(json.loads(request.content))
    return httpx.Response(status, json=body)


def _seed(status: int, name: str) -> httpx.Response:
    return httpx.Response(status, content=fixture_text(name).encode())


def install(router: respx.MockRouter) -> None:
    """Answer every endpoint the SDK wraps, as the seeds document."""
    router.post(f"{AUTH}/_rest/v4/authenticate").respond(200, json={"token": "v4-token"})
    router.post(f"{SMARTCOMM}/rest/v1/authenticate").respond(
        200, text=make_jwt({"crt": 1711986489, "exp": 1712072890})
    )
    router.post(f"{API}/_rest/v4/app/sms/send").respond(
        202, json={"refid": "ABCDEF1234567890ABCDEF1234567890"}
    )
    router.get(f"{API}/_rest/v4/app/sms/mdr").respond(
        200, json={"code": 200, "RCC_en": "DLR:Delivered", "RCC": 0}
    )
    router.post(f"{API}/_rest/v4/my/did/sms/provision").respond(
        202, json={"code": 202, "provisioning": {"state": "requested"}}
    )
    router.post(f"{API}/_rest/v4/my/did/sms/webhook").mock(side_effect=_webhook)
    router.get(f"{API}/_rest/v4/my/did/sms/webhook").mock(
        return_value=_seed(200, "webhook_get_200.json")
    )
    router.post(f"{API}/_rest/v4/sfgen/apitriggers").respond(202, json=True)
    router.post(f"{LEGACY}/v2/api/apitriggers").respond(202, json=True)
    agents = f"{SMARTCOMM}/rest/v1/smartcomm/12345678/agents"
    router.get(agents).mock(return_value=_seed(200, "agents_list_200.json"))
    router.post(agents).respond(
        200, json={"data": {"message": "Onboarded Successfully"}, "error": None}
    )
    router.get(url__startswith=f"{agents}/").mock(return_value=_seed(200, "agent_get_200.json"))
    router.patch(url__startswith=f"{agents}/").mock(
        return_value=_seed(200, "agent_update_200.json")
    )
    router.delete(url__startswith=f"{agents}/").mock(
        return_value=_seed(200, "agent_offboard_200.json")
    )
    router.get(f"{YAY}/voip/flow").mock(return_value=_seed(200, "callflow_list_200.json"))
    router.post(f"{YAY}/voip/flow").mock(return_value=_seed(201, "callflow_create_201.json"))
    router.get(url__startswith=f"{YAY}/voip/flow/").mock(
        return_value=_seed(200, "callflow_get_200.json")
    )
    router.put(url__startswith=f"{YAY}/voip/flow/").mock(
        return_value=_seed(200, "callflow_update_200.json")
    )
    router.delete(url__startswith=f"{YAY}/voip/flow/").mock(
        return_value=_seed(200, "callflow_delete_204.json")
    )
    router.get(f"{YAY}/voip/next-extension/flow").respond(
        200, json={"result": 502, "status_code": 200, "status_message": "OK"}
    )
