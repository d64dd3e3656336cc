"""What the report formats show alike, whatever their markup: a stage's mark, and evidence beyond its core fields.

One definition, so the HTML and the Markdown report cannot disagree on which mark a stage state gets
or on how an evidence item's extra fields read; each format only escapes the result its own way.
"""

from __future__ import annotations

import json
from typing import Any

STATE_MARK = {"ok": "✓", "failed": "✗", "missing": "–", "unknown": "?"}
EVIDENCE_CORE = ("kind", "label", "url", "time")  # shown as the item itself; every other field is listed


def extra_text(value: Any) -> str:
    """An evidence item's extra field as text: strings as they are, anything else as sorted JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
