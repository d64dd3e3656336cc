"""Which deploy left the live code: the artifact (CodeSha256) proves it, a time window only suggests it.

Timing credits whichever run's deploy step holds the function's LastModified; two deploys in one
window, or a console upload during a run, fool it. A run whose deploy job printed
``CodeSha256=<value>`` into its log, or a worklog the deploy command wrote with the value, names
the code it left live, so ``lambda_deploy_match`` compares that with the function's own digest.
A deploy that recorded none stays a timing match, and its finding says so (``proof: timing``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from compliance.base.digests import is_code_sha256
from compliance.base.timeutil import iso
from compliance.model.findings import FAIL, PASS, Finding

ARTIFACT, PRINCIPAL, TIMING = "artifact", "principal", "timing"
RANK = {TIMING: 0, PRINCIPAL: 1, ARTIFACT: 2}  # a finding states the strongest proof it holds


def stronger(a: str, b: str) -> str:
    return a if RANK[a] >= RANK[b] else b


def run_code(run: dict[str, Any]) -> str | None:
    """The CodeSha256 a run's deploy log recorded, if it recorded exactly one valid digest."""
    value = (run.get("artifact") or {}).get("code_sha256")
    return value if is_code_sha256(value) else None


def run_unrecorded(run: dict[str, Any]) -> str:
    """Why a run gives no CodeSha256 to compare: what the collection found (or did not read)."""
    artifact = run.get("artifact")
    if not isinstance(artifact, dict):
        return f"run {run['id']} has no deploy log on record (no deploy job was collected for it)"
    if artifact.get("error"):
        return f"run {run['id']}'s deploy log could not be read ({artifact['error']})"
    if artifact.get("code_sha256") is not None:
        return f"run {run['id']}'s deploy log printed a CodeSha256 that is not a digest"
    return f"run {run['id']}'s deploy log printed no CodeSha256="


def claim_code(ev: Any) -> str | None:
    """The CodeSha256 a worklog claim states; a claim naming several states none we can credit."""
    codes = getattr(ev, "code_sha256", ())
    return codes[0] if len(codes) == 1 else None


@dataclass
class Match:
    """Deploys whose time matches the live LastModified, sorted by what their artifact says."""

    live: str | None
    same: list[Any] = field(default_factory=list)  # recorded the live CodeSha256
    unrecorded: list[Any] = field(default_factory=list)  # recorded none: time is all we have
    other: list[tuple[Any, str]] = field(default_factory=list)  # recorded another CodeSha256

    @property
    def chosen(self) -> tuple[Any, str] | None:
        """The deploy credited with the live code and the proof used; None when every candidate
        recorded a different artifact (the live code is none of theirs)."""
        if self.same:
            return self.same[0], ARTIFACT
        if self.unrecorded:
            return self.unrecorded[0], TIMING
        return None


def sort_candidates(live: str | None, candidates: list[Any], code_of) -> Match:
    """Sort deploys matched by time; with no live digest to compare, every one is a timing match."""
    match = Match(live)
    for item in candidates:
        code = code_of(item)
        if live is None or code is None:
            match.unrecorded.append(item)
        elif code == live:
            match.same.append(item)
        else:
            match.other.append((item, code))
    return match


def live_code(cfg: dict[str, Any]) -> tuple[str | None, str | None]:
    """(the function's CodeSha256, why it cannot be used); both None when it reports none."""
    value = cfg.get("CodeSha256")
    if value is None:
        return None, None
    if not is_code_sha256(value):
        return None, f"the function reports a CodeSha256 that is not one base64 SHA-256 digest ({value!r})"
    return value, None


def recorded_elsewhere(ctx, live: str | None, skip: list[Any]) -> str | None:
    """Which other deploy recorded the live CodeSha256: the same code uploaded again at another time
    (a console re-upload of a pipeline build) is still not that deploy."""
    if live is None:
        return None
    for run in ctx.runs.successful():
        if run not in skip and run_code(run) == live:
            return f"run {run['id']}"
    if ctx.source_ok("tracker"):
        for evs in ctx.evidence.by_task.values():
            for ev in evs:
                if ev not in skip and live in getattr(ev, "code_sha256", ()):
                    return f"{ev.task_id} {ev.origin}"
    return None


def code_label(value: str | None) -> str:
    return f"CodeSha256={value}" if value else "no CodeSha256"


Label = Callable[[Any], str]
Item = Callable[[Any], dict[str, Any]]


Backing = tuple[str, str, list[dict[str, Any]]]  # (what CloudTrail showed, the proof it gives, its evidence)


def credited(rule, name: str, lam: dict[str, Any], modified, match: Match, what: str, item: Item,
             label: Label, backing: Backing | None = None) -> Finding:
    """The pass for the deploy credited with the live code, saying which proof it rests on (``backing``:
    the principal CloudTrail recorded for the update, when the trail was read)."""
    chosen, proof = match.chosen
    others = "".join(f"; {label(o)} in the same window recorded {code_label(c)}, not the live one"
                     for o, c in match.other)
    if proof == ARTIFACT:
        how = f"which recorded the live {code_label(match.live)}"
    else:
        why = "the function reports no CodeSha256" if match.live is None else (
            run_unrecorded(chosen) if what == "run" else "the worklog records no CodeSha256")
        how = f"timing match only: {why}" if backing is None else f"its own record gives no CodeSha256 ({why})"
    items: list[dict[str, Any]] = []
    if backing is not None:
        clause, level, items = backing
        how, proof = f"{how}; {clause}", stronger(proof, level)
    extra = {"proof": proof, **({"code_sha256": match.live} if proof == ARTIFACT and match.live else {})}
    return Finding(rule.id, "function", name, PASS, f"LastModified {iso(modified)} falls in the deploy of "
                   f"{label(chosen)}, {how} (proof: {proof}){others}", [lam, {**item(chosen), **extra}, *items])


def mismatch(ctx, rule, name: str, lam: dict[str, Any], modified, match: Match, label: Label,
             item: Item) -> Finding:
    """Every deploy matched by time recorded other code than the live one: the live code is none of theirs."""
    said = "; ".join(f"{label(o)} recorded {code_label(c)}" for o, c in match.other)
    again = recorded_elsewhere(ctx, match.live, [o for o, _ in match.other])
    tail = f"; the live code is what {again} recorded, uploaded again outside it" if again else ""
    return Finding(rule.id, "function", name, FAIL,
                   f"LastModified {iso(modified)} falls in the deploy of {label(match.other[0][0])}, but the live "
                   f"code is {code_label(match.live)} and {said}: the live code is not what that deploy uploaded{tail}",
                   [lam, *({**item(o), "proof": ARTIFACT, "code_sha256": c} for o, c in match.other)])
