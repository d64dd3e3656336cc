"""What a pull-request snapshot records of the sources only a deploy produces, and the reading of an
older one that did not record them.

Kept apart from the pull-request mode (``app.pr``) because re-judging a saved snapshot
(``evaluate``, ``verify-package``) needs only this, not the collectors ``app.pr`` imports: at start-up
that was ~30 ms of imports (the source plan, the runbook parser's expressions) for every evaluate.
"""

from __future__ import annotations

from typing import Any

from compliance.sources.registry import DEFERRED, after_merge, deferred_envelope

# the whole message of a finding whose rule reads a source only a deploy produces (recorded in the snapshot)
DEFERRED_REASON = "not judged on a pull request: needs a deploy: judged after merge by the scheduled audit, " \
    "not on a pull request"

__all__ = ["DEFERRED_REASON", "with_deferred_sources"]


def with_deferred_sources(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A pull-request snapshot saved before deferred sources were recorded, with them recorded.

    Such a snapshot holds a ``pull_request`` section and no deferred source; its after-merge sources
    were simply left out. Re-judged as it is, each rule reading them would be `error` (not collected),
    where the PR run said `not_applicable`: recording them as deferred, as ``pr_snapshot`` does now,
    keeps the old snapshot's verdicts. Any other snapshot is returned as it is.
    """
    sources = snapshot.get("sources")
    if not snapshot.get("pull_request") or not isinstance(sources, dict) \
            or any(isinstance(s, dict) and s.get("status") == DEFERRED for s in sources.values()):
        return snapshot
    missing = {name: deferred_envelope(name, DEFERRED_REASON, snapshot["collected_at"])
               for name in after_merge() if name not in sources}
    return {**snapshot, "sources": {**sources, **missing}} if missing else snapshot
