"""Reporters: one report document in, Markdown / HTML / JSON / SARIF / JUnit XML text out.

Every format is rendered and staged into a new set (compliance.base.fsutil) that is published whole,
so a renderer bug, a full disk or a killed run never leaves a half-updated set where the Markdown
says one thing, the JSON another and the snapshot a third. One format is in memory at a time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from compliance.base.fsutil import StagedSet, staged_set
from compliance.report import html, json_report, junit, markdown, sarif

RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "md": markdown.render,
    "html": html.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
}
EXTENSIONS = {"junit": "junit.xml"}  # CI tools look for *.xml
SNAPSHOT_NAME = "snapshot.json"
WAIVERS_NAME = "waivers.yaml"  # saved beside the snapshot, so re-evaluation applies the same exceptions
# formats that can be written a piece at a time: (the renderer, the same text in pieces); used only
# while RENDERERS still holds that renderer
STREAMERS: dict[str, tuple[Callable[[dict[str, Any]], str], Callable[[dict[str, Any]], Iterable[str]]]] = {
    "json": (json_report.render, json_report.stream),
    "html": (html.render, html.stream),
}


__all__ = ["RENDERERS", "render_all", "write_masked", "write_reports", "write_set"]


def render_all(doc: dict[str, Any], formats: Iterable[str]) -> dict[str, str]:
    """Render the requested formats; unknown names are rejected before any work is done.

    Known secret values are masked in the document first, once for every format: a token pasted
    into a worklog or echoed in an error body must not travel on in a report.
    """
    from compliance.base.redact import redact_data

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
    """Write ``<basename>.<fmt>`` files as one set (see compliance.base.fsutil): readers only ever see the
    complete old or the complete new reports.

    Every format is staged and fsynced before the set is published: a renderer exception or a full
    disk leaves the existing reports exactly as they were. Each format is rendered, staged and
    dropped before the next, so only one is ever held in memory.
    """
    return write_masked(doc, out_dir, formats, basename)[1]


def write_set(
    doc: dict[str, Any],
    out_dir: str | os.PathLike[str],
    formats: Iterable[str] = ("md", "html", "json"),
    *,
    snapshot_text: str | None = None,
    waivers: str | os.PathLike[str] | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The reports, the snapshot they came from and the waivers applied, published as one unit.

    ``snapshot_text`` is the snapshot as it is saved (``snapshot.snapshot_text``). A ``waivers`` file that is itself the plain ``waivers.yaml`` of the folder (an
    older version's copy, or the user's own file) is left where it is rather than replaced by a link.
    Every mode that writes reports comes through here, so every folder holds one run's files.
    """
    out = Path(out_dir)
    wanted = _known(formats)
    names = [_name("report", f) for f in wanted] + [SNAPSHOT_NAME, WAIVERS_NAME]
    keep_waivers = bool(waivers) and _plain_file_in(Path(waivers), out / WAIVERS_NAME)
    with staged_set(out, names) as staged:
        doc, written = _write_formats(doc, staged, wanted, "report")
        if snapshot_text is not None:
            written["snapshot"] = _public(staged, staged.write(SNAPSHOT_NAME, snapshot_text))
        if waivers and not keep_waivers:
            written["waivers"] = _public(staged, staged.copy(WAIVERS_NAME, Path(waivers)))
        staged.retire = [n for n in _retired("report") if not (keep_waivers and n == WAIVERS_NAME)]
    return doc, written


def write_masked(
    doc: dict[str, Any],
    out_dir: str | os.PathLike[str],
    formats: Iterable[str] = ("md", "html", "json"),
    basename: str = "report",
    staged: StagedSet | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """``write_reports``, also returning the document as masked for the reports (to print or post).

    With ``staged`` the reports join a set the caller publishes (merge writes two views into one).
    """
    wanted = _known(formats)
    if staged is not None:
        return _write_formats(doc, staged, wanted, basename)
    with staged_set(Path(out_dir), [_name(basename, f) for f in wanted]) as own:
        result = _write_formats(doc, own, wanted, basename)
        own.retire = _retired(basename)
    return result


def _write_formats(doc: dict[str, Any], staged: StagedSet, wanted: list[str], basename: str
                   ) -> tuple[dict[str, Any], dict[str, Path]]:
    """Stage every format into the set.

    Known secret values and token shapes are masked in the document once, for every format. When
    report.json is among the formats, its text is watched for them as it is written (``TextScan``)
    instead of encoding the document a second time just to look; only a hit costs the full walk
    and a rewrite.
    """
    from compliance.base.redact import Masked, TextScan, mask_walk, redact_data

    written: dict[str, Path] = {}
    if not isinstance(doc, Masked) and "json" in wanted and RENDERERS["json"] is json_report.render:
        scan = TextScan()
        path = staged.write(_name(basename, "json"), scan.watch(json_report.stream(doc)))
        if scan.dirty:
            staged.drop(path.name)
            doc = mask_walk(doc)
        else:
            written["json"] = _public(staged, path)
            doc = Masked(doc)
    doc = redact_data(doc)  # a no-op for a document already masked (by the CLI, or just above)
    for fmt in wanted:
        if fmt in written:
            continue
        render, pieces = STREAMERS.get(fmt, (None, None))
        text = pieces(doc) if pieces and RENDERERS[fmt] is render else RENDERERS[fmt](doc)
        written[fmt] = _public(staged, staged.write(_name(basename, fmt), text))
    return doc, {fmt: written[fmt] for fmt in wanted}


def _public(staged: StagedSet, path: Path) -> Path:
    """Where a staged file will be read once the set is published."""
    return staged.out / path.name


def _retired(basename: str) -> list[str]:
    """Plain files of these names in the folder belong to an older set and go when this one is published."""
    return [*(_name(basename, f) for f in RENDERERS), SNAPSHOT_NAME, WAIVERS_NAME]


def _plain_file_in(path: Path, kept: Path) -> bool:
    """Is ``path`` the folder's own ``waivers.yaml`` as a plain file (not a link into a set)?"""
    try:
        return not kept.is_symlink() and kept.is_file() and path.resolve() == kept.resolve()
    except OSError:
        return False


def _name(basename: str, fmt: str) -> str:
    return f"{basename}.{EXTENSIONS.get(fmt, fmt)}"


