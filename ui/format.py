"""Pure formatting helpers shared by the terminal and the web chat (no gradio import here)."""

from __future__ import annotations

import datetime as _dt


def human_date(iso: str | None) -> str:
    """"2023-09-28" -> "28 September 2023"; anything unparsable is returned as it is."""
    if not iso:
        return ""
    try:
        d = _dt.date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.day} {d.strftime('%B')} {d.year}"
