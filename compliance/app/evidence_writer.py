"""Writing deployment evidence into tracker worklogs, once per deploy, never over anything.

The runbook asks for the evidence in the worklog of every affected task. A deploy can be
retried or resumed after an interruption, and two operators can race, so each task gets ONE
conditional ``UpdateItem`` that both appends the worklog and adds an evidence key to a
string set: DynamoDB evaluates the condition and applies both in one atomic step, so a retry
can neither duplicate the line nor clobber a worklog someone added in between (``list_append``
only ever appends). A task that is not in the tracker is reported, never created: creating
tracker items is not a deploy's business, and a typo in a commit message would otherwise
invent tasks.

The CI deploy role is denied writes to the tracker table, so this runs with the operator's
credentials; an AccessDenied stops the writes at once (every further call would be denied
too) and the caller prints the lines to paste by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from compliance.base.timeutil import iso, utcnow
from compliance.sources import aws
from compliance.sources.base import Meter
from compliance.sources.tracker import tracker_record_id

KEYS_ATTRIBUTE = "deploy_evidence_keys"
_CONDITION = "attribute_exists(record_id) AND NOT contains(#k, :key)"
_UPDATE = "SET #h = list_append(if_not_exists(#h, :empty), :entry) ADD #k :keyset"


def evidence_key(commit: str, last_modified: str, outcome: str) -> str:
    """``<full sha>@<LastModified>#<outcome>``.

    The outcome is part of the key so that a deploy whose validation failed and then passed
    on a later re-validation (same code, same LastModified) gets both lines, while repeating
    either outcome is recognised as already recorded.
    """
    return f"{commit.lower()}@{last_modified}#{outcome}"


@dataclass
class EvidenceResult:
    """What happened per task; ``unwritten`` is what a person still has to paste."""

    line: str
    key: str
    recorded: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    denied: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    not_attempted: list[str] = field(default_factory=list)
    denied_message: str = ""

    @property
    def ok(self) -> bool:
        return not (self.denied or self.failed or self.not_attempted)

    @property
    def unwritten(self) -> list[str]:
        return [*self.denied, *self.failed, *self.not_attempted]


def record_evidence(table: str, project: str, task_ids: list[str], line: str, key: str, region: str, *,
                    options: dict[str, Any] | None = None, timestamp: str | None = None,
                    meter: Meter | None = None) -> EvidenceResult:
    """Append ``line`` as a worklog to each task, at most once per ``key``."""
    from botocore.exceptions import ClientError  # botocore only when writing: offline paths never load it

    result = EvidenceResult(line=line, key=key)
    ids = list(dict.fromkeys(t.strip().upper() for t in task_ids if t and t.strip()))
    if not ids:
        return result
    client = aws.client_for("dynamodb", region, meter or Meter(), options)
    entry = {"M": {"timestamp": {"S": timestamp or iso(utcnow())}, "status": {"S": "worklog"},
                   "description": {"S": line}}}
    for n, task in enumerate(ids):
        record = tracker_record_id(task)
        if record is None:
            result.missing.append(task)
            continue
        item_key = {"project_id": {"S": project}, "record_id": {"S": record}}
        try:
            client.update_item(
                TableName=table, Key=item_key, UpdateExpression=_UPDATE, ConditionExpression=_CONDITION,
                ExpressionAttributeNames={"#h": "history", "#k": KEYS_ATTRIBUTE},
                ExpressionAttributeValues={":empty": {"L": []}, ":entry": {"L": [entry]},
                                           ":keyset": {"SS": [key]}, ":key": {"S": key}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            result.recorded.append(task)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                _classify_condition_failure(client, table, item_key, key, task, exc.response, result)
                continue
            mapped = aws.translate_error(exc, "UpdateItem")
            if isinstance(mapped, aws.AccessDenied):
                result.denied.append(task)
                result.denied_message = str(mapped)
                result.not_attempted.extend(ids[n + 1:])
                break
            result.failed[task] = str(mapped or exc)
        except Exception as exc:  # noqa: BLE001 - connection errors etc.: this task is unwritten, say why
            mapped = aws.translate_error(exc, "UpdateItem")
            if mapped is None:
                raise
            result.failed[task] = str(mapped)
    return result


def _classify_condition_failure(client, table: str, item_key: dict[str, Any], key: str, task: str,
                                response: dict[str, Any], result: EvidenceResult) -> None:
    """Missing item or already recorded? The old item answers it; servers that omit it get a GetItem."""
    item = response.get("Item")
    if item is None:
        try:
            item = client.get_item(TableName=table, Key=item_key, ConsistentRead=True,
                                   ProjectionExpression="record_id, #k",
                                   ExpressionAttributeNames={"#k": KEYS_ATTRIBUTE}).get("Item")
        except Exception as exc:  # noqa: BLE001 - unreadable: unknown, so not counted as recorded
            mapped = aws.translate_error(exc, "GetItem")
            if mapped is None:
                raise
            result.failed[task] = f"the conditional write was refused and the item could not be read: {mapped}"
            return
    if not item:
        result.missing.append(task)
    elif key in ((item.get(KEYS_ATTRIBUTE) or {}).get("SS") or []):
        result.already.append(task)
    else:
        result.failed[task] = "the conditional write was refused although the evidence key is absent"
