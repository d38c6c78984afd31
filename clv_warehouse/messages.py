"""One-line messages from text the commands do not control (build logs, DuckDB errors)."""

from __future__ import annotations

MESSAGE_LIMIT = 500


def one_line(text: str) -> str:
    """The text with its line breaks and runs of blanks folded into single spaces."""
    return " ".join(str(text).split())


def clip(text: str, see: str, limit: int = MESSAGE_LIMIT) -> str:
    """At most ``limit`` characters of ``text`` on one line, then how much was left out
    and where the rest is (``see``: a log file, a table)."""
    text = one_line(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters; see {see})"
