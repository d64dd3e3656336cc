"""Which movement a finding's key made between two reports: the diff's buckets, defined once.

``diff`` sorts keys into them; ``consistency`` checks that a report's diff puts each entry where its own
``previous`` and ``current`` say it belongs, so an edited diff cannot file a new failure as "still failing".
"""

from __future__ import annotations

from compliance.model.findings import ERROR, PENDING, WAIVED

NOT_PASSING = ("fail", "error")
BUCKETS = ("new", "fixed", "still_failing", "now_waived", "gone", "new_pending", "still_pending", "pending_passed")


def bucket_of(was: str | None, is_: str | None) -> str | None:
    """Which movement a key made, or None when it is not worth reporting (passing both times)."""
    failing_before, failing_now = was in NOT_PASSING, is_ in NOT_PASSING
    if is_ == PENDING:
        return "still_pending" if was == PENDING else "new_pending"
    if failing_now:
        # error -> fail is new: the earlier run could not judge it, so nothing shows it failed then
        return "still_failing" if failing_before and not (was == ERROR and is_ == "fail") else "new"
    if not (failing_before or was == PENDING):
        return None
    if is_ == WAIVED:
        return "now_waived"
    if is_ is None:
        return "gone"  # not judged now: not called fixed (or passed), because nothing shows it was
    return "fixed" if failing_before else "pending_passed"


__all__ = ["BUCKETS", "NOT_PASSING", "bucket_of"]
