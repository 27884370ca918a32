"""The hash of a content text (pure): what decides whether content changed and gets a new version."""

from __future__ import annotations

import hashlib


def text_hash(*parts: str) -> str:
    """SHA-256 of the text (several parts are joined with a unit separator), as hex."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
