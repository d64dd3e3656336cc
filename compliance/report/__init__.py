"""Reporters: one report document in, Markdown / HTML / JSON / SARIF / JUnit XML text out.

Every format is rendered and staged in a temp file before any report is replaced, so a renderer
bug never leaves a half-updated set of reports where the Markdown says one thing and the JSON
another. One format is in memory at a time.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from compliance.report import html, json_report, junit, markdown, sarif

RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "md": markdown.render,
    "html": html.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
}
EXTENSIONS = {"junit": "junit.xml"}  # CI tools look for *.xml
# formats that can be written a piece at a time: (the renderer, the same text in pieces); used only
# while RENDERERS still holds that renderer
STREAMERS: dict[str, tuple[Callable[[dict[str, Any]], str], Callable[[dict[str, Any]], Iterable[str]]]] = {
    "json": (json_report.render, json_report.stream),
    "html": (html.render, html.stream),
}


__all__ = ["RENDERERS", "render_all", "write_masked", "write_reports"]


def render_all(doc: dict[str, Any], formats: Iterable[str]) -> dict[str, str]:
    """Render the requested formats; unknown names are rejected before any work is done.

    Known secret values are masked in the document first, once for every format: a token pasted
    into a worklog or echoed in an error body must not travel on in a report.
    """
    from compliance.redact import redact_data

    wanted = _known(formats)
    doc = redact_data(doc)
    return {fmt: RENDERERS[fmt](doc) for fmt in wanted}


def _known(formats: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in RENDERERS]
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(unknown)}; known: {', '.join(RENDERERS)}")
    return wanted


def write_reports(
    doc: dict[str, Any],
    out_dir: str | os.PathLike[str],
    formats: Iterable[str] = ("md", "html", "json"),
    basename: str = "report",
) -> dict[str, Path]:
    """Write ``<basename>.<fmt>`` files so readers only ever see complete old or complete new reports.

    All temp files are written and fsynced before the first ``os.replace``: a renderer
    exception or a full disk leaves the existing reports exactly as they were. Each format is
    rendered, staged and dropped before the next, so only one is ever held in memory.
    """
    return write_masked(doc, out_dir, formats, basename)[1]


def write_masked(
    doc: dict[str, Any],
    out_dir: str | os.PathLike[str],
    formats: Iterable[str] = ("md", "html", "json"),
    basename: str = "report",
) -> tuple[dict[str, Any], dict[str, Path]]:
    """``write_reports``, also returning the document as masked for the reports (to print or post).

    Known secret values and token shapes are masked in the document once, for every format. When
    report.json is among the formats, its text is watched for them as it is written (``TextScan``)
    instead of encoding the document a second time just to look; only a hit costs the full walk
    and a rewrite.
    """
    from compliance.redact import Masked, TextScan, mask_walk, redact_data

    wanted = _known(formats)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staged: dict[str, Path] = {}
    try:
        if not isinstance(doc, Masked) and "json" in wanted and RENDERERS["json"] is json_report.render:
            scan = TextScan()
            tmp = _stage(out, _name(basename, "json"), scan.watch(json_report.stream(doc)))
            if scan.dirty:
                tmp.unlink()
                doc = mask_walk(doc)
            else:
                staged["json"] = tmp
                doc = Masked(doc)
        doc = redact_data(doc)  # a no-op for a document already masked (by the CLI, or just above)
        for fmt in wanted:
            if fmt in staged:
                continue
            render, pieces = STREAMERS.get(fmt, (None, None))
            text = pieces(doc) if pieces and RENDERERS[fmt] is render else RENDERERS[fmt](doc)
            staged[fmt] = _stage(out, _name(basename, fmt), text)
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise
    written: dict[str, Path] = {}
    try:
        for fmt in wanted:
            final = out / _name(basename, fmt)
            os.replace(staged[fmt], final)
            written[fmt] = final
    finally:
        # a rename that failed (or an interrupt) must not leave the rest staged as .tmp litter;
        # each report is then either the whole old file or the whole new one
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    _fsync_dir(out)
    return doc, written


def _name(basename: str, fmt: str) -> str:
    return f"{basename}.{EXTENSIONS.get(fmt, fmt)}"


def _stage(out: Path, name: str, text: str | Iterable[str]) -> Path:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            if isinstance(text, str):
                fh.write(text)
            else:
                fh.writelines(text)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600; reports are meant to be shared (CI artifacts, web hosting).
        os.chmod(tmp, 0o644)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _fsync_dir(path: Path) -> None:
    """Persist the renames themselves; not every platform can open a directory, which is fine."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
