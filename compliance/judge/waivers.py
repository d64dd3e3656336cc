"""Waivers: owned, ticketed, expiring exceptions, applied in one place for every mode.

Exceptions that never expire become permanent holes, and exceptions honoured by one mode but
not another make verdicts disagree. So every waiver names an owner, a ticket and an expiry
within a bounded span, and ``apply_waivers`` is the single step between evaluation and the
report that every command goes through. Its clock is the snapshot's ``collected_at``, never
the wall clock, so re-evaluating a saved snapshot gives the same verdicts next year.

A waiver excuses a *failure*. An ``error`` finding was never evaluated, so there is nothing
to excuse: a matching waiver is reported as not applied rather than hiding the gap. A ``pending``
finding (deploy still running, evidence not due) has not been judged yet either: the waiver is
not applied and listed under ``pending_not_waived``, not as unused, because it will apply if
the finding turns into a failure.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from compliance.base.globs import compile_glob
from compliance.base.timeutil import iso, parse_time
from compliance.model.findings import ERROR, FAIL, PENDING, WAIVED, Finding
from compliance.model.waivers import DEFAULT_MAX_DAYS, DEFAULT_WARN_DAYS, Waiver, WaiverFile
from compliance.sources.git_history import classify

# --- matching -------------------------------------------------------------------------------


UNCONFIRMED = "PR attribution unconfirmed"
AMBIGUOUS = "ambiguous sha prefix"


def _attributed_by_shape(c: dict[str, Any], snapshot: dict[str, Any]) -> bool:
    """A merge commit with GitHub's subject (two parents, as the git source classifies it), or the
    pull request a PR-mode snapshot judges (its number came from GitHub's API). A snapshot is data:
    its ``kind`` is re-derived, not taken on trust."""
    if c.get("kind") == "pull_request":
        return (snapshot.get("pull_request") or {}).get("number") == c.get("pr")
    kind, pr, _ = classify(list(c.get("parents") or []), c.get("subject") or "")
    return kind == "pr_merge" and pr == c.get("pr")


def pr_attribution(snapshot: dict[str, Any]) -> dict[str, str | None]:
    """Per commit claiming a PR: None when the attribution is confirmed, else why it is not.

    A subject ending ``(#111)`` is what a squash merge writes, and what anyone can type into a
    direct push. So a squash's number counts only when a workflow run of that very commit lists
    the pull request (``pull_requests``); a merge commit is confirmed by its shape. Two commits
    claiming one number cannot both be its merge: neither is trusted.
    """
    sources = snapshot.get("sources") or {}
    commits = ((sources.get("git") or {}).get("data") or {}).get("commits") or []
    runs = ((sources.get("github") or {}).get("data") or {}).get("runs") or []
    by_run: dict[str, set[int]] = {}
    for run in runs:
        for pr in run.get("pull_requests") or []:
            if isinstance(pr, dict) and type(pr.get("number")) is int:
                by_run.setdefault(run.get("head_sha"), set()).add(pr["number"])
    claims: dict[int, list[str]] = {}
    for c in commits:
        if c.get("pr") is not None:
            claims.setdefault(c["pr"], []).append(c["sha"])
    out: dict[str, str | None] = {}
    for c in commits:
        n, sha = c.get("pr"), c["sha"]
        if n is None:
            continue
        if len(claims[n]) > 1:
            others = ", ".join(x[:12] for x in claims[n] if x != sha)
            out[sha] = f"{UNCONFIRMED}: {sha[:12]} and {others} all claim PR #{n}"
        elif _attributed_by_shape(c, snapshot) or n in by_run.get(sha, ()):
            out[sha] = None
        else:
            out[sha] = (f"{UNCONFIRMED}: {sha[:12]} ({c.get('kind')}) claims PR #{n} only by its subject; no "
                        "merge commit or workflow run of it names the pull request")
    return out


class _Subjects:
    """What a finding is about, as a waiver can name it: commit, PR, resource, in-scope files."""

    def __init__(self, snapshot: dict[str, Any], rules: list[Any]):
        git = (snapshot.get("sources", {}).get("git") or {}).get("data") or {}
        self.commits = {c["sha"]: c for c in git.get("commits", [])}
        self.scopes = {r.id: r.scope for r in rules}
        self.attribution = pr_attribution(snapshot)

    @staticmethod
    def sha(f: Finding) -> str | None:
        return next((e.get("sha") for e in f.evidence if e.get("kind") == "commit" and e.get("sha")), None)

    def ambiguous(self, prefix: str) -> list[str]:
        """The commits a ``sha`` waiver's prefix names when it names more than one (else [])."""
        found = [sha for sha in self.commits if isinstance(sha, str) and sha.startswith(prefix)]
        return found if len(found) > 1 else []

    def unconfirmed(self, w: Waiver, f: Finding) -> str | None:
        """Why a ``pr`` waiver naming this finding's PR, or a ``sha`` waiver whose prefix names
        several commits, does not apply to it (None: nothing to say)."""
        if w.kind == "sha" and w.rule == f.rule_id and (sha := self.sha(f)) and sha.startswith(w.value):
            many = self.ambiguous(w.value)
            if many:
                return (f"{AMBIGUOUS}: {w.value} names {len(many)} commits ({', '.join(x[:12] for x in many)}); "
                        "use a longer prefix")
            return None
        if w.kind != "pr" or w.rule != f.rule_id:
            return None
        sha = self.sha(f)
        if not sha or (self.commits.get(sha) or {}).get("pr") != w.value:
            return None
        return self.attribution.get(sha)

    def matches(self, w: Waiver, f: Finding, *, claimed: bool = False) -> bool:
        """``claimed``: count a PR claim even if unconfirmed (to list what an expired waiver covered)."""
        if w.rule != f.rule_id:
            return False
        if w.kind == "resource":
            return f.subject == w.value
        sha = self.sha(f)
        if not sha:
            return False
        if w.kind == "sha":
            # a prefix naming two commits waives neither: a second commit made to collide with
            # a waived one's short sha must not ride on its waiver
            return sha.startswith(w.value) and not self.ambiguous(w.value)
        commit = self.commits.get(sha) or {}
        if w.kind == "pr":
            return commit.get("pr") == w.value and (claimed or self.attribution.get(sha) is None)
        # path: every in-scope file must match, or one waiver would excuse unrelated files the
        # same change happened to bring along
        files = [x["path"] for x in commit.get("files", [])]
        scope = self.scopes.get(f.rule_id)
        if scope is not None and not scope.is_empty:
            files = scope.select(files)
        glob = compile_glob(w.value)
        return bool(files) and all(glob.match(p) for p in files)


def _ref(f: Finding) -> dict[str, str]:
    return {"rule_id": f.rule_id, "subject_type": f.subject_type, "subject": f.subject}


def _entry(w: Waiver, now: datetime, findings: list[Finding] | None = None, note: str | None = None
           ) -> dict[str, Any]:
    out = w.to_dict()
    out["days_left"] = max(0, (w.expires - now.date()).days) if now <= w.ends else -((now.date() - w.expires).days)
    out["findings"] = [_ref(f) for f in findings or []]
    if note:
        out["note"] = note
    return out


def apply_waivers(findings: list[Finding], waivers: WaiverFile | None, snapshot: dict[str, Any],
                  rules: list[Any]) -> dict[str, Any]:
    """Turn failing findings a live waiver covers into ``waived``; return the report's waiver section.

    Replaces the waived findings in the ``findings`` list (findings are frozen; the order is unchanged,
    so the report stays sorted).
    """
    now = parse_time(snapshot["collected_at"])
    section: dict[str, Any] = {
        "file": waivers.path if waivers else None,
        "evaluated_at": iso(now),
        "max_days": waivers.max_days if waivers else DEFAULT_MAX_DAYS,
        "warn_days": waivers.warn_days if waivers else DEFAULT_WARN_DAYS,
        "applied": [], "expiring": [], "expired": [], "unused": [], "errors_not_waived": [], "pending_not_waived": [],
    }
    if not waivers or not waivers.waivers:
        return section
    subjects = _Subjects(snapshot, rules)
    live = [w for w in waivers.waivers if now <= w.ends]
    # the waiver that lasts longest wins, so a finding shows the exception it actually relies on
    live.sort(key=lambda w: (-w.expires.toordinal(), w.index))
    used: dict[int, list[Finding]] = {}
    blocked: dict[int, list[Finding]] = {}
    waiting: dict[int, list[Finding]] = {}  # matched pending findings: not applied, not unused either
    refused: dict[int, list[str]] = {}  # pr waivers whose PR claim was not confirmed, and why
    for i, f in enumerate(findings):
        if f.status not in (FAIL, ERROR, PENDING):
            continue
        for w in live:
            why = subjects.unconfirmed(w, f)
            if why and why not in refused.setdefault(w.index, []):
                refused[w.index].append(why)
        hits = [w for w in live if subjects.matches(w, f)]
        if not hits:
            continue
        if f.status in (ERROR, PENDING):
            for w in hits:
                (blocked if f.status == ERROR else waiting).setdefault(w.index, []).append(f)
            continue
        w = hits[0]
        for other in hits:
            used.setdefault(other.index, []).append(f)
        findings[i] = replace(
            f, status=WAIVED,
            message=f"waived by {w.owner} until {w.expires} ({w.ticket}): {w.reason} | finding: {f.message}",
            evidence=[*f.evidence, {"kind": "waiver", "label": f"{w.ticket} owned by {w.owner}, expires {w.expires}: "
                                    f"{w.reason}", "url": None, "time": None, "owner": w.owner,
                                    "expires": w.expires.isoformat(), "ticket": w.ticket,
                                    "waiver_line": w.line}])
    for w in sorted(waivers.waivers, key=lambda w: w.index):
        if now > w.ends:
            would = [f for f in findings if f.status in (FAIL, ERROR) and subjects.matches(w, f, claimed=True)]
            section["expired"].append(_entry(w, now, would))
            continue
        note = "; ".join(refused.get(w.index, [])) or None
        if w.ends - now <= timedelta(days=waivers.warn_days):
            section["expiring"].append(_entry(w, now, used.get(w.index), note))
        if w.index in used:
            section["applied"].append(_entry(w, now, used[w.index], note))
        if w.index in blocked:
            section["errors_not_waived"].append(_entry(w, now, blocked[w.index], note))
        if w.index in waiting:
            section["pending_not_waived"].append(_entry(w, now, waiting[w.index], note))
        if w.index not in used and w.index not in blocked and w.index not in waiting:
            section["unused"].append(_entry(w, now, note=note))
    return section


def empty_section() -> dict[str, Any]:
    return {"file": None, "evaluated_at": None, "max_days": DEFAULT_MAX_DAYS, "warn_days": DEFAULT_WARN_DAYS,
            "applied": [], "expiring": [], "expired": [], "unused": [], "errors_not_waived": [],
            "pending_not_waived": []}

__all__ = ["UNCONFIRMED", "apply_waivers", "empty_section", "pr_attribution"]
