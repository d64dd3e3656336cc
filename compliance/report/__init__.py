"""Reporters: one report document in, Markdown / HTML / JSON / SARIF / JUnit XML text out.

Every format is rendered and staged into a new set (compliance.base.fsutil) that is published whole,
so a renderer bug, a full disk or a killed run never leaves a half-updated set where the Markdown
says one thing, the JSON another and the snapshot a third. One format is in memory at a time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from compliance.base import progress
from compliance.base.errors import ComplianceError
from compliance.base.fsutil import StagedSet, staged_set
from compliance.base.redact_doc import redact_data
from compliance.model.snapshot import file_digest, snapshot_chunks
from compliance.report import html, json_report, junit, markdown, sarif
from compliance.report.timeline_view import one_reading

Doc = dict[str, Any]


@dataclass(frozen=True)
class Format:
    """One report format: the file it is written to and its text (one small interface per format
    and one registry, as Conftest's ``output/output.go``).

    ``stream`` gives the text a piece at a time, so a 200 MB report.json or a 40 MB page is written
    without ever being held whole; a format whose text is small (Markdown is capped to a PR comment,
    SARIF and JUnit hold only what needs attention) gives it as one piece."""

    suffix: str  # the file is ``<basename>.<suffix>``
    stream: Callable[[Doc], Iterable[str]]

    def render(self, doc: Doc) -> str:
        """The whole text, for printing, posting or comparing."""
        return "".join(self.stream(doc))


def _whole(render: Callable[[Doc], str]) -> Callable[[Doc], Iterable[str]]:
    """``stream`` for a format rendered in one piece."""
    return lambda doc: (render(doc),)


FORMATS: dict[str, Format] = {
    "md": Format("md", _whole(markdown.render)),
    "html": Format("html", html.stream),
    "json": Format("json", json_report.stream),
    "sarif": Format("sarif", _whole(sarif.render)),
    "junit": Format("junit.xml", _whole(junit.render)),  # CI tools look for *.xml
}
SNAPSHOT_NAME = "snapshot.json"
WAIVERS_NAME = "waivers.yaml"  # saved beside the snapshot, so re-evaluation applies the same exceptions
PREVIOUS_FOLDER = "previous"  # the demo's baseline set, a folder member of the set whose reports diff against it


__all__ = ["FORMATS", "Format", "render_all", "write_masked", "write_reports", "write_set"]


def render_all(doc: dict[str, Any], formats: Iterable[str]) -> dict[str, str]:
    """Render the requested formats; unknown names are rejected before any work is done.

    Known secret values are masked in the document first, once for every format: a token pasted
    into a worklog or echoed in an error body must not travel on in a report.
    """
    wanted = _known(formats)
    doc = redact_data(doc)
    with one_reading():
        return {fmt: FORMATS[fmt].render(doc) for fmt in wanted}


def _known(formats: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(formats))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(unknown)}; known: {', '.join(FORMATS)}")
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
    doc: dict[str, Any] | Callable[[str], dict[str, Any]],
    out_dir: str | os.PathLike[str],
    formats: Iterable[str] = ("md", "html", "json"),
    *,
    snapshot_text: str | None = None,
    snapshot_doc: dict[str, Any] | None = None,
    waivers: str | os.PathLike[str] | None = None,
    snapshot_copy: tuple[Path, str] | None = None,
    beside: Callable[[Callable[[str], Path]], None] | None = None,
) -> tuple[dict[str, Any], dict[str, Path]]:
    """The reports, the snapshot they came from and the waivers applied, published as one unit.

    ``snapshot_text`` is the snapshot as it is saved (``snapshot.snapshot_text``). A ``waivers`` file that is itself the plain ``waivers.yaml`` of the folder (an
    older version's copy, or the user's own file) is left where it is rather than replaced by a link.
    Every mode that writes reports comes through here, so every folder holds one run's files.
    ``snapshot_copy``: (file, digest) of a snapshot file that already is the saved text (``evaluate``): it is
    copied, and the copy refused unless it still has that digest (the file changed since it was judged).
    ``snapshot_doc``: the snapshot (validated, masked) to save, staged first and a record at a time, its digest
    taken as it is written; ``doc`` is then a function of that digest giving the report document. The saved
    text is never held (a 100,000-commit audit held its 108 MB, and as much again while writing it).
    ``beside`` stages folders into the set before the document is built, given the function that makes one
    (``StagedSet.folder``): the demo's baseline, ``previous/``, switches with the reports that diff against it.
    """
    out = Path(out_dir)
    wanted = _known(formats)
    names = [_name("report", f) for f in wanted] + [SNAPSHOT_NAME, WAIVERS_NAME]
    keep_waivers = bool(waivers) and _plain_file_in(Path(waivers), out / WAIVERS_NAME)
    with staged_set(out, names) as staged:
        saved: dict[str, Path] = {}
        if snapshot_doc is not None:
            sha = hashlib.sha256()
            chunks = _hashed(snapshot_chunks(snapshot_doc, str(out / SNAPSHOT_NAME)), sha)
            saved["snapshot"] = _public(staged, staged.write(SNAPSHOT_NAME, chunks))
            if beside is not None:
                beside(staged.folder)
            doc = doc("sha256:" + sha.hexdigest()) if callable(doc) else doc
        elif callable(doc) or beside is not None:
            raise TypeError("a document built from the digest, or folders beside it, need the snapshot to save "
                            "(snapshot_doc)")
        doc, written = _write_formats(doc, staged, wanted, "report")
        written.update(saved)
        if snapshot_text is not None:
            written["snapshot"] = _public(staged, staged.write(SNAPSHOT_NAME, snapshot_text))
        elif snapshot_copy is not None:
            path = staged.copy(SNAPSHOT_NAME, snapshot_copy[0])
            if file_digest(path) != snapshot_copy[1]:
                raise ComplianceError(f"{snapshot_copy[0]} changed while it was judged; nothing was written")
            written["snapshot"] = _public(staged, path)
        if waivers and not keep_waivers:
            written["waivers"] = _public(staged, staged.copy(WAIVERS_NAME, Path(waivers)))
        staged.retire = [n for n in _retired("report") if not (keep_waivers and n == WAIVERS_NAME)]
    return doc, written


def _hashed(chunks: Iterable[str], sha: Any) -> Iterator[str]:
    """``chunks`` as they are, each added to ``sha`` as the UTF-8 the file holds."""
    for chunk in chunks:
        sha.update(chunk.encode("utf-8"))
        yield chunk


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


def _write_formats(doc: Doc, staged: StagedSet, wanted: list[str], basename: str
                   ) -> tuple[Doc, dict[str, Path]]:
    """Stage every format into the set, each streamed from the document masked once for all of them.

    Known secret values and token shapes are masked first (a no-op for a document the caller already
    masked). No format's text is the whole document (report.json version 2 leaves passing findings'
    messages out), so none can stand in for that check: the document itself is checked (``redact_data``).
    """
    doc = redact_data(doc)
    written: dict[str, Path] = {}
    with one_reading():  # what several formats show alike is read from the document once
        for fmt in wanted:
            with progress.stage(f"report {fmt}"):  # a 100,000-change HTML report takes seconds
                written[fmt] = _public(staged, staged.write(_name(basename, fmt), FORMATS[fmt].stream(doc)))
    return doc, written


def _public(staged: StagedSet, path: Path) -> Path:
    """Where a staged file will be read once the set is published."""
    return staged.out / path.name


def _retired(basename: str) -> list[str]:
    """Plain files of these names in the folder belong to an older set and go when this one is published."""
    return [*(_name(basename, f) for f in FORMATS), SNAPSHOT_NAME, WAIVERS_NAME]


def _plain_file_in(path: Path, kept: Path) -> bool:
    """Is ``path`` the folder's own ``waivers.yaml`` as a plain file (not a link into a set)?"""
    try:
        return not kept.is_symlink() and kept.is_file() and path.resolve() == kept.resolve()
    except OSError:
        return False


def _name(basename: str, fmt: str) -> str:
    return f"{basename}.{FORMATS[fmt].suffix}"


