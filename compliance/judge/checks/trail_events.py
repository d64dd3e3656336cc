"""CloudTrail records as the proofs read them: which event names change the function, and whose session made one.

CloudTrail writes an API call's name with its version appended (``UpdateFunctionCode20150331v2``); a
name is matched whole, so ``CreateFunctionUrlConfig20211031`` is no ``CreateFunction``. The lenient
readings (``may_*``) are for judging *who* made a change, never for crediting a deploy. A session's
role counts only when the issuer ARN and the session ARN agree on partition, account and role.
"""

from __future__ import annotations

import re
from typing import Any

# the calls that set the function's code or configuration (and so its LastModified); CloudTrail appends the API
# version (UpdateFunctionCode20150331v2). A console DeleteFunction + CreateFunction puts new code live too.
UPDATES = ("UpdateFunctionCode", "UpdateFunctionConfiguration", "CreateFunction")
_UPDATE = re.compile(r"^(?:UpdateFunctionCode|UpdateFunctionConfiguration|CreateFunction)(?:[0-9]{8}(?:v[0-9]+)?)?$(?!\n)")
CODE_UPDATE = "UpdateFunctionCode"
_ROLE = re.compile(r"^arn:(aws[a-z-]*):iam::([0-9]{12}):role/(?:[^/]+/)*([^/]+)$(?!\n)")
_SESSION = re.compile(r"^arn:(aws[a-z-]*):sts::([0-9]{12}):assumed-role/([^/]+)/[^/]+$(?!\n)")


def is_update(name: Any) -> bool:
    """One of ``UPDATES`` by its whole name and API version: ``CreateFunctionUrlConfig20211031`` is no update."""
    return isinstance(name, str) and _UPDATE.match(name) is not None


def may_be_update(name: Any) -> bool:
    """``is_update`` read leniently (case and blanks aside), for a check that must not overlook one: CloudTrail
    writes the names exactly, so ``updateFunctionCode20150331v2 `` is a record someone wrote, not one to skip.
    Never for crediting a deploy (``is_update`` is), only for judging who made an update."""
    return isinstance(name, str) and _UPDATE_ANY_CASE.match(name.strip()) is not None


_UPDATE_ANY_CASE = re.compile(_UPDATE.pattern, re.IGNORECASE)

# What else changes what the function serves or who may call it: an alias moved to old code, a version
# published, the function deleted, its concurrency set to 0 (no invocation runs), a permission added.
_CHANGE = re.compile(r"^(?:UpdateAlias|CreateAlias|DeleteAlias|PublishVersion|DeleteFunction|PutFunctionConcurrency"
                     r"|DeleteFunctionConcurrency|AddPermission|RemovePermission|CreateFunctionUrlConfig"
                     r"|UpdateFunctionUrlConfig|DeleteFunctionUrlConfig|PutProvisionedConcurrencyConfig"
                     r"|DeleteProvisionedConcurrencyConfig|PutFunctionEventInvokeConfig|UpdateFunctionEventInvokeConfig"
                     r"|PutFunctionCodeSigningConfig|DeleteFunctionCodeSigningConfig)(?:[0-9]{8}(?:v[0-9]+)?)?$(?!\n)")
_CHANGE_ANY_CASE = re.compile(_CHANGE.pattern, re.IGNORECASE)


def changes_function(name: Any) -> bool:
    """An update (``is_update``) or another write that changes what the function serves or who may call it
    (CloudTrail's exact names): who made it is judged like an update's (probe 12: a console UpdateAlias to
    old code, unseen, passed). Not a deploy: only ``is_update`` credits one."""
    return is_update(name) or (isinstance(name, str) and _CHANGE.match(name) is not None)


def may_change_function(name: Any) -> bool:
    """``changes_function`` read leniently (case and blanks aside), as ``may_be_update`` is."""
    return may_be_update(name) or (isinstance(name, str) and _CHANGE_ANY_CASE.match(name.strip()) is not None)


def session_role(identity: dict[str, Any]) -> str | None:
    """The IAM role ARN behind an assumed-role session, only when every part of the record agrees.

    The issuer's role ARN and the session ARN must name the same partition, account and role name:
    an ``assumed-role/deploy-ci-tmp/...`` session is not one of ``role/deploy-ci``, and an issuer ARN
    copied next to another account's session proves nothing."""
    issuer = identity.get("sessionIssuer") or {}
    if identity.get("type") != "AssumedRole" or issuer.get("type") != "Role":
        return None
    role, session = _ROLE.match(str(issuer.get("arn", ""))), _SESSION.match(str(identity.get("arn", "")))
    if not role or not session or role.groups() != session.groups():
        return None
    return issuer["arn"]


def event_label(event: dict[str, Any]) -> str:
    who = event["userIdentity"].get("arn") or event["userIdentity"].get("type") or "unknown principal"
    return f"{event['eventName']} at {event['eventTime']} by {who}"


def event_evidence(event: dict[str, Any], **extra: Any) -> dict[str, Any]:
    item = {"kind": "cloudtrail", "label": event_label(event), "event_id": event["eventID"],
            "time": event["eventTime"], "url": None}
    for key in ("userAgent", "sourceIPAddress", "codeSha256", "revisionId"):
        if event.get(key):
            item[key] = event[key]
    return {**item, **extra}
