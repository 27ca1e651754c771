"""Text that XML 1.0 can carry: container logs and messages may hold any character."""

from __future__ import annotations

import re

# Control characters, lone surrogates and the two non-characters XML 1.0 forbids.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` with every character XML cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)
