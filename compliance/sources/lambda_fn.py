"""The ``lambda`` source: the governed function's state and identity, and its published versions.

``GetFunctionConfiguration``, not ``ListFunctions``: only it carries ``State`` and
``LastUpdateStatus`` on real AWS. Versions date past deploys; ``$LATEST`` is left out of them
because it is the configuration itself. ``lambda_states`` reads many functions at once for the
deploy-manager checks (a request may target any function), sharing one client across threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from compliance.sources import aws
from compliance.sources.base import Meter

LAMBDA_FIELDS = ("FunctionName", "FunctionArn", "Runtime", "State", "StateReason", "LastUpdateStatus",
                 "LastUpdateStatusReason", "LastModified", "CodeSha256", "RevisionId", "Version")
VERSION_FIELDS = ("Version", "LastModified", "CodeSha256", "Description")


def function_configuration(client, function: str) -> dict[str, Any]:
    """The fields of ``GetFunctionConfiguration`` a snapshot keeps (never ``Environment``)."""
    return aws.pick(aws.call(client, "GetFunctionConfiguration", FunctionName=function), LAMBDA_FIELDS)


def _version_key(v: dict[str, Any]) -> tuple[int, str]:
    text = str(v.get("Version", ""))
    return (int(text), text) if text.isdigit() else (-1, text)


def collect_lambda(function: str, region: str, *, meter: Meter, options: dict[str, Any] | None = None,
                   versions: bool = True) -> dict[str, Any]:
    """The function's state and identity, plus its published versions to date past deploys."""
    client = aws.client_for("lambda", region, meter, options)
    data: dict[str, Any] = {"function": function, "configuration": function_configuration(client, function)}
    if versions:
        found = [aws.pick(v, VERSION_FIELDS)
                 for page in aws.pages(client, "ListVersionsByFunction", options, FunctionName=function)
                 for v in page.get("Versions", []) if v.get("Version") != "$LATEST"]
        data["versions"] = sorted(found, key=_version_key)
    return data


def lambda_states(functions: list[str], region: str, *, meter: Meter, options: dict[str, Any] | None = None,
                  workers: int = 8) -> dict[str, dict[str, Any]]:
    """``collect_lambda`` without versions for many functions at once; any failure fails the whole call."""
    names = list(dict.fromkeys(functions))
    if not names:
        return {}
    workers = max(1, min(workers, len(names)))
    client = aws.client_for("lambda", region, meter, {**(options or {}), "workers": workers})
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lambda-state")
    try:
        configs = list(pool.map(lambda name: function_configuration(client, name), names))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return {name: {"function": name, "configuration": cfg} for name, cfg in zip(names, configs, strict=True)}
