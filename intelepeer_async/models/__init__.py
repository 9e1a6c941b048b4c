"""Pydantic models, one module per API family.

Models are lenient about what the server sends (unknown fields kept, unknown
enum values mapped to a catch-all) and strict about what we send.
"""
