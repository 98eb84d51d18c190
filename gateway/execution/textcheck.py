"""What text a department may be sent, one value at a time: the character rules and length
limit of edge input (textinput.py applies them to documents and variables), and where in
a JSON body an unpaired surrogate sits."""

from __future__ import annotations

import json
import re
from collections import deque
from typing import Any

__all__ = ["text_problem", "unpaired_surrogate"]

# Control characters but tab and newline, and every surrogate code point. A Python str
# holds a valid pair as one code point, so any surrogate found is an unpaired one.
_REFUSED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str, limit: int) -> tuple[str, dict[str, int]] | None:
    """What is wrong with `value` as text of at most `limit` characters, with the
    extensions that go with it; None when nothing is."""
    if len(value) > limit:
        return (
            f"is {len(value)} characters long; at most {limit} are allowed",
            {"max": limit, "actual": len(value)},
        )
    found = _REFUSED.search(value)
    if found is None:
        return None
    point, at = ord(found.group()), found.start() + 1
    if 0xD800 <= point <= 0xDFFF:
        return (
            f"contains an unpaired surrogate (U+{point:04X}) at character {at}, which is not Unicode text",
            {},
        )
    return (
        f"contains a control character (U+{point:04X}) at character {at}; only tab and newline are allowed",
        {},
    )


def unpaired_surrogate(text: bytes | str, root: str = "") -> tuple[str, int] | None:
    """Where the first unpaired surrogate of a JSON text is, in words (its path below
    `root`: "`variables.ids[2]`"), and its code point; None when it holds none or is not
    JSON at all. orjson refuses such a text outright; the standard library decodes it, so
    the refusal can say where."""
    try:
        queue: deque[tuple[str, Any]] = deque([(root, json.loads(text))])
    except (ValueError, RecursionError):
        return None
    while queue:
        path, item = queue.popleft()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found is not None:
                return (f"`{path}`" if path else "the body"), ord(found.group())
        elif isinstance(item, list):
            queue.extend((f"{path}[{i}]", v) for i, v in enumerate(item))
        elif isinstance(item, dict):
            for key, value in item.items():
                found = _SURROGATE.search(key)
                if found is not None:
                    return (f"a key in `{path}`" if path else "a key of the body"), ord(found.group())
                queue.append((f"{path}.{key}" if path else key, value))
    return None
