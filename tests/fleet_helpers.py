"""Shared by the fleet tests: normalizing findings so two runs of one world compare equal."""
from __future__ import annotations

import re
from typing import Any

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_SESSION = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._-]+")


def normalized(value: Any) -> Any:
    """Findings without what differs between two runs of the same world: times, durations."""
    if isinstance(value, dict):
        return {k: normalized(v) for k, v in value.items() if k not in ("started_at", "finished_at", "duration_ms")}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    if isinstance(value, str):
        return _SESSION.sub("<session>", _ISO.sub("<time>", value))
    return value


def outputs_shape(nb: Any) -> list[tuple[str, list[tuple[str, tuple[str, ...]]]]]:
    """Per cell: its type and its outputs' types and mime types (what a report is made of)."""
    shape = []
    for cell in nb["cells"]:
        outs = [(o["output_type"], tuple(sorted(o.get("data", {})))) for o in cell.get("outputs", [])]
        shape.append((cell["cell_type"], outs))
    return shape
