"""Typed async client for the IntelePeer and Yay.com APIs.

    from intelepeer_async import AsyncIntelePeer

    async with AsyncIntelePeer(token="...") as ip:
        await ip.sms.send(from_="+13035550100", to="+13035550111", text="hi")

The public names below are loaded on first use, so ``import intelepeer_async``
stays cheap for scripts and CLIs that need only part of it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .callflow import CallFlowBuilder, FlowReport
    from .client import AsyncIntelePeer, AsyncYay, ServiceURLs
    from .errors import (
        APIConnectionError,
        APIResponseValidationError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        IntelePeerError,
        InternalServerError,
        InvalidInputError,
        LoginConnectionError,
        LoginError,
        LoginRefusedError,
        LoginTimeoutError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        UnexpectedRedirectError,
        UnprocessableEntityError,
    )
    from .models.agents import Agent, AgentStatus, OffboardResult, OnboardResult
    from .models.callflows import CallFlow, CallFlowModule
    from .models.inbound import InboundSms
    from .models.smartflows import TriggerResult
    from .models.sms import (
        Media,
        MessageState,
        MessageStatus,
        ProvisioningResult,
        ProvisioningState,
        SendResult,
        WebhookConfig,
        WebhookResult,
    )
    from .resources.smartflows import FlowToken
    from .types import Secret, Timeout

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "InboundSms": "models.inbound",
    "CallFlow": "models.callflows",
    "CallFlowModule": "models.callflows",
    "CallFlowBuilder": "callflow",
    "FlowReport": "callflow",
    "Media": "models.sms",
    "SendResult": "models.sms",
    "MessageStatus": "models.sms",
    "MessageState": "models.sms",
    "ProvisioningResult": "models.sms",
    "ProvisioningState": "models.sms",
    "WebhookConfig": "models.sms",
    "WebhookResult": "models.sms",
    "TriggerResult": "models.smartflows",
    "FlowToken": "resources.smartflows",
    "Agent": "models.agents",
    "AgentStatus": "models.agents",
    "OnboardResult": "models.agents",
    "OffboardResult": "models.agents",
    "AsyncIntelePeer": "client",
    "AsyncYay": "client",
    "ServiceURLs": "client",
    "Secret": "types",
    "Timeout": "types",
    "APIConnectionError": "errors",
    "APIResponseValidationError": "errors",
    "APIStatusError": "errors",
    "APITimeoutError": "errors",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "ConflictError": "errors",
    "IntelePeerError": "errors",
    "InternalServerError": "errors",
    "InvalidInputError": "errors",
    "LoginConnectionError": "errors",
    "LoginError": "errors",
    "LoginRefusedError": "errors",
    "LoginTimeoutError": "errors",
    "NotFoundError": "errors",
    "PermissionDeniedError": "errors",
    "RateLimitError": "errors",
    "UnexpectedRedirectError": "errors",
    "UnprocessableEntityError": "errors",
}

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "Agent",
    "AgentStatus",
    "AsyncIntelePeer",
    "AsyncYay",
    "AuthenticationError",
    "BadRequestError",
    "CallFlow",
    "CallFlowBuilder",
    "CallFlowModule",
    "ConflictError",
    "FlowReport",
    "FlowToken",
    "InboundSms",
    "IntelePeerError",
    "InternalServerError",
    "InvalidInputError",
    "LoginConnectionError",
    "LoginError",
    "LoginRefusedError",
    "LoginTimeoutError",
    "Media",
    "MessageState",
    "MessageStatus",
    "NotFoundError",
    "OffboardResult",
    "OnboardResult",
    "PermissionDeniedError",
    "ProvisioningResult",
    "ProvisioningState",
    "RateLimitError",
    "Secret",
    "SendResult",
    "ServiceURLs",
    "Timeout",
    "TriggerResult",
    "UnexpectedRedirectError",
    "UnprocessableEntityError",
    "WebhookConfig",
    "WebhookResult",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'intelepeer_async' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
