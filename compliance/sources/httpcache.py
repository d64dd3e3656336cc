"""An on-disk ETag cache for conditional GET requests.

A repeated audit asks GitHub for the same pages again; with ``If-None-Match`` an unchanged page
comes back as ``304 Not Modified``, which does not count against the rate limit. The cache keeps
only what is needed to answer from disk: the validator, the body and the ``Link`` header (a page
answered 304 still has to say where the next page is). Request headers are never stored, so a
token cannot end up on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.base.fsutil import atomic_write_text
from compliance.model.strict_json import finite_loads


@dataclass(frozen=True)
class Entry:
    etag: str
    body: Any
    link: str | None = None


class ETagCache:
    """One JSON file per URL, named by a hash so query strings never become file names."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode("utf-8")).hexdigest() + ".json")

    def get(self, key: str) -> Entry | None:
        try:
            doc = finite_loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # missing or torn by an older crash: a miss costs one full request, nothing more
        if not isinstance(doc, dict) or doc.get("key") != key or not isinstance(doc.get("etag"), str):
            return None
        return Entry(doc["etag"], doc.get("body"), doc.get("link"))

    def put(self, key: str, entry: Entry) -> None:
        # private repositories' run data lands here, so the folder is the user's alone
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        doc = {"key": key, "etag": entry.etag, "link": entry.link, "body": entry.body}
        atomic_write_text(self._path(key), json.dumps(doc, separators=(",", ":"), sort_keys=True))
