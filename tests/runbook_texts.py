"""The enceladus runbook's versions in small, for tests that build real histories (test_runbook_sync,
test_examples): created with the workflow, then 03-api.yaml in the Scope with its own CloudFormation
workflow, then "Why This Process Exists" rewritten (domain.md, "The runbook in the repository")."""

V1 = """# API + MCP Deployment Process

## Scope

- `backend/lambda/coordination_api/**`
- `tools/enceladus-mcp-server/**`

These paths are deployed together because the coordination API package embeds the MCP server runtime
(`server.py` and `dispatch_plan_generator.py`) during build.

## Why This Process Exists

Non-UI requests are queued as `queued_non_ui`; nothing executes them.

## Canonical Automation

- Workflow: `.github/workflows/api-mcp-backend-deploy.yml`
- Job action: runs `backend/lambda/coordination_api/deploy.sh`
- Trigger:
  - push to `main` touching scoped paths
  - manual `workflow_dispatch`

## Validation Requirements

1. `devops-coordination-api` Lambda reports `State=Active` and `LastUpdateStatus=Successful`.
2. API Gateway integration/routes remain present for `/api/v1/coordination/*`.
3. Capability endpoint responds through production path.

## Governance / Compliance Notes

- Do not submit API/MCP changes through the UI deployment-manager request flow.
"""
V2 = V1.replace("- `tools/enceladus-mcp-server/**`\n",
                "- `tools/enceladus-mcp-server/**`\n- `infrastructure/cloudformation/03-api.yaml`\n").replace(
    "## Validation Requirements", """## API Stack (CloudFormation) Automation

Route/integration changes in `03-api.yaml` are deployed via:

- Workflow: `.github/workflows/cloudformation-api-stack-deploy.yml`
- Template: `infrastructure/cloudformation/03-api.yaml`

## Validation Requirements""")
V3 = V2.replace("Non-UI requests are queued as `queued_non_ui`; nothing executes them.",
                "`lambda_update` requests can run inline in `deploy_orchestrator`, best effort; that does not\n"
                "replace the dedicated API/MCP deployment workflow.")
CFN_WORKFLOW = """name: API stack deploy
on:
  push:
    branches: [main]
    paths: ["infrastructure/cloudformation/03-api.yaml"]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: aws cloudformation deploy --stack-name enceladus-api --template-file infrastructure/cloudformation/03-api.yaml
"""
