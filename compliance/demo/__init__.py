"""A self-contained sample of the governed system, for ``compliance demo``.

The demo has to show every kind of verdict without network access or credentials, yet still
exercise the real collectors: the git source reads a REAL repository built here, the probe
really connects (to a loopback port nothing listens on), and only the cloud-side sources are
replaced by JSON files, each shaped exactly like the ``data`` object its live collector
returns. Every SHA in those files is a commit of the generated repository, so joins between
sources (run -> commit, worklog -> commit, Lambda LastModified -> deploy step) are real joins.

The repository is written with one ``git fast-import`` stream (``fastimport``): author and committer dates,
time zones and identities are all in the stream, so the SHAs are identical on every machine
and the whole build costs a handful of processes.

Designed outcomes (see ``story`` and the data builders for the why of each one):

- an in-scope change (the last one) that no successful run deployed, with a failed Lambda
  update whose ``LastModified`` falls inside that run's deploy step;
- an in-scope change just before it whose failed run was re-run minutes before the collection and
  is still ``in_progress``: it may still deploy that change, so the change is ``pending`` (not
  judged yet). A re-run keeps the run's ``created_at`` (inside the window, as the live listing by
  creation date returns it) and restarts ``run_started_at``, which is dated relative to the
  build like the waivers, because the demo collects with the wall clock;
- a cancelled run whose change a later successful run still deployed (GitHub concurrency);
- a failed push run repaired by a ``workflow_dispatch`` run of the same commit;
- tracker evidence that is complete, incomplete (no LastModified), absent, structured-only,
  missing from the tracker altogether, or hostile text that reports must render inert;
- an in-scope direct push without a tracker id;
- a ``lambda_update`` deployment-manager request targeting the coordination API function;
- a workflow whose validation step only prints, and whose ``paths`` miss
  ``infrastructure/cloudformation/03-api.yaml``;
- a runbook whose Scope, in its last version, gains ``infrastructure/cloudformation/03-api.yaml`` with an
  automation section (and workflow) of its own, as enceladus's did, while the rules' scopes stay as they
  were: runbook drift (``runbook_sync``) at the runbook's line; the previous audit read the first version;
- routes and integrations all present; a capability probe that fails (connection refused);
- a ``waivers.yaml`` dated relative to today (the demo collects with the wall clock): one waiver
  applied, one applied but expiring soon, one expired, one that matches only an ``error``
  finding (never waived) and one no longer needed;
- a "previous audit" (``previous_snapshot``): a week earlier, when the last changes had not
  happened yet and a route was missing, so the diff has new, fixed and still-failing entries.

The package: ``story`` (the commits) over ``history`` (the commit model) and ``tree`` (the
files, shipped as package data in ``files/``), ``fastimport`` and ``repo`` (writing the
repository), ``runs``, ``cloud`` and ``tracker`` (the sources' data), ``build`` (the directory,
config, waivers and the previous audit). The names below are its interface.
"""

from __future__ import annotations

from compliance.demo.build import (
    PREVIOUS_UNTIL,
    build_demo,
    closed_loopback_port,
    date_waivers,
    policies_dir,
    previous_snapshot,
    waivers_yaml,
)
from compliance.demo.repo import demo_commits
from compliance.demo.system import (
    ACCOUNT,
    BRANCH,
    DEMO_PACKAGE,
    DEMO_SINCE,
    DEMO_UNTIL,
    DEPLOY_SCRIPT,
    DEPLOY_STEP,
    DM_TABLE,
    FUNCTION,
    FUNCTION_ARN,
    GITHUB_REPO,
    HTTP_API,
    OWNER,
    REGION,
    REPO,
    TRACKER_TABLE,
    WORKFLOW,
    WORKFLOW_ID,
    WORKFLOW_NAME,
)
from compliance.demo.tree import file_text

__all__ = [
    "ACCOUNT", "BRANCH", "DEMO_PACKAGE", "DEMO_SINCE", "DEMO_UNTIL", "DEPLOY_SCRIPT", "DEPLOY_STEP", "DM_TABLE", "FUNCTION",
    "FUNCTION_ARN", "GITHUB_REPO", "HTTP_API", "OWNER", "PREVIOUS_UNTIL", "REGION", "REPO", "TRACKER_TABLE",
    "WORKFLOW", "WORKFLOW_ID", "WORKFLOW_NAME", "build_demo", "closed_loopback_port", "date_waivers", "demo_commits",
    "file_text", "policies_dir", "previous_snapshot", "waivers_yaml",
]
