"""The principal proof: CloudTrail's record of who updated the function, read by ``deploy_coverage`` and
``lambda_deploy_match`` when the ``cloudtrail`` source is there.

A green run whose deploy step holds no upload by the pipeline's role deployed nothing, however green; a
LastModified inside a run's deploy step made by a console session is not that run's. Timing cannot see
either; the principal AWS recorded can. The proof a finding rests on is named, strongest first:
``artifact`` (the digest matches), ``principal`` (the pipeline's role made the update), ``timing``
(a time window holds it, nothing more).

The trail is judged once per check (``read_trail``): absent (not configured, not collected, deferred)
leaves the checks on timing and says so; configured and failed is ``error`` for every pass that would
have rested on it, never a silent timing pass: the source was asked for the proof and could not give it.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from compliance.base.errors import SourceUnavailable
from compliance.base.timeutil import iso, parse_time
from compliance.judge.checks.artifact import (
    ARTIFACT,
    PRINCIPAL,
    TIMING,
    Match,
    code_label,
    credited,
    run_code,
)
from compliance.judge.checks.common import change_finding
from compliance.judge.checks.deploy_manager import names_function
from compliance.judge.checks.trail_events import (
    CODE_UPDATE,
    event_evidence,
    event_label,
    is_update,
    session_role,
)
from compliance.judge.runs import deploy_window, run_evidence, run_label
from compliance.model.findings import ERROR, FAIL, PASS, Finding
from compliance.sources.registry import DEFERRED

LOOKUP_DAYS = 90  # how far back LookupEvents reaches, for a snapshot that does not say what it covers
# CloudTrail delivers an event within about 15 minutes (to S3 and to LookupEvents alike): what happened
# later than that before the collection may simply not be there yet, so its absence proves nothing
DELIVERY = timedelta(minutes=15)
NEAR = timedelta(seconds=5)  # an update's eventTime and the LastModified it set (both from AWS's own clock)
ABSENT, OK, FAILED = "absent", "ok", "error"


@dataclass
class Trail:
    """The window's successful updates of the function, as the checks read them, and what the read covers."""

    status: str  # ok | absent | error
    why: str = ""  # absent / error: said in every finding that could not use the trail
    workflow_role: str = ""
    allowed: frozenset[str] = frozenset()
    since: datetime | None = None  # what the read covers: an update outside it is not known either way
    until: datetime | None = None
    read: str = "snapshot"
    events: list[dict[str, Any]] = field(default_factory=list)  # time order
    times: list[datetime] = field(default_factory=list)

    def spans(self, start: datetime | None, end: datetime | None) -> bool:
        """Whether the read covers ``start..end``: only then does no event mean no update."""
        return bool(start and end and self.since and self.until and self.since <= start and end <= self.until)

    def between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        lo, hi = bisect.bisect_left(self.times, start), bisect.bisect_right(self.times, end)
        return self.events[lo:hi]

    def by_role(self, event: dict[str, Any], roles: set[str] | frozenset[str]) -> bool:
        """Made by one of ``roles`` through an API session, never the console."""
        identity = event["userIdentity"]
        return not identity.get("sessionCredentialFromConsole") and session_role(identity) in roles

    def pipeline_uploads(self, start: datetime, end: datetime, slack: timedelta) -> list[dict[str, Any]]:
        """UpdateFunctionCode calls by the pipeline's role inside ``start..end`` (with ``slack``)."""
        return [e for e in self.between(start - slack, end + slack)
                if e["eventName"].startswith(CODE_UPDATE) and self.by_role(e, {self.workflow_role})]

    def setters(self, modified: datetime) -> list[dict[str, Any]]:
        """The updates that set this LastModified: the one whose response names it, else those at its time
        whose response names none readable (an unreadable one never drops out, leaving another the credit)."""
        near = self.between(modified - NEAR, modified + NEAR)
        exact = [e for e in near if _same_time(parse_time(e.get("lastModified")), modified)]
        return exact or [e for e in near if parse_time(e.get("lastModified")) is None]

    def span_text(self) -> str:
        return f"CloudTrail ({self.read}) read {iso(self.since)}..{iso(self.until)}"


def _same_time(a: datetime | None, b: datetime) -> bool:
    return a is not None and abs((a - b).total_seconds()) < 1


def _configured(target: dict[str, Any]) -> bool:
    cfg = target.get("cloudtrail") if isinstance(target.get("cloudtrail"), dict) else {}
    return bool(cfg.get("bucket") or cfg.get("lookup"))


def read_trail(ctx) -> Trail:
    """The trail as the checks may use it: ``ok``, ``absent`` (timing, said) or ``error`` (configured
    and failed, or unusable: no workflow role to tell the pipeline's updates from others)."""
    src = ctx.snapshot["sources"].get("cloudtrail")
    try:
        data = ctx.source("cloudtrail")
    except SourceUnavailable as exc:
        if not src:
            return Trail(ABSENT, "cloudtrail not collected")
        if src.get("status") == DEFERRED and ctx.deferred(["cloudtrail"]):
            return Trail(ABSENT, f"cloudtrail deferred: {src.get('reason') or 'collected later'}")
        kind = (src.get("error") or {}).get("type")
        if kind == "NotConfigured" and not _configured(ctx.target):
            return Trail(ABSENT, "cloudtrail not configured")
        return Trail(FAILED, f"cloudtrail is configured but unavailable ({exc.reason})")
    role = (ctx.target.get("principals") or {}).get("workflow_role")
    if not role:
        return Trail(FAILED, "cloudtrail is collected but target.principals.workflow_role is not configured, so "
                             "the pipeline's updates cannot be told from others")
    function = ctx.target.get("function", "")
    timed = sorted(((t, e) for e in data.get("events") or []
                    if is_update(e.get("eventName")) and not e.get("errorCode")
                    and names_function(str(e.get("functionName", "")), function)
                    and (t := parse_time(e.get("eventTime"))) is not None),
                   key=lambda te: (te[0], str(te[1].get("eventID"))))
    since, until = _span(ctx, data)
    principals = ctx.target.get("principals") or {}
    return Trail(OK, workflow_role=role, allowed=frozenset({role, *(principals.get("operator_roles") or [])}),
                 since=since, until=until, read=", ".join(data.get("read") or []) or "snapshot",
                 events=[e for _, e in timed], times=[t for t, _ in timed])


def read_span(ctx, data: dict[str, Any]) -> tuple[datetime, datetime]:
    """What the read covers: as the source recorded it (``covers``), else the window (the trail in S3 is read
    by the window's days), for LookupEvents alone the last 90 days of it before the collection."""
    covers = data.get("covers") if isinstance(data.get("covers"), dict) else {}
    since, until = parse_time(covers.get("since")), parse_time(covers.get("until"))
    if since and until:
        return since, until
    since = ctx.since
    if data.get("read") and "s3" not in data["read"]:
        since = max(since, ctx.now - timedelta(days=LOOKUP_DAYS))
    return since, ctx.until


def _span(ctx, data: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """What the proofs may judge: what the read covers, never the last ``DELIVERY`` before the trail was
    read, which it may not have delivered yet."""
    since, until = read_span(ctx, data)
    return since, min(until, trail_clock(ctx, data) - DELIVERY)


def trail_clock(ctx, data: dict[str, Any]) -> datetime:
    """When the trail was read (``read_at``), what its delivery lag is measured from: other sources can hold
    the collection for minutes after the read (GitHub's rate limit). A ``read_at`` after the collection, or
    none (an older snapshot), leaves the collection's time."""
    read = parse_time(data.get("read_at"))
    return min(read, ctx.now) if read is not None else ctx.now


def absence_evidence(trail: Trail, start: datetime | None, end: datetime | None) -> dict[str, Any]:
    return {"kind": "cloudtrail", "label": f"no UpdateFunctionCode by {trail.workflow_role} from {iso(start)} to "
            f"{iso(end)} ({trail.span_text()}, {len(trail.events)} update(s) of the function)", "url": None,
            "time": None, "proof": PRINCIPAL}


def source_evidence(trail: Trail) -> dict[str, Any]:
    return {"kind": "source", "label": trail.why, "url": None}


# ------------------------------------------------------------------------------- deploy_coverage


@dataclass
class RunProof:
    """What CloudTrail says about one successful run's deploy: ``proof`` (artifact / principal / timing),
    ``nothing`` (it uploaded nothing) or ``contradicted`` (its log and its upload disagree)."""

    verdict: str
    clause: str
    items: list[dict[str, Any]] = field(default_factory=list)  # CloudTrail evidence


def run_proof(trail: Trail, run: dict[str, Any], slack: timedelta, recorded: str | None) -> RunProof:
    """Whether the pipeline's role uploaded code inside this run's deploy step (``recorded``: the
    CodeSha256 its deploy log printed, if any)."""
    start, end = deploy_window(run)
    if not trail.spans(start, end):
        return RunProof(TIMING, f"timing only: its deploy ({iso(start)}..{iso(end)}) lies outside what "
                                f"{trail.span_text()}")
    ups = trail.pipeline_uploads(start, end, slack)
    if not ups:
        return RunProof("nothing", f"run {run['id']} deployed nothing: CloudTrail records no UpdateFunctionCode "
                                   f"by the pipeline's role {trail.workflow_role} in its deploy "
                                   f"({iso(start)}..{iso(end)})", [absence_evidence(trail, start, end)])
    shown = "; ".join(event_label(e) for e in ups[:3])
    if recorded and any(e.get("codeSha256") == recorded for e in ups):
        return RunProof(ARTIFACT, f"CloudTrail records the pipeline's upload in its deploy ({shown}), which "
                                  f"returned the CodeSha256 its deploy log recorded",
                        [event_evidence(e, proof=ARTIFACT) for e in ups])
    if recorded and all(e.get("codeSha256") for e in ups):
        got = ", ".join(sorted({e["codeSha256"] for e in ups}))
        return RunProof("contradicted", f"its deploy log recorded CodeSha256={recorded}, but the pipeline's "
                                        f"upload(s) in its deploy returned {got}: the records disagree on what it "
                                        "deployed", [event_evidence(e, proof=PRINCIPAL) for e in ups])
    return RunProof(PRINCIPAL, f"CloudTrail records the pipeline's upload in its deploy ({shown})",
                    [event_evidence(e, proof=PRINCIPAL) for e in ups])



@dataclass
class Cover:
    """How ``deploy_coverage`` judges a change its runs cover on timing: the finding when one is proven
    (or cannot be), else the runs CloudTrail refuted, for the failure's message."""

    finding: Finding | None
    refuted: list[tuple[dict[str, Any], RunProof]] = field(default_factory=list)

    def notes(self) -> list[str]:
        cut = [f"the first {_REFUTED_SCAN} covering runs all uploaded nothing; later ones were not read"] \
            if len(self.refuted) > _REFUTED_SCAN else []
        return [rp.clause for _, rp in self.refuted[:_SHOWN]] + cut

    def items(self) -> list[dict[str, Any]]:
        return [item for run, rp in self.refuted[:_SHOWN] for item in (run_evidence(run), *rp.items)]


def judge_cover(ctx, rule_id: str, change, trail: Trail, slack: timedelta, memo: dict[int, RunProof],
                runs: Any = None) -> Cover:
    """The first covering run the trail does not refute, with the proof it rests on (``memo``: each run's
    proof, judged once per check: a run of a later commit covers many changes; ``runs``: the rule's own
    canonical workflow's, default the target's)."""
    refuted: list[tuple[dict[str, Any], RunProof]] = []
    for run in (runs if runs is not None else ctx.runs).coverings(change, ctx.now):
        if trail.status == ABSENT:
            return Cover(_covered(rule_id, change, run, TIMING, f"timing only: {trail.why}", "", []))
        if trail.status == FAILED:
            return Cover(change_finding(rule_id, change, ERROR,
                                        f"could not prove the deploy: {trail.why}; timing alone would credit "
                                        f"{run_label(run)}", run_evidence(run), source_evidence(trail)))
        if id(run) not in memo:
            memo[id(run)] = run_proof(trail, run, slack, run_code(run))
        proof = memo[id(run)]
        if proof.verdict == "nothing":
            refuted.append((run, proof))
            if len(refuted) > _REFUTED_SCAN:
                break  # a trail without the pipeline's uploads refutes every run: no need to read them all
            continue
        if proof.verdict == "contradicted":
            return Cover(change_finding(rule_id, change, ERROR, f"could not tell what {run_label(run)} deployed: "
                                        f"{proof.clause}", run_evidence(run), *proof.items))
        before = "".join(f"; before it, {rp.clause}" for _, rp in refuted[:_SHOWN])
        return Cover(_covered(rule_id, change, run, proof.verdict, proof.clause, before,
                              [*proof.items, *(i for r, rp in refuted[:_SHOWN] for i in (run_evidence(r), *rp.items))]))
    return Cover(None, refuted)


_SHOWN = 3
_REFUTED_SCAN = 50  # covering runs read per change once they upload nothing; the failure names the first few


def _covered(rule_id: str, change, run: dict[str, Any], proof: str, clause: str, tail: str,
             items: list[dict[str, Any]]) -> Finding:
    how = "its own commit" if run["head_sha"] == change.sha else f"later commit {run['head_sha'][:12]}"
    return change_finding(rule_id, change, PASS,
                          f"deployed by successful {run_label(run)} of {how}, completed "
                          f"{iso(parse_time(run['updated_at']))}; {clause} (proof: {proof}){tail}",
                          {**run_evidence(run), "proof": proof}, *items)


# --------------------------------------------------------------------------- lambda_deploy_match


def _who(event: dict[str, Any]) -> str:
    identity = event["userIdentity"]
    who = session_role(identity) or identity.get("arn") or identity.get("type") or "an unnamed principal"
    return f"a console session of {who}" if identity.get("sessionCredentialFromConsole") else who


def backed(ctx, trail: Trail, rule, name: str, lam: dict[str, Any], modified: datetime, match: Match, what: str,
           item, label) -> Finding:
    """The pass ``credited`` gives the deploy matched to LastModified, once CloudTrail shows who made the
    update: for a run, the pipeline's role; for a recorded manual deploy, the pipeline's or an operator role.
    The update by anyone else (a console session of an allowed role too) fails, naming them."""
    chosen, _ = match.chosen
    if trail.status == ABSENT:
        return credited(rule, name, lam, modified, match, what, item, label)
    if trail.status == FAILED:
        base = credited(rule, name, lam, modified, match, what, item, label)
        return Finding(rule.id, "function", name, ERROR, f"could not prove who made the update: {trail.why}; "
                       f"without it: {base.message}", [*base.evidence, source_evidence(trail)])
    if not trail.spans(modified - NEAR, modified + NEAR):
        clause = f"no principal proof: LastModified lies outside what {trail.span_text()}"
        return credited(rule, name, lam, modified, match, what, item, label, (clause, TIMING, []))
    setters = trail.setters(modified)
    if not setters:
        base = credited(rule, name, lam, modified, match, what, item, label)
        return Finding(rule.id, "function", name, ERROR,
                       f"{trail.span_text()} and records no update of {name} at LastModified {iso(modified)}, so "
                       f"nothing shows who made it; on its own record: {base.message}",
                       [*base.evidence, {"kind": "cloudtrail", "label": f"no update at {iso(modified)}",
                                         "url": None, "time": iso(modified), "proof": PRINCIPAL}])
    roles = {trail.workflow_role} if what == "run" else trail.allowed
    expected = f"the pipeline's role {trail.workflow_role}" if what == "run" else "an allowed role"
    chosen_item = {**item(chosen), "proof": PRINCIPAL}
    bad = [e for e in setters if not trail.by_role(e, roles)]
    if bad:
        return Finding(rule.id, "function", name, FAIL,
                       f"LastModified {iso(modified)} falls in the deploy of {label(chosen)}, but CloudTrail shows "
                       f"the update was made by {', '.join(_who(e) for e in bad)}, not by {expected} outside the "
                       "console: an out-of-band update",
                       [lam, chosen_item, *(event_evidence(e, proof=PRINCIPAL) for e in setters)])
    wrong = [e for e in setters if e.get("codeSha256") and match.live and e["codeSha256"] != match.live]
    if wrong:
        return Finding(rule.id, "function", name, FAIL,
                       f"LastModified {iso(modified)} falls in the deploy of {label(chosen)}, but its update "
                       f"({event_label(wrong[0])}) returned CodeSha256={wrong[0]['codeSha256']} and the live code "
                       f"is {code_label(match.live)}: the live code is not what that update left",
                       [lam, chosen_item, *(event_evidence(e, proof=ARTIFACT) for e in setters)])
    uploads = [e for e in setters if e["eventName"].startswith(CODE_UPDATE) and match.live
               and e.get("codeSha256") == match.live]
    level = ARTIFACT if uploads else PRINCIPAL
    shown = "; ".join(event_label(e) for e in setters)
    clause = (f"CloudTrail records the update by {expected} ({shown})"
              + (", whose upload returned the live CodeSha256" if uploads else ""))
    return credited(rule, name, lam, modified, match, what, item, label,
                    (clause, level, [event_evidence(e, proof=level) for e in setters]))


def who_updated(trail: Trail, finding: Finding, modified: datetime | None) -> Finding:
    """A failure of ``lambda_deploy_match`` with the principal CloudTrail recorded for the update, when read."""
    if finding.status != FAIL or trail.status != OK or modified is None:
        return finding
    setters = trail.setters(modified)
    if not setters:
        return finding
    return replace(finding, message=f"{finding.message}; CloudTrail: the update was made by "
                                    f"{', '.join(_who(e) for e in setters)}",
                   evidence=[*finding.evidence, *(event_evidence(e, proof=PRINCIPAL) for e in setters)])


class Windows:
    """Runs by deploy window, so "which run's deploy holds this time" is a bisect, not a scan of every run
    for every CloudTrail event (a long history has thousands of both)."""

    def __init__(self, runs: list[dict[str, Any]]):
        spans = sorted(((s, e, n, r) for n, r in enumerate(runs) for s, e in [deploy_window(r)] if s and e),
                       key=lambda x: (x[0], x[2]))
        self._spans = spans
        self._starts = [s for s, *_ in spans]
        self._longest = max((e - s for s, e, *_ in spans), default=timedelta(0))

    def holding(self, when: datetime, slack: timedelta) -> list[dict[str, Any]]:
        """The runs whose deploy window holds ``when`` (with ``slack``), in the order they were given."""
        found = []
        i = bisect.bisect_right(self._starts, when + slack) - 1
        while i >= 0 and self._starts[i] >= when - slack - self._longest:
            start, end, n, run = self._spans[i]
            if start - slack <= when <= end + slack:
                found.append((n, run))
            i -= 1
        return [run for _, run in sorted(found, key=lambda nr: nr[0])]
