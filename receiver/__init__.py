"""Inbound-SMS webhook receiver (ASGI)."""
