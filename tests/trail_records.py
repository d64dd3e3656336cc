"""CloudTrail records shaped as AWS documents them, for the cloudtrail source and deploy_principal tests."""

from __future__ import annotations

import gzip
import json

from tests import moto_env as me

ROLE = f"arn:aws:iam::{me.ACCOUNT}:role/gh-deploy"


def identity(role: str = ROLE, session_role: str | None = None, *, console: bool = False,
             account: str = me.ACCOUNT) -> dict:
    """``userIdentity`` of an assumed-role session of ``role`` (``session_role``: the name the session ARN shows)."""
    name = role.rsplit("/", 1)[-1]
    out = {"type": "AssumedRole", "principalId": "AROAEXAMPLE:run-1",
           "arn": f"arn:aws:sts::{account}:assumed-role/{session_role or name}/run-1", "accountId": account,
           "accessKeyId": "ASIAEXAMPLE",
           "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": role,
                                                "accountId": role.split(":")[4], "userName": name},
                              "attributes": {"creationDate": "2026-03-01T00:00:00Z", "mfaAuthenticated": "false"}}}
    if console:
        out["sessionCredentialFromConsole"] = "true"
    return out


def record(event_id: str, when: str, *, name: str = "UpdateFunctionCode20150331v2", function: str = me.FUNCTION,
           source: str = "lambda.amazonaws.com", console: bool = False, who: dict | None = None,
           error: str | None = None) -> dict:
    """A Lambda management event shaped as CloudTrail documents it (an assumed-role session)."""
    user = who if who is not None else identity(console=console)
    out = {"eventVersion": "1.08", "userIdentity": user, "eventTime": when, "eventSource": source,
           "eventName": name, "awsRegion": me.REGION, "sourceIPAddress": "192.0.2.10", "userAgent": "Boto3/1.34",
           "requestParameters": {"functionName": function, "environment": {"variables": {"API_KEY": "secret"}}},
           "responseElements": {"functionName": function, "codeSha256": "q1w2e3=", "revisionId": "rev-1",
                                "lastModified": when.replace("Z", ".000+0000")},
           "requestID": f"req-{event_id}", "eventID": event_id, "readOnly": False, "eventType": "AwsApiCall",
           "managementEvent": True, "recipientAccountId": me.ACCOUNT}
    if error:
        out["errorCode"] = error
    return out


TRAIL_BUCKET = "org-cloudtrail"
CODEBUILD_ROLE = f"arn:aws:iam::{me.ACCOUNT}:role/service-role/codebuild-deploy-manager"


def trail_key(when: str, n: int = 1, region: str = me.REGION, prefix: str = "") -> str:
    """Where the trail writes a log file of ``when``'s day (``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/``)."""
    day = when[:10].replace("-", "/")
    return (f"{prefix}AWSLogs/{me.ACCOUNT}/CloudTrail/{region}/{day}/"
            f"{me.ACCOUNT}_CloudTrail_{region}_{when[:10].replace('-', '')}T1200Z_{n}.json.gz")


def create_trail(*records: dict, bucket: str = TRAIL_BUCKET):
    """The trail bucket in moto, each record in its day's gzip JSON log file; returns the S3 client."""
    s3 = me.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": me.REGION})
    by_key: dict[str, list[dict]] = {}
    for rec in records:
        by_key.setdefault(trail_key(rec["eventTime"]), []).append(rec)
    for key, recs in by_key.items():
        put_log(s3, key, *recs, bucket=bucket)
    return s3


def put_log(s3, key: str, *records: dict, bucket: str = TRAIL_BUCKET) -> None:
    """One trail log file: gzip JSON ``{"Records": [...]}``."""
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(json.dumps({"Records": list(records)}).encode()))
