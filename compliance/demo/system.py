"""The sample system's names, people and clocks, shared by every part of the demo's story."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

DEMO_SINCE = "2026-02-20"
DEMO_UNTIL = "2026-03-21"
DEMO_PACKAGE = "audit-package.tar.gz"  # the demo's audit package, beside its report set

OWNER = "NX-2021-L"
REPO = "enceladus"
GITHUB_REPO = f"{OWNER}/{REPO}"
BRANCH = "main"
REGION = "us-west-2"
ACCOUNT = "123456789012"
FUNCTION = "devops-coordination-api"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
HTTP_API = "devops-tracker-api"
WORKFLOW = ".github/workflows/api-mcp-backend-deploy.yml"
WORKFLOW_NAME = "API + MCP Backend Deploy"
WORKFLOW_ID = 118273645
DEPLOY_SCRIPT = "backend/lambda/coordination_api/deploy.sh"
DEPLOY_STEP = "Deploy coordination API"
TRACKER_TABLE = "devops-project-tracker"
DM_TABLE = "devops-deployment-manager"

API_DIR = "backend/lambda/coordination_api"
MCP_DIR = "tools/enceladus-mcp-server"
DICTIONARY = f"{API_DIR}/governance_data_dictionary.json"
NOTE = "docs/notes/déploiement.md"

Person = tuple[str, str]
OWNER_P: Person = ("NX-2021-L", "41872345+NX-2021-L@users.noreply.github.com")
AGENT: Person = ("enceladus-agent", "enceladus-agent@users.noreply.github.com")
GITHUB_P: Person = ("GitHub", "noreply@github.com")

PST = timezone(timedelta(hours=-8))
PDT = timezone(timedelta(hours=-7))
UTC = timezone.utc


def at(text: str, tz: timezone) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def lambda_time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
