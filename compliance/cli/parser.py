"""The command line's grammar: every command, option and its help text, and nothing that runs.

Kept apart from the commands so that ``compliance --help`` (and every start-up) imports argparse
and this file only; what a command needs is imported when it is dispatched.
"""

from __future__ import annotations

import argparse
import functools

from compliance import __version__

DESCRIPTION = "Command line: every mode goes through collect -> snapshot -> evaluate -> report."
FORMATS = ("md", "html", "json", "sarif", "junit")
DEFAULT_FORMATS = ("md", "html", "json")


def _formats(text: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(x.strip() for x in text.split(",") if x.strip()))
    bad = [x for x in items if x not in FORMATS]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"formats must be among {', '.join(FORMATS)}")
    return items


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value



@functools.cache
def shared_parser() -> argparse.ArgumentParser:
    """The one parser ``main`` reads every command line with, built once per process.

    Building it costs ~4.5 ms (every command's options and help); a process that calls ``main``
    many times (the test suite: ~550 calls, 2.4 s of its CPU; a Python caller scripting commands)
    paid that per call. Parsing leaves a parser as it was (each parse makes a fresh namespace and
    argparse copies list defaults before ``append`` adds to them), so one instance serves every call.
    """
    return build_parser()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="compliance", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="exit codes: 0 all pass, 1 any fail, 2 any error or invalid input")
    p.add_argument("--version", action="version", version=f"compliance {__version__}")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr while a long stage runs (the summary and warnings still print)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def window(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--since", help="start of the window (YYYY-MM-DD or ISO 8601, UTC); default: 30 days back")
        sp.add_argument("--until", help="end of the window (a bare date means the end of that day); default: now")

    def outputs(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--out", help="report folder (default: the config's reports_dir, or reports/)")
        sp.add_argument("--format", type=_formats, default=DEFAULT_FORMATS,
                        help="comma list of md,html,json,sarif,junit (default: md,html,json)")
        lock(sp)

    def lock(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--lock-timeout", type=_seconds, metavar="SECONDS",
                        help="wait at most this long for another run writing the same report folder, "
                             "then exit 2 (default: 30)")

    def gating(sp: argparse.ArgumentParser, new: bool = True) -> None:
        sp.add_argument("--fail-on", metavar="SEVERITY", choices=("critical", "high", "medium", "low", "info"),
                        help="only failures at or above this severity fail the run (errors still do)")
        sp.add_argument("--soft-fail", action="store_true",
                        help="exit 0 whatever the findings (invalid input still exits 2)")
        if new:  # needs --previous, which merge has not
            sp.add_argument("--fail-on-new", action="store_true",
                            help="with --previous: only failures and errors new since that report gate the run "
                                 "(all are still reported)")

    def governance(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--waivers", metavar="FILE", help="waiver file (owned, expiring exceptions; see README)")
        sp.add_argument("--waiver-warn-days", type=int, metavar="N",
                        help="warn about waivers expiring within N days (default: the file's warn_days, or 14)")
        sp.add_argument("--previous", metavar="FILE",
                        help="a previous audit's report.json: report new, fixed and still-failing findings")

    dp = sub.add_parser("deploy", help="deploy the canonical way, validate, and record evidence in the tracker")
    dp.add_argument("--config", default="compliance.yaml")
    dp.add_argument("--target", metavar="NAME", help="the target to deploy, in a multi-target config")
    dp.add_argument("--ref", help="the commit to deploy (must be checked out and on the governed branch)")
    dp.add_argument("--dry-run", action="store_true", help="preflight and print the plan only")
    dp.add_argument("--out", help="report and log folder (default: the config's reports_dir)")
    dp.add_argument("--rotate-key", action="store_true",
                    help="pass COORDINATION_INTERNAL_API_KEY from the environment to the deploy script")
    dp.add_argument("--wait-timeout", type=float, default=300, help="seconds to wait for the Lambda update")
    dp.add_argument("--timeout", type=float, default=3600, metavar="SECONDS",
                    help="stop the deploy script (and everything it started) after SECONDS (default 3600)")
    dp.add_argument("--report-url", help="where the reports will be published, named in the worklogs")
    dp.add_argument("--waivers", metavar="FILE", help="waiver file, applied to the deploy's report as in every mode")
    lock(dp)

    d = sub.add_parser("demo", help="build a realistic sample system and run the full pipeline on it")
    d.add_argument("--workdir", help="where to build the sample (default: a fresh temp dir)")
    d.add_argument("--out", default="reports/demo", help="report folder (default: reports/demo)")
    lock(d)
    governance(d)

    c = sub.add_parser("collect", help="collect every source into a snapshot file")
    c.add_argument("--config", default="compliance.yaml")
    c.add_argument("--target", metavar="NAME", help="the target to collect, in a multi-target config")
    c.add_argument("--snapshot", required=True, help="snapshot file to write")
    window(c)

    e = sub.add_parser("evaluate", help="re-evaluate a saved snapshot offline and write reports")
    e.add_argument("--snapshot", required=True)
    e.add_argument("--policies", nargs="+", help="rule files or folders, or builtin:NAME (default: the built-in rules)")
    outputs(e)
    governance(e)
    gating(e)
    e.add_argument("--no-waivers", action="store_true",
                   help="ignore the waivers.yaml saved beside the snapshot (used by default if present)")

    a = sub.add_parser("audit", help="collect, evaluate and report in one go")
    a.add_argument("--config", default="compliance.yaml")
    window(a)
    outputs(a)
    governance(a)
    gating(a)
    a.add_argument("--tracking-issue", action="store_true",
                   help="on fail/error open or update ONE tracking issue in target.github_repo; close it on pass")
    a.add_argument("--target", action="append", default=[], metavar="NAME",
                   help="audit only this target of a multi-target config (repeatable; default: all)")
    a.add_argument("--jobs", type=int, metavar="N",
                   help="targets collected at once (default: min(4, number of targets))")

    t = sub.add_parser("targets", help="list the config's target names (--json: for a CI matrix)")
    t.add_argument("--config", default="compliance.yaml")
    t.add_argument("--json", action="store_true", help="one line of JSON: the list of target names")

    m = sub.add_parser("merge", help="merge per-target report.json files (e.g. from a CI matrix) into one report")
    m.add_argument("reports", nargs="+", metavar="REPORT.json")
    m.add_argument("--out", required=True, help="folder for the merged report")
    m.add_argument("--format", type=_formats, default=DEFAULT_FORMATS,
                   help="comma list of md,html,json,sarif,junit (default: md,html,json)")
    lock(m)
    gating(m, new=False)

    pr = sub.add_parser("pr", help="judge a pull request before merge and publish the verdict on GitHub; "
                                   "with --base, judge the local branch without GitHub")
    pr.add_argument("--config", default="compliance.yaml")
    pr.add_argument("--target", metavar="NAME", help="the target to judge, in a multi-target config")
    pr.add_argument("--pr", type=int, help="PR number (default: from GITHUB_EVENT_PATH; with --base: none)")
    pr.add_argument("--base", metavar="REF", help="local check, no GitHub: judge git diff REF...HEAD as the PR "
                                                  "it would open, e.g. --base origin/main")
    pr.add_argument("--head", metavar="REF", default="HEAD", help="with --base: the branch's head (default: HEAD)")
    pr.add_argument("--title", help="with --base: the PR title (default: the head commit's subject)")
    pr.add_argument("--body", help="with --base: the PR body (default: the rest of the head commit's message)")
    pr.add_argument("--head-ref", help="read repository files at this ref (default: the PR's head sha)")
    pr.add_argument("--publish", choices=("check-run", "status", "none"), default="none",
                    help="check-run (falls back to a commit status without checks: write), status, or none")
    pr.add_argument("--comment", action="store_true", help="keep ONE summary comment on the PR, updated in place")
    pr.add_argument("--sarif", metavar="FILE", help="also write SARIF 2.1.0 here")
    pr.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")
    outputs(pr)
    governance(pr)
    gating(pr)

    ch = sub.add_parser("changes", help="list the in-scope changes (first-parent commits) of a repository")
    ch.add_argument("--repo", default=".")
    ch.add_argument("--branch", default="main")
    window(ch)
    ch.add_argument("--policy", help="take the scope from this rule file (union of its rules' scopes)")
    ch.add_argument("--path", action="append", default=[], help="include glob (repeatable)")
    ch.add_argument("--exclude", action="append", default=[], help="exclude glob (repeatable)")
    ch.add_argument("--id-pattern", help="tracker id regex (default: ENC-TSK-123 style ids)")
    ch.add_argument("--format", choices=("table", "json"), default="table")

    r = sub.add_parser("rules", help="validate, list and document rule files")
    rs = r.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    rv = rs.add_parser("validate", help="validate rule files; exit 2 with FILE:LINE:COL messages if invalid")
    rv.add_argument("paths", nargs="*", help="rule files or folders, or builtin:NAME (default: the built-in rules)")
    rl = rs.add_parser("list", help="list the rules")
    rl.add_argument("paths", nargs="*", help="rule files or folders, or builtin:NAME (default: the built-in rules)")
    rl.add_argument("--builtin", action="store_true", help="list every rule set shipped with the checker")
    rs.add_parser("schema", help="print the rule-file JSON Schema generated from the check registry")
    rs.add_parser("reference", help="print the Markdown reference of rule format and check kinds")
    rt = rs.add_parser("test", help="run each rule against its test cases; exit 1 if any case fails")
    rt.add_argument("--policies", nargs="+", help="rule files or folders, or builtin:NAME (default: the built-in rules)")
    rt.add_argument("--cases", help="folder of case files (default: tests/ inside the first policies folder)")
    rt.add_argument("--rule", action="append", default=[], help="only this rule id (repeatable)")

    b = sub.add_parser("backtest", help="judge a (draft) rule against a past window; informational, exit 0")
    b.add_argument("--policy", nargs="+", required=True, help="rule file(s) to try, e.g. a draft")
    b.add_argument("--rule", action="append", default=[], help="only this rule id (repeatable)")
    src = b.add_mutually_exclusive_group()
    src.add_argument("--config", help="collect from this compliance.yaml (default: compliance.yaml)")
    src.add_argument("--snapshot", help="judge a saved snapshot instead of collecting")
    window(b)
    b.add_argument("--all", action="store_true", help="list passing findings too")
    b.add_argument("--out", help="also write report.{md,html,json} and the snapshot here (default: write nothing)")
    lock(b)
    pk = sub.add_parser("package", help="bundle a report folder, its snapshot, rules and waivers into a verifiable "
                                         "audit package (.tar.gz with a manifest and an in-toto statement)",
                        epilog="exit codes: 0 written (and verified), 2 the folder cannot be packaged")
    pk.add_argument("report_dir", metavar="REPORT_DIR", help="a report folder written by audit, evaluate or demo")
    pk.add_argument("--out", required=True, metavar="FILE.tar.gz", help="the package to write")
    pk.add_argument("--policies", nargs="+", metavar="PATH",
                    help="where to find the rule files the report was judged with, if they moved (matched by digest)")
    pk.add_argument("--previous", metavar="FILE",
                    help="the previous report.json the report diffs against (default: REPORT_DIR/previous/report.json)")
    vp = sub.add_parser("verify-package", help="check an audit package's digests and re-judge its snapshot offline",
                        epilog="exit codes: 0 every digest matches and the report re-computes byte for byte, "
                               "2 not a readable package, 3 tampered (a digest, the manifest or the statement does "
                               "not match), 4 the digests match but the report does not follow from the evidence")
    vp.add_argument("package", metavar="FILE.tar.gz")
    for sp in sub.choices.values():  # also after the command; SUPPRESS keeps a --quiet given before it
        sp.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress on stderr while a long stage runs")
    return p
