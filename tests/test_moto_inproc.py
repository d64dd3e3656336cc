"""The builders answered in this process (tests/moto_inproc.py) leave moto as the same builders over HTTP do.

Each world is built twice, once with the tests' clients over HTTP and once in process, and read back both
times by a client of the code under test's kind (over HTTP, through ``AWS_ENDPOINT_URL``). Only what moto
makes up per call differs: ids, dates, and what is derived from them; those are named and the rest
compared whole. A write that landed in another account or region would read back as nothing over HTTP.
"""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest

from tests import moto_env as me
from tests.trail_records import CODEBUILD_ROLE, TRAIL_BUCKET, create_trail, identity, record

# what moto makes up per call: never compared
MADE_UP = {"ApiId", "IntegrationId", "RouteId", "ApiEndpoint", "CreatedDate", "Target", "LastModified",
           "RevisionId", "CreationDateTime", "TableId", "ETag", "ResponseMetadata", "RoleId", "CreateDate",
           "Location"}  # Location: a presigned URL of a uuid


def _plain(value):
    """``value`` without the made-up fields, at any depth."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in MADE_UP}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _read_back() -> dict:
    """Everything the builders make, read over HTTP by a plain boto3 client (as a collector reads it)."""
    import boto3

    def http(service):
        return boto3.client(service, region_name=me.REGION)

    lam, gw, ddb, s3, iam = http("lambda"), http("apigatewayv2"), http("dynamodb"), http("s3"), http("iam")
    out: dict = {"function": lam.get_function(FunctionName=me.FUNCTION),
                 "versions": lam.list_versions_by_function(FunctionName=me.FUNCTION)["Versions"],
                 "role": iam.get_role(RoleName=me.ROLE)["Role"], "apis": []}
    for api in gw.get_apis()["Items"]:
        routes = gw.get_routes(ApiId=api["ApiId"])["Items"]
        integrations = gw.get_integrations(ApiId=api["ApiId"])["Items"]
        by_id = {i["IntegrationId"]: n for n, i in enumerate(integrations)}
        # a route's target names its integration by id: compare which integration it names, not the id
        out["apis"].append({"api": api, "integrations": integrations,
                            "routes": sorted(({**r, "target_index": by_id[r["Target"].split("/", 1)[1]]}
                                              for r in routes), key=lambda r: r["RouteKey"])})
    out["tables"] = {}
    for name in sorted(ddb.list_tables()["TableNames"]):
        items = ddb.scan(TableName=name)["Items"]
        out["tables"][name] = {"table": ddb.describe_table(TableName=name)["Table"],
                               "items": sorted(items, key=lambda i: (i["project_id"]["S"], i["record_id"]["S"]))}
    out["trail"] = {}
    for obj in s3.list_objects_v2(Bucket=TRAIL_BUCKET).get("Contents", []):
        body = s3.get_object(Bucket=TRAIL_BUCKET, Key=obj["Key"])["Body"].read()
        out["trail"][obj["Key"]] = {"object": obj, "records": json.loads(gzip.decompress(body))}
    return out


def _build() -> None:
    me.create_function(publish_versions=2, description="the coordination API")
    me.create_http_api()
    me.create_tracker_table()
    me.create_deploy_manager_table()
    create_trail(record("ct-gh-1", "2026-02-26T12:03:00Z"),
                 record("ct-dm-1", "2026-03-18T18:20:00Z", who=identity(CODEBUILD_ROLE)))


def _same_zip(revision: int = 0) -> bytes:
    """``handler_zip`` with a fixed file date: a zip made a second later has other bytes, so another CodeSha256."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("lambda_function.py", (2026, 3, 1, 0, 0, 0)), f"# r{revision}\n")
    return buf.getvalue()


def _world(monkeypatch, aws_env, in_process: bool) -> dict:
    me.reset(aws_env)
    monkeypatch.setattr(me, "IN_PROCESS", in_process)
    monkeypatch.setattr(me, "handler_zip", _same_zip)
    _build()
    return _read_back()


def test_the_builders_leave_the_same_world_in_process_as_over_http(aws_env, monkeypatch):
    over_http = _world(monkeypatch, aws_env, False)
    in_process = _world(monkeypatch, aws_env, True)

    # the world is all there: a comparison of two empty reads would prove nothing
    assert len(over_http["versions"]) == 3 and len(over_http["apis"]) == 1
    assert len(over_http["apis"][0]["routes"]) == 9 and len(over_http["apis"][0]["integrations"]) == 1
    assert {n: len(t["items"]) for n, t in over_http["tables"].items()} == {me.DM_TABLE: 8, me.TRACKER_TABLE: 6}
    assert sum(len(t["records"]["Records"]) for t in over_http["trail"].values()) == 2
    assert _plain(in_process) == _plain(over_http)
    assert in_process["function"]["Configuration"]["CodeSha256"] == over_http["versions"][-1]["CodeSha256"]
    # the made-up fields are made up alike: present both ways, and of the same shape
    for made in (over_http, in_process):
        assert made["function"]["Configuration"]["LastModified"] and made["function"]["Code"]["Location"]
        assert made["apis"][0]["api"]["ApiEndpoint"].startswith("https://")


def test_the_tests_clients_answer_in_process_and_the_collectors_over_http(aws_env, monkeypatch):
    """The in-process path is the tests' alone: a collector's client still goes through the server."""
    import boto3

    sent = []
    monkeypatch.setattr(me.moto_inproc, "_handlers", lambda service, real=me.moto_inproc._handlers:
                        sent.append(service) or real(service))
    me.create_tracker_table([me.tracker_item("ENC-TSK-1", "one")])
    assert sent and set(sent) == {"dynamodb"}
    sent.clear()
    items = boto3.client("dynamodb", region_name=me.REGION).scan(TableName=me.TRACKER_TABLE)["Items"]
    assert [i["item_id"]["S"] for i in items] == ["ENC-TSK-1"] and sent == []


def test_a_request_moto_does_not_serve_fails_rather_than_leaves(aws_env, monkeypatch):
    monkeypatch.setattr(me.moto_inproc, "_handlers", lambda service: [])
    monkeypatch.setattr(me, "_CLIENTS", {})
    with pytest.raises(AssertionError, match="no moto lambda handler answers GET https://lambda"):
        me.client("lambda").list_functions()
