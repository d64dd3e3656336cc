"""A real local AWS (moto's server over HTTP) and builders for the governed system's resources.

boto3 reaches moto through ``AWS_ENDPOINT_URL`` exactly as it would reach AWS, so the collectors
run unchanged: real serialisation, real paginators, real retries. The builders create what
domain.md describes (the coordination Lambda, the tracker HTTP API, the two tables) so tests
and other suites can share one realistic account; their own requests are answered by the same
moto in this process, without the socket (``client``, tests/moto_inproc.py).

moto limits worth knowing (tests work around them, see test_aws_sources.py):
- Lambda functions are always ``Active`` / ``Successful``; invoking needs docker, so nothing invokes.
- ``list_functions`` includes ``State``, unlike real AWS.
- API Gateway v2 ``GetRoutes`` / ``GetIntegrations`` / ``GetApis`` ignore ``MaxResults`` (one page).
"""

from __future__ import annotations

import io
import json
import os
import socket
import urllib.request
import zipfile
from typing import Any

from tests import moto_inproc

REGION = "us-west-2"
ACCOUNT = "123456789012"
FUNCTION = "devops-coordination-api"
HTTP_API = "devops-tracker-api"
TRACKER_TABLE = "devops-project-tracker"
DM_TABLE = "devops-deployment-manager"
PROJECT = "enceladus"
ROLE = "devops-coordination-api-role"
COORDINATION_ROUTES = [
    "GET /api/v1/coordination/capabilities",
    "POST /api/v1/coordination/requests",
    "GET /api/v1/coordination/requests/{requestId}",
    "GET /api/v1/coordination/mcp",
    "POST /api/v1/coordination/mcp",
]


def start_server():
    """Start moto on a free loopback port; return ``(server, endpoint_url)``."""
    import logging

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per request otherwise

    class CachedDispatcher(DomainDispatcherApplication):
        """moto's dispatcher, remembering which backend serves a host.

        moto resolves the backend on every request by listing its package folder and ``isdir``-ing every
        entry, then trying its URL patterns (~1 ms a request, ~12% of the suite's samples under py-spy).
        The answer depends only on the host string and moto's installed files, so it is cached; the
        request itself is still parsed and answered by moto as before.
        """

        _backends: dict = {}

        def get_backend_for_host(self, host):
            if host not in self._backends:
                self._backends[host] = super().get_backend_for_host(host)
            return self._backends[host]

    class QuickStopServer(ThreadedMotoServer):
        """moto's server, polling for shutdown every 20 ms instead of serve_forever's 0.5 s default.

        Every teardown waited up to half a second for the poll; across the suite that was ~20 s.
        """

        def _server_entry(self) -> None:
            app = CachedDispatcher(create_backend_app)
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=0.02)

    server = QuickStopServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def point_at(monkeypatch, endpoint: str) -> None:
    """boto3 (and the aws CLI) reach ``endpoint`` with fake credentials and no profile (conftest ``aws_env``)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


def reset(endpoint: str) -> None:
    """Forget every resource, so each test starts from an empty account."""
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
        resp.read()


def closed_port() -> int:
    """A loopback port nothing listens on: the OS picked it free and it was released again."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


IN_PROCESS = True  # the tests' own clients are answered in this process; False: over HTTP, as the code under test
_CLIENTS: dict[tuple, Any] = {}


def client(service: str, region: str = REGION):
    """The tests' own boto3 client (builders, read-backs), one per service and AWS environment.

    Its requests are answered by moto in this process (tests/moto_inproc.py), not over HTTP: the same
    moto handler, the same account, ~2 ms of CPU less a request. With ``IN_PROCESS`` false it goes
    through the server as the code under test does (tests/test_moto_inproc.py compares the two).

    Creating a client costs ~20-40 ms of CPU and the suite made thousands (every builder of every test):
    ~6 s. A client is bound at creation to what the ``AWS_*`` variables said (credentials, and the
    endpoint over HTTP), so it is kept per those values and a test pointing boto3 elsewhere gets
    a client of its own. The code under test never sees these: its collectors build their own clients."""
    import boto3

    key = (service, region, IN_PROCESS, _aws_environment())
    if key not in _CLIENTS:
        if IN_PROCESS:
            made = boto3.client(service, region_name=region, config=moto_inproc.client_config())
            _CLIENTS[key] = moto_inproc.attach(made)
        else:
            _CLIENTS[key] = boto3.client(service, region_name=region)
    return _CLIENTS[key]


def _aws_environment() -> tuple:
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


_RESOURCES: dict[tuple, Any] = {}


def _dynamodb_resource():
    """The tests' DynamoDB resource (item writes in the builders), kept as ``client`` keeps clients.

    A new one per table cost ~15 ms of CPU (a session, a client and the resource model), twice per
    built deploy system; kept per ``AWS_*`` environment for the same reason a client is, and answered
    where ``client``'s are."""
    import boto3

    key = (IN_PROCESS, _aws_environment())
    if key not in _RESOURCES:
        if IN_PROCESS:
            _RESOURCES[key] = boto3.resource("dynamodb", region_name=REGION, config=moto_inproc.client_config())
            moto_inproc.attach(_RESOURCES[key].meta.client)
        else:
            _RESOURCES[key] = boto3.resource("dynamodb", region_name=REGION)
    return _RESOURCES[key]


# --------------------------------------------------------------------------- Lambda

def handler_zip(revision: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("lambda_function.py", "def lambda_handler(event, context):\n"
                                          f"    return {{'statusCode': 200, 'body': '{{}}'}}  # r{revision}\n")
    return buf.getvalue()


def create_role(name: str = ROLE) -> str:
    """The execution role moto requires to exist before a function can name it; returns its ARN."""
    iam = client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "lambda.amazonaws.com"}}]}
    try:
        return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        return iam.get_role(RoleName=name)["Role"]["Arn"]


def create_function(name: str = FUNCTION, *, publish_versions: int = 0, description: str = "") -> dict[str, Any]:
    """Create the function (never invoked); optionally publish N versions. Returns its configuration.

    Each version gets new code first: publishing unchanged code returns the existing version (AWS and moto).
    """
    lam = client("lambda")
    cfg = lam.create_function(FunctionName=name, Runtime="python3.11", Role=create_role(),
                              Handler="lambda_function.lambda_handler", Code={"ZipFile": handler_zip()},
                              Description=description, Timeout=30)
    for n in range(publish_versions):
        if n:
            lam.update_function_code(FunctionName=name, ZipFile=handler_zip(n))
        lam.publish_version(FunctionName=name, Description=f"deploy {n + 1}")
    return cfg


# --------------------------------------------------------------------------- API Gateway v2

def create_http_api(name: str = HTTP_API, *, function: str = FUNCTION, routes: list[str] | None = None,
                    options_twins: bool = True) -> dict[str, Any]:
    """The HTTP API with the coordination routes, all targeting one AWS_PROXY integration (payload 2.0).

    The function need not exist: the integration only names its ARN. Returns
    ``{"api_id", "integration_id", "route_keys", "endpoint"}``.
    """
    gw = client("apigatewayv2")
    api = gw.create_api(Name=name, ProtocolType="HTTP")
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    integ = gw.create_integration(ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=arn,
                                  PayloadFormatVersion="2.0", IntegrationMethod="POST")
    keys = list(routes if routes is not None else COORDINATION_ROUTES)
    if options_twins:
        keys += sorted({"OPTIONS " + k.split(" ", 1)[1] for k in keys})
    for key in keys:
        gw.create_route(ApiId=api["ApiId"], RouteKey=key, Target=f"integrations/{integ['IntegrationId']}",
                        AuthorizationType="NONE")
    return {"api_id": api["ApiId"], "integration_id": integ["IntegrationId"], "route_keys": keys,
            "endpoint": api.get("ApiEndpoint")}


# --------------------------------------------------------------------------- DynamoDB

def _create_table(name: str) -> None:
    ddb = client("dynamodb")
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "project_id", "AttributeType": "S"},
                                           {"AttributeName": "record_id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "project_id", "KeyType": "HASH"},
                                {"AttributeName": "record_id", "KeyType": "RANGE"}])


def _put_all(name: str, items: list[dict[str, Any]]) -> None:
    table = _dynamodb_resource().Table(name)
    with table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)


def tracker_item(item_id: str, title: str, *worklogs: str, project: str = PROJECT, **fields: Any) -> dict[str, Any]:
    """A tracker item as the real table holds it: typed record_id, history list, optional structured fields."""
    kind = {"TSK": "task", "ISS": "issue", "FTR": "feature", "LSN": "lesson", "PLN": "plan",
            "GEN": "generation"}[item_id.split("-")[1]]
    history = [{"timestamp": "2026-02-24T10:00:00Z", "status": "created", "description": f"Created {kind}: {title}"}]
    history += [{"timestamp": f"2026-02-26T12:{31 + i:02d}:02Z", "status": "worklog", "description": text}
                for i, text in enumerate(worklogs)]
    return {"project_id": project, "record_id": f"{kind}#{item_id}", "item_id": item_id, "title": title,
            "status": "closed" if worklogs else "open", "history": history, "priority": 2, **fields}


EVIDENCE = ("Deployed commit 9febe19f1368 via api-mcp-backend-deploy; devops-coordination-api "
            "LastModified=2026-02-25T08:29:47.000+0000 State=Active LastUpdateStatus=Successful; "
            "GET /api/v1/coordination/capabilities -> 200")


def default_tracker_items() -> list[dict[str, Any]]:
    from decimal import Decimal

    return [
        tracker_item("ENC-TSK-325", "Expose capabilities contract version", EVIDENCE),
        tracker_item("ENC-ISS-640", "Dispatch plan emits dependent steps first",
                     "Deployed commit 1a2b3c4d5e via api-mcp-backend-deploy; State=Active"),
        tracker_item("ENC-TSK-1005", "Coordination request status route", commit_sha="9febe19f1368aa",
                     transition_type="lambda_deploy",
                     deploy_evidence=json.dumps({"commit": "9febe19f1368aa", "state": "Active"}),
                     live_validation_evidence=json.dumps({"status": 200}), score=Decimal("0.5")),
        tracker_item("ENC-FTR-056", "Project dashboard"),
        tracker_item("ENC-TSK-B10-0A", "MCP server health tool"),
        tracker_item("ENC-TSK-325", "Another project's task with the same id", project="other"),
    ]


def create_tracker_table(items: list[dict[str, Any]] | None = None, name: str = TRACKER_TABLE) -> list[dict[str, Any]]:
    """The tracker table with realistic items (default: ``default_tracker_items()``); returns what was put."""
    items = default_tracker_items() if items is None else items
    _create_table(name)
    _put_all(name, items)
    return items


def dm_request(rid: str, status: str = "included", dtype: str = "github_public_static", *,
               project: str = PROJECT, files: list[str] | None = None, target_arn: str | None = None,
               related: list[str] | None = None) -> dict[str, Any]:
    """A deploy-manager request row; ``rid`` is ``REQ-<YYYYMMDDTHHMMSSZ>-<6 hex>``."""
    stamp = rid.split("-")[1]
    submitted = f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
    row: dict[str, Any] = {
        "project_id": project, "record_id": f"request#{rid}", "request_id": rid, "status": status,
        "deployment_type": dtype, "submitted_at": submitted, "submitted_by": "enceladus-agent",
        "summary": f"request {rid}", "changes": [f"request {rid}"], "related_record_ids": related or [],
        "files_changed": files or ["frontend/ui/src/pages/Board.tsx"],
    }
    if target_arn:
        row["non_ui_config"] = json.dumps({"service_group": "coordination_api", "target_arn": target_arn})
    return row


def dm_spec(sid: str, status: str = "deployed", category: str = "ui", *, project: str = PROJECT,
            request_ids: list[str] | None = None, arns: list[str] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"project_id": project, "record_id": f"spec#{sid}", "spec_id": sid, "status": status,
                           "deployment_category": category, "request_ids": request_ids or []}
    if arns:
        row["non_ui_target_arns"] = arns
    return row


FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"


def default_dm_items() -> list[dict[str, Any]]:
    """March 2026: two UI requests, the forbidden lambda_update one, their specs, a deploy row, and noise."""
    forbidden = "REQ-20260318T181500Z-9c4e1f"
    return [
        dm_request("REQ-20260301T101500Z-a1b2c3", related=["ENC-TSK-331"]),
        dm_request("REQ-20260305T173200Z-5e7d20", related=["ENC-TSK-345"]),
        dm_request(forbidden, "included", "lambda_update", target_arn=FUNCTION_ARN, related=["ENC-TSK-370"],
                   files=["backend/lambda/coordination_api/lambda_function.py"]),
        dm_request("REQ-20260210T090000Z-000001", related=["ENC-TSK-300"]),  # before the window
        dm_request("REQ-20260320T090000Z-0000aa", project="other"),  # another project
        dm_spec("SPEC-20260301T103000Z", request_ids=["REQ-20260301T101500Z-a1b2c3"]),
        dm_spec("SPEC-20260318T183000Z", "queued_non_ui", "non_ui", request_ids=[forbidden], arns=[FUNCTION_ARN]),
        {"project_id": PROJECT, "record_id": "deploy#DEP-20260301T104500Z", "status": "succeeded"},
    ]


def create_deploy_manager_table(items: list[dict[str, Any]] | None = None, name: str = DM_TABLE
                                ) -> list[dict[str, Any]]:
    """The deployment-manager table with realistic rows (default: ``default_dm_items()``)."""
    items = default_dm_items() if items is None else items
    _create_table(name)
    _put_all(name, items)
    return items


# --------------------------------------------------------------------------- plain loopback HTTP

class LoopbackServer:
    """A real HTTP server on 127.0.0.1 in a thread, answering from a function (see conftest ``http_server``)."""

    def __init__(self, respond):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        owner = self
        self.seen: list[tuple[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.request_body = self.rfile.read(length) if length else b""
                owner.seen.append((self.command, self.path))
                try:
                    status, headers, body = respond(self)
                except (BrokenPipeError, ConnectionResetError):
                    return
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # serve_forever polls for shutdown every 0.5 s by default, so every close() waited up to that long:
        # ~35 s of the suite's teardowns (measured with --durations). 20 ms, as the moto server above.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
