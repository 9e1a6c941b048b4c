"""Yay.com call flows (``yay.callflows``); the ``{"result": ...}`` envelope is unwrapped.

Errors inside the envelope (``status_code`` 404 under HTTP 200) are mapped by
the core, like HTTP statuses. What is read here is read leniently: one odd
flow never fails `list()`, and a billed create never loses what it created.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import ValidationError

from .._http import Response
from ..errors import InvalidInputError
from ..models.callflows import CallFlow
from ..types import Timeout, validate_text

if TYPE_CHECKING:
    from ..client import AsyncYay

__all__ = ["CallFlows"]

logger = logging.getLogger("intelepeer_async")


def _result(response: Response) -> Any:
    """The envelope's ``result``; an answer that is no envelope at all cannot be read."""
    body = response.data
    if isinstance(body, Mapping) and "result" in body:
        return body["result"]
    raise response.unreadable("the answer is not a Yay.com envelope ({'result': ...})")


def _problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]


def _checked_flow(value: CallFlow | Mapping[str, Any]) -> CallFlow:
    """A `CallFlow` from a model or the seed's JSON shape, its graph checked before sending."""
    if isinstance(value, CallFlow):
        flow = value
    elif not isinstance(value, Mapping):
        raise InvalidInputError("flow must be a CallFlow or a dict in Yay.com's JSON shape")
    else:
        problems = None
        try:
            flow = CallFlow.model_validate(value)
        except ValidationError as exc:
            problems = _problems(exc)
        if problems is not None:
            raise InvalidInputError("invalid call flow: " + "; ".join(problems), problems)
    flow.validate().raise_for_errors()
    return flow


def _read_flow(result: object, raw: object) -> CallFlow | None:
    """The flow in `result`, keeping `raw` (what it was read from); None if unreadable."""
    if not isinstance(result, Mapping) or not result:
        return None
    try:
        flow = CallFlow.model_validate(result)
    except ValidationError:
        return None
    flow._raw = raw
    return flow


def _written_flow(sent: CallFlow, response: Response, uuid: str | None, what: str) -> CallFlow:
    """After a billed 2xx: the flow as the server answered it, else as sent (with
    the uuid the server gave, and its answer as `raw`); never lost.

    An answer is the flow only if it carries the flow's modules (``flow``): a
    ``{"uuid": ...}`` alone would read as a flow with no name and no modules.
    """
    result = response.data.get("result") if isinstance(response.data, Mapping) else None
    has_modules = isinstance(result, Mapping) and "flow" in result
    flow = _read_flow(result, response.data) if has_modules else None
    if flow is not None and (flow.uuid or uuid):
        return flow if flow.uuid else flow.model_copy(update={"uuid": uuid})
    answered = result.get("uuid") if isinstance(result, Mapping) else None
    uuid = answered if isinstance(answered, str) and answered else uuid
    if uuid is None:
        raise response.unreadable(
            f"the call flow was {what} (HTTP {response.status_code}), but the answer does not"
            " say its uuid: look for it with list() before doing this again"
        )
    logger.warning("callflows: the answer for a flow %s cannot be read; returned as sent", what)
    flow = sent.model_copy(update={"uuid": uuid})
    flow._raw = response.data
    return flow


def _path_uuid(uuid: str) -> str:
    return quote(validate_text(uuid, "uuid"), safe="")


class CallFlows:
    """List, read, create, replace and delete call flows. Every call is billed.

    Every method takes `extra_headers=` (sent as given) and `timeout=` (this
    call's budget, instead of the client's).
    """

    def __init__(self, client: AsyncYay) -> None:
        self._client = client

    async def list(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> builtins.list[CallFlow]:
        """Every active call flow on the account.

        A flow that cannot be read is skipped and logged at WARNING (with its
        uuid, if it has one); an answer that is not a list of flows, or whose
        every flow is unreadable, raises `APIResponseValidationError`.
        """
        response = await self._client._yay(
            "GET", "/voip/flow", extra_headers=extra_headers, timeout=timeout
        )
        result = _result(response)
        if result == {}:
            return []  # PHP's empty array, serialised as an object
        if not isinstance(result, builtins.list):
            raise response.unreadable("the call-flow list is not a JSON list")
        flows: builtins.list[CallFlow] = []
        for index, item in enumerate(result):
            flow = _read_flow(item, item)
            if flow is None:
                uuid = item.get("uuid") if isinstance(item, Mapping) else None
                logger.warning(
                    "callflows.list: flow %s cannot be read; skipped",
                    uuid if isinstance(uuid, str) else f"#{index}",
                )
            else:
                flows.append(flow)
        if result and not flows:
            raise response.unreadable("no flow in the call-flow list can be read")
        return flows

    async def get(
        self,
        uuid: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> CallFlow:
        """One call flow; `NotFoundError` if it does not exist."""
        response = await self._client._yay(
            "GET",
            f"/voip/flow/{_path_uuid(uuid)}",
            extra_headers=extra_headers,
            timeout=timeout,
        )
        flow = _read_flow(_result(response), response.data)
        if flow is None:
            raise response.unreadable("the answer holds no readable call flow")
        return flow

    async def create(
        self,
        flow: CallFlow | Mapping[str, Any],
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> CallFlow:
        """Create a flow after checking its graph; never resent once it may have arrived.

        After the server says it created the flow, this never raises while the
        new flow's uuid can be found: an answer whose flow cannot be read gives
        the flow as sent, with that uuid and the answer in `raw`. Only an answer
        without a uuid raises `APIResponseValidationError` (``succeeded`` True).
        """
        checked = _checked_flow(flow)
        response = await self._client._yay(
            "POST",
            "/voip/flow",
            json_body=checked.to_wire(),
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return _written_flow(checked, response, None, "created")

    async def update(
        self,
        uuid: str,
        flow: CallFlow | Mapping[str, Any],
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> CallFlow:
        """Replace a flow (PUT: fields left out reset to their defaults).

        An answer whose flow cannot be read gives the flow as sent (with
        `uuid`, the answer in `raw`).
        """
        path = f"/voip/flow/{_path_uuid(uuid)}"
        checked = _checked_flow(flow)
        response = await self._client._yay(
            "PUT",
            path,
            json_body=checked.to_wire(),
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return _written_flow(checked, response, uuid, "updated")

    async def delete(
        self,
        uuid: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> None:
        """Delete a flow (204); `NotFoundError` if it was already gone.

        A DELETE is retried after a timeout or a 5xx; if a retry then gets 404
        after an earlier attempt may have deleted the flow, it counts as
        deleted and nothing is raised.
        """
        await self._client._yay(
            "DELETE",
            f"/voip/flow/{_path_uuid(uuid)}",
            extra_headers=extra_headers,
            timeout=timeout,
        )

    async def next_extension(
        self,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> int | None:
        """The next free call-flow extension, or None if the answer does not say.

        The seed's example ``result`` is an empty object, so the shape is unknown:
        a number, a numeric string, or an object with ``extension`` or
        ``next_extension`` are understood.
        """
        response = await self._client._yay(
            "GET", "/voip/next-extension/flow", extra_headers=extra_headers, timeout=timeout
        )
        return _extension_of(_result(response))


def _extension_of(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, Mapping):
        for key in ("extension", "next_extension", "nextExtension"):
            if key in value:
                return _extension_of(value[key])
    return None
