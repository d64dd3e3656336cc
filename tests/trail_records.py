"""CloudTrail records shaped as AWS documents them, for the cloudtrail source and deploy_principal tests."""

from __future__ import annotations

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
