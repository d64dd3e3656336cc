"""Command line: every mode goes through collect -> snapshot -> evaluate -> report.

Exit codes (also in the README):
  0  every finding passed, was waived or was not applicable
  1  at least one finding failed
  2  at least one finding could not be evaluated (`error`), or the input was invalid
     (rule/config/snapshot file, bad arguments, repository not found)
--fail-on SEVERITY and --soft-fail reshape 1 and 2 for findings (see compliance/gating.py); invalid
input always exits 2. Publishing to GitHub never changes the exit code: its failures are warnings.
`compliance demo` exits 0 when the demo run itself completed, whatever its verdicts; `compliance backtest`
is informational and exits 0 whenever it ran. `compliance rules test` exits 1 when a case fails.
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path
from typing import Any

from compliance import __version__
from compliance.base.errors import EXIT_ERROR, EXIT_OK, ComplianceError, InputError

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


def _window(args: argparse.Namespace) -> tuple[Any, Any]:
    from compliance.base.timeutil import parse_bound, utcnow, window_start

    until = parse_bound(args.until, end=True) if args.until else utcnow()
    since = parse_bound(args.since) if args.since else window_start(until, 30)
    if since > until:
        raise ComplianceError(f"--since {args.since} is after --until {args.until}")
    return since, until


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="compliance", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="exit codes: 0 all pass, 1 any fail, 2 any error or invalid input")
    p.add_argument("--version", action="version", version=f"compliance {__version__}")
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

    def gating(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--fail-on", metavar="SEVERITY", choices=("critical", "high", "medium", "low", "info"),
                        help="only failures at or above this severity fail the run (errors still do)")
        sp.add_argument("--soft-fail", action="store_true",
                        help="exit 0 whatever the findings (invalid input still exits 2)")

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
    gating(m)

    pr = sub.add_parser("pr", help="judge a pull request before merge and publish the verdict on GitHub")
    pr.add_argument("--config", default="compliance.yaml")
    pr.add_argument("--target", metavar="NAME", help="the target to judge, in a multi-target config")
    pr.add_argument("--pr", type=int, help="PR number (default: from GITHUB_EVENT_PATH)")
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
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A run builds millions of small acyclic objects (a dict per commit, file and finding) and
    # exits; the cyclic collector would re-scan them all again and again, 10-15% of an audit of
    # 100,000 commits. Reference counting still frees everything; cycles wait for the end.
    from compliance.base.console import sanitized_output

    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with sanitized_output():  # one sanitizer for every line any mode prints
            return _run(args)
    finally:
        if gc_was_enabled:
            gc.enable()


def _run(args: argparse.Namespace) -> int:
    from compliance.base import fsutil

    timeout = getattr(args, "lock_timeout", None)
    fsutil.lock_timeout = fsutil.DEFAULT_LOCK_TIMEOUT if timeout is None else timeout
    try:
        return COMMANDS[args.command](args)
    except InputError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"compliance: invalid {exc.what}: {len(exc.problems)} problem(s); nothing was evaluated",
              file=sys.stderr)
        return EXIT_ERROR
    except ComplianceError as exc:
        print(f"compliance: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. `compliance changes | head`: the reader left, nothing to report
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("compliance: interrupted; nothing half-written", file=sys.stderr)
        return 130
    except OSError as exc:  # a file the run had to read or write: a clear message, never a traceback
        where = f": {exc.filename}" if exc.filename else ""
        print(f"compliance: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_ERROR


# --- commands -------------------------------------------------------------------------------


def cmd_rules(args: argparse.Namespace) -> int:
    import json

    if args.rules_command == "schema":
        from compliance.inputs.ruleschema import rule_file_schema

        print(json.dumps(rule_file_schema(), indent=2, sort_keys=True))
        return EXIT_OK
    if args.rules_command == "reference":
        from compliance.inputs.ruleschema import rules_reference_markdown

        print(rules_reference_markdown(), end="")
        return EXIT_OK
    from compliance.inputs import builtin

    if args.rules_command == "test":
        from compliance.app.rulestest import run_rule_tests

        policies = args.policies or builtin.default_policies("--policies policies")
        return run_rule_tests(policies, args.cases, only=args.rule)
    from compliance.inputs.rules import load_rules

    if getattr(args, "builtin", False):
        return _list_builtin(args.paths)
    ruleset = load_rules(args.paths or builtin.default_policies(f"compliance rules {args.rules_command} policies"))
    if args.rules_command == "validate":
        print(f"{len(ruleset.rules)} rule(s) valid in {len(ruleset.digests)} file(s)")
        return EXIT_OK
    for rule in ruleset.rules:
        kinds = ",".join(c.kind for c in rule.checks)
        print(f"{rule.id:<12} {rule.severity:<9} {kinds:<28} {rule.title}")
    return EXIT_OK


def _list_builtin(paths: list[str]) -> int:
    """``rules list --builtin``: each shipped set under its ``builtin:NAME``, then any paths also given."""
    from compliance.inputs import builtin
    from compliance.inputs.rules import load_rules

    groups = [(builtin.PREFIX + name, [builtin.PREFIX + name]) for name in builtin.builtin_sets()]
    for title, group in groups + ([(" ".join(paths), paths)] if paths else []):
        rules = load_rules(group).rules
        print(f"{title} ({len(rules)} rules)")
        for rule in rules:
            kinds = ",".join(c.kind for c in rule.checks)
            print(f"  {rule.id:<12} {rule.severity:<9} {kinds:<28} {rule.title}")
    return EXIT_OK


def cmd_changes(args: argparse.Namespace) -> int:
    import json

    from compliance.base.timeutil import parse_time
    from compliance.judge.engine import History
    from compliance.model.rules import Scope
    from compliance.sources.git import collect_git

    since, until = _window(args)
    if args.policy:
        from compliance.inputs.rules import load_rules

        rules = load_rules([args.policy]).rules
        scopes = [r.scope for r in rules if not r.scope.is_empty]
    else:
        scopes = [Scope(tuple(args.path), tuple(args.exclude))] if args.path else [Scope()]
    from compliance.sources.base import Meter

    meter = Meter()
    data = collect_git(args.repo, args.branch, since, id_pattern=args.id_pattern, meter=meter)
    for warning in meter.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    hist = History(data)
    out = sys.stdout
    if args.format == "table":
        out.write(f"{'sha':<12}  {'kind':<11}  {'pr':>5}  {'committed_at':<20}  {'tasks':<24}  files\n")
    count = 0
    for i in hist.window(since, until):  # the chain between the window's boundary commits
        commit = hist.commits[i]
        files = [f["path"] for f in commit["files"]]
        hit = sorted({p for s in scopes for p in (files if s.is_empty else s.select(files))})
        if not hit:
            continue
        count += 1
        if args.format == "json":
            row = {"sha": commit["sha"], "kind": commit["kind"], "pr": commit["pr"],
                   "committed_at": commit["committed_at"], "files": hit, "task_ids": commit["task_ids"]}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            pr = f"#{commit['pr']}" if commit["pr"] else "-"
            tasks = ",".join(commit["task_ids"]) or "-"
            more = f" (+{len(hit) - 1})" if len(hit) > 1 else ""
            out.write(f"{commit['sha'][:12]}  {commit['kind']:<11}  {pr:>5}  {commit['committed_at']:<20}  "
                      f"{tasks:<24}  {hit[0]}{more}\n")
    if args.format == "table":
        print(f"{count} in-scope change(s) on {args.branch} between {parse_time(since).date()} and "
              f"{parse_time(until).date()}", file=sys.stderr)
    return EXIT_OK


WAIVERS_NAME = "waivers.yaml"  # saved beside the snapshot, so re-evaluation applies the same exceptions


def _load_waivers(path: str | None, ruleset: Any, collected_at: Any, warn_days: int | None) -> Any:
    from compliance.inputs.waivers import load_waivers

    if not path:
        return None
    return load_waivers(path, now=collected_at, rule_ids={r.id for r in ruleset.rules}, warn_days=warn_days)


def _precheck(args: argparse.Namespace, ruleset: Any) -> dict[str, Any] | None:
    """Validate the waiver file and read the previous report before anything slow is collected."""
    from compliance.base.timeutil import utcnow
    from compliance.report.diff import load_previous

    _load_waivers(getattr(args, "waivers", None), ruleset, utcnow(), getattr(args, "waiver_warn_days", None))
    previous = getattr(args, "previous", None)
    return load_previous(previous) if previous else None


def _evaluate_and_report(snapshot: dict[str, Any], ruleset: Any, out_dir: Path, formats, mode: str,
                         snapshot_name: str = "snapshot.json", waivers: str | None = None,
                         previous: dict[str, Any] | None = None,
                         warn_days: int | None = None, digest: str | None = None,
                         snapshot_file: str | None = None) -> tuple[dict[str, Any], dict[str, Path]]:
    """``digest``: the snapshot file's digest when it was read from one (evaluate, ``snapshot_file``).

    The reports, the snapshot and the waivers are published as one set (``write_set``): a reader
    never finds new reports beside the previous snapshot, whatever kills the run."""
    from compliance.base.timeutil import parse_time
    from compliance.judge.engine import Context, judge
    from compliance.model.snapshot import digest_text, snapshot_text, validate_snapshot
    from compliance.report import write_set
    from compliance.report.document import build_report

    text = None
    if snapshot_file:  # evaluate: the set carries the snapshot it judged, as saved (canonical, secrets masked)
        snapshot, text, digest = _as_saved(snapshot, snapshot_file, digest)
    loaded = _load_waivers(waivers, ruleset, parse_time(snapshot["collected_at"]), warn_days)
    ctx = Context(snapshot)  # one set of indexes for judging and for the report's timelines
    findings, section = judge(snapshot, ruleset.rules, loaded, ctx=ctx)
    if snapshot_name and not snapshot_file:
        validate_snapshot(snapshot, str(out_dir / snapshot_name))
        text = snapshot_text(snapshot)
        digest = digest_text(text)
    doc = build_report(snapshot, ruleset.rules, findings, mode, waivers=section, previous=previous, ctx=ctx,
                       digest=digest)
    del ctx, findings
    # masked once; what is printed or posted is masked too
    return write_set(doc, out_dir, formats, snapshot_text=text, waivers=waivers)


def _as_saved(snapshot: dict[str, Any], path: str, digest: str | None) -> tuple[dict[str, Any], str, str]:
    """The snapshot as the report folder saves it. A file written by this tool comes back byte for byte; one
    written elsewhere (by hand, an older version, holding a token) is judged as saved, so the report and the
    snapshot beside it stay one pair and no secret is copied on."""
    import json

    from compliance.model.snapshot import digest_text, snapshot_text

    text = snapshot_text(snapshot)
    saved = digest_text(text)
    if saved == digest:
        return snapshot, text, saved
    print(f"note: {path} is not in canonical form or holds secret values; the reports judge it as saved "
          f"beside them (canonical, secrets masked: {saved})", file=sys.stderr)
    return json.loads(text), text, saved


def _print_summary(doc: dict[str, Any], written: dict[str, Path]) -> None:
    s = doc["summary"]
    print(f"verdict: {s['verdict'].upper()}  pass {s['pass']}  fail {s['fail']}  error {s['error']}  "
          f"waived {s['waived']}  n/a {s['not_applicable']}  pending {s.get('pending', 0)}")
    w = doc.get("waivers") or {}
    if w.get("file"):
        print(f"  waivers  {len(w['applied'])} applied, {len(w['expiring'])} expiring soon, {len(w['expired'])} "
              f"expired, {len(w['unused'])} unused, {len(w['errors_not_waived'])} not applied (error findings), "
              f"{len(w.get('pending_not_waived') or [])} not applied (pending findings)")
        for item in w["expiring"]:
            print(f"warning: waiver {w['file']}:{item['line']} ({item['rule_id']}, {item['ticket']}, "
                  f"{item['owner']}) expires {item['expires']}", file=sys.stderr)
    d = doc.get("diff")
    if d:
        c = d["counts"]
        print(f"  diff     {c['new']} new, {c['fixed']} fixed, {c['still_failing']} still failing, "
              f"{c['now_waived']} now waived, {c['gone']} gone, {c.get('new_pending', 0)} newly pending, "
              f"{c.get('still_pending', 0)} still pending, {c.get('pending_passed', 0)} pending -> pass "
              f"(vs {d['previous']['collected_at']})")
    for src in doc["sources"]:
        err = f"  ({src['error']['type']}: {src['error']['message']})" if src["error"] else ""
        name = f"{src['target']}/{src['name']}" if src.get("target") else src["name"]
        print(f"  source {name:<15} {src['status']:<6} {src['requests']:>4} request(s) "
              f"{src['duration_ms']:>6} ms{err}")
        for warning in src.get("warnings") or []:  # e.g. a shallow clone: the verdict may miss history
            print(f"    warning: {warning}")
    from compliance.base.redact import clip

    bad = [f for f in doc["findings"] if f["status"] in ("fail", "error")]
    for f in bad[:20]:
        where = f"[{f['target']}] " if f.get("target") else ""
        print(f"  {f['status'].upper():<5} {where}{f['rule_id']} {f['subject_type']} {f['subject']}: "
              f"{clip(f['message'], 140)}")
    if len(bad) > 20:
        print(f"  ... and {len(bad) - 20} more in the reports")
    waiting = [f for f in doc["findings"] if f["status"] == "pending"]
    for f in waiting[:5]:  # not failures: listed after them, so they never push one off the screen
        where = f"[{f['target']}] " if f.get("target") else ""
        print(f"  PENDING {where}{f['rule_id']} {f['subject_type']} {f['subject']}: {clip(f['message'], 140)}")
    if len(waiting) > 5:
        print(f"  ... and {len(waiting) - 5} more pending in the reports")
    for kind, path in written.items():
        print(f"  {kind:<8} {path}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from compliance.inputs import builtin
    from compliance.inputs.rules import load_rules
    from compliance.model.snapshot import read_snapshot

    snapshot, digest = read_snapshot(args.snapshot)
    ruleset = load_rules(args.policies or builtin.default_policies("--policies policies"))
    previous = _precheck(args, ruleset)
    waivers = args.waivers
    beside = Path(args.snapshot).parent / WAIVERS_NAME
    if not waivers and not args.no_waivers and beside.is_file():
        waivers = str(beside)
        print(f"note: applying the waivers saved with the snapshot ({beside}); --no-waivers to ignore them",
              file=sys.stderr)
    changed = sorted(set(ruleset.digests.values()) ^ set(snapshot["rules"].values()))
    if changed:
        print("warning: the rules differ from those the snapshot was collected for; sources a new rule needs "
              "may be missing (they evaluate to error)", file=sys.stderr)
    out = Path(args.out or "reports")
    doc, written = _evaluate_and_report(snapshot, ruleset, out, args.format, "evaluate", snapshot_name="",
                                        waivers=waivers, previous=previous, warn_days=args.waiver_warn_days,
                                        digest=digest, snapshot_file=args.snapshot)
    _print_summary(doc, written)
    return _gate(doc, args)


def _gate(doc: dict[str, Any], args: argparse.Namespace) -> int:
    """The exit code from the findings, shaped by --fail-on / --soft-fail (see compliance.app.gating)."""
    from compliance.app.gating import gate

    return gate(doc, fail_on=getattr(args, "fail_on", None), soft_fail=getattr(args, "soft_fail", False))


def _load(config_path: str, target: str | None = None) -> tuple[Any, Any]:
    """Commands that judge one target get exactly one: never silently the first of several."""
    from compliance.inputs.config import load_config
    from compliance.inputs.rules import load_rules

    config = _one_target(load_config(config_path), target)
    return config, load_rules(config.policies)


def _one_target(config: Any, name: str | None) -> Any:
    from compliance.inputs.targets import select_targets

    names = select_targets(config, [name] if name else None)
    if len(names) != 1:
        raise ComplianceError(f"{config.path} has {len(names)} targets ({', '.join(names)}); "
                              "pick one with --target NAME")
    return config.for_target(names[0])


def cmd_collect(args: argparse.Namespace) -> int:
    from compliance.app.collect import collect
    from compliance.model.snapshot import save_snapshot

    config, ruleset = _load(args.config, args.target)
    since, until = _window(args)
    snapshot = collect(config, ruleset, since, until)
    path = save_snapshot(snapshot, args.snapshot)
    for name, src in sorted(snapshot["sources"].items()):
        print(f"  source {name:<15} {src['status']:<6} {src['provenance']['requests']:>4} request(s)")
    print(f"snapshot written to {path}")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    from compliance.app.collect import collect
    from compliance.inputs.config import load_config
    from compliance.inputs.rules import load_rules
    from compliance.inputs.targets import select_targets

    config = load_config(args.config)
    names = select_targets(config, args.target)
    if len(names) > 1:
        return _audit_targets(args, config, load_rules(config.policies), names)
    config = config.for_target(names[0])
    ruleset = load_rules(config.policies)
    previous = _previous_for(_precheck(args, ruleset), names[0])
    since, until = _window(args)
    snapshot = collect(config, ruleset, since, until)
    out = Path(args.out or config.reports_dir or "reports")
    doc, written = _evaluate_and_report(snapshot, ruleset, out, args.format, "audit", waivers=args.waivers,
                                        previous=previous, warn_days=args.waiver_warn_days)
    _print_summary(doc, written)
    code = _gate(doc, args)
    if args.tracking_issue:
        _tracking_issue(doc, config, written)
    return code


def _audit_targets(args: argparse.Namespace, config: Any, ruleset: Any, names: list[str]) -> int:
    """Every target into ``<out>/<name>/`` as a single-target audit would write it, plus the merged report."""
    from compliance.app.collect import collect
    from compliance.base.fsutil import folder_lock
    from compliance.inputs.targets import collect_targets, default_jobs

    previous = _precheck(args, ruleset)
    since, until = _window(args)
    jobs = args.jobs if args.jobs is not None else default_jobs(len(names))
    snapshots = collect_targets(config, ruleset, names, since, until, jobs=jobs, collect=collect)
    out = Path(args.out or config.reports_dir or "reports")
    with folder_lock(out):  # the per-target sets and the merged one: one run's, not two runs' interleaved
        return _write_targets(args, config, ruleset, names, snapshots, previous, out)


def _write_targets(args: argparse.Namespace, config: Any, ruleset: Any, names: list[str], snapshots: dict[str, Any],
                   previous: dict[str, Any] | None, out: Path) -> int:
    from compliance.report.merge import merge_reports, write_merged

    parts = []
    for name in names:
        doc, written = _evaluate_and_report(snapshots[name], ruleset, out / name, args.format, "audit",
                                            waivers=args.waivers, previous=_previous_for(previous, name),
                                            warn_days=args.waiver_warn_days)
        s = doc["summary"]
        print(f"target {name}: {s['verdict'].upper()}  pass {s['pass']}  fail {s['fail']}  error {s['error']}  "
              f"waived {s['waived']}  n/a {s['not_applicable']}  pending {s.get('pending', 0)}  "
              f"({written.get('json') or out / name})")
        parts.append((name, doc, f"{name}/report.json"))
        if args.tracking_issue:
            _tracking_issue(doc, config.for_target(name), written)
    merged = merge_reports(parts)
    written = write_merged(merged, out, args.format)
    print(f"merged report of {len(names)} targets:")
    _print_summary(merged, written)
    return _gate(merged, args)


def _previous_for(previous: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    """A previous merged report compares per target; a single-target one is compared as it is."""
    if previous is None or not previous.get("targets"):
        return previous
    return {**previous, "findings": [f for f in previous["findings"] if f.get("target") == name]}


def cmd_targets(args: argparse.Namespace) -> int:
    import json

    from compliance.inputs.config import load_config, target_name

    config = load_config(args.config)
    if args.json:
        print(json.dumps(config.target_names))
        return EXIT_OK
    for target in config.targets or [config.target]:
        where = " ".join(f"{k}={target[k]}" for k in ("github_repo", "function", "region") if target.get(k))
        print(f"{target_name(target):<24} {where}".rstrip())
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    from compliance.base.errors import Located
    from compliance.report.merge import (
        load_report,
        merge_reports,
        relative_path,
        report_target_name,
        write_merged,
    )

    out = Path(args.out)
    parts, seen = [], {}
    for path in args.reports:
        doc = load_report(path)
        name = report_target_name(doc, path)
        if name in seen:
            raise InputError([Located(path, 1, 1, f"target {name!r} is also in {seen[name]}; "
                                                   "each target may be merged once")], what="report")
        seen[name] = path
        parts.append((name, doc, relative_path(path, out)))
    merged = merge_reports(parts)
    written = write_merged(merged, out, args.format)
    for entry in merged["targets"]:
        print(f"target {entry['name']}: {entry['verdict'].upper()}  ({entry['path']})")
    _print_summary(merged, written)
    return _gate(merged, args)


def _warn_publish(what: str, exc: Exception) -> None:
    """Publishing is a side channel: its failure is reported, it never replaces the verdict's exit code."""
    from compliance.base.redact import redact

    print(f"warning: could not {what}: {redact(str(exc))}", file=sys.stderr)


def _tracking_issue(doc: dict[str, Any], config: Any, written: dict[str, Path]) -> None:
    from compliance.publish import close_tracking_issue_if_open, upsert_tracking_issue
    from compliance.report.markdown import render

    repo = config.target.get("github_repo")
    if not repo:
        print("warning: --tracking-issue needs target.github_repo", file=sys.stderr)
        return
    title = f"Compliance audit: {config.target.get('name') or repo} is failing"
    try:
        if doc["summary"]["verdict"] in ("pass", "pending"):  # pending is not failing
            close_tracking_issue_if_open(repo, title)
        else:
            issue = upsert_tracking_issue(repo, title, render(doc))
            print(f"  issue    {issue.get('html_url') or issue}")
    except Exception as exc:  # noqa: BLE001 - see _warn_publish
        _warn_publish("update the tracking issue", exc)


def cmd_pr(args: argparse.Namespace) -> int:
    import os

    from compliance.app.pr import pr_number_from_event, pr_snapshot
    from compliance.sources.base import Meter
    from compliance.sources.github import fetch_pull_request

    config, ruleset = _load(args.config, args.target)
    _precheck(args, ruleset)
    repo = config.target.get("github_repo")
    if not repo:
        raise ComplianceError("compliance pr needs target.github_repo in the config")
    number = args.pr or pr_number_from_event()
    try:
        pr = fetch_pull_request(repo, number, meter=Meter())
    except Exception as exc:  # noqa: BLE001 - the PR itself is the input: without it nothing can be judged
        from compliance.base.redact import redact

        raise ComplianceError(f"cannot read PR #{number} of {repo}: {type(exc).__name__}: "
                              f"{redact(str(exc))}") from None
    snapshot = pr_snapshot(config, ruleset, pr, head_ref=args.head_ref)
    out = Path(args.out or config.reports_dir or "reports")
    formats = tuple(dict.fromkeys((*args.format, *(("sarif",) if args.sarif else ()),
                                   *(("junit",) if args.junit else ()))))
    doc, written = _evaluate_and_report(snapshot, ruleset, out, formats, "pr", waivers=args.waivers,
                                        warn_days=args.waiver_warn_days)
    for fmt, dest in (("sarif", args.sarif), ("junit", args.junit)):
        if dest and Path(dest).resolve() != written[fmt].resolve():
            from compliance.base.fsutil import atomic_write_text

            written[fmt] = atomic_write_text(dest, written[fmt].read_text("utf-8"))
    _print_summary(doc, written)
    code = _gate(doc, args)
    markdown = written["md"].read_text("utf-8") if "md" in written else None
    if markdown is None:
        from compliance.report.markdown import render

        markdown = render(doc)
    from compliance.publish import (
        publish_check_run,
        publish_commit_status,
        upsert_pr_comment,
        write_step_summary,
    )

    write_step_summary(markdown)
    details = os.environ.get("GITHUB_SERVER_URL") and os.environ.get("GITHUB_RUN_ID") and (
        f"{os.environ['GITHUB_SERVER_URL']}/{os.environ.get('GITHUB_REPOSITORY', repo)}/actions/runs/"
        f"{os.environ['GITHUB_RUN_ID']}")
    try:
        if args.publish == "check-run":
            result = publish_check_run(repo, pr["head_sha"], doc, exit_code=code, markdown=markdown,
                                       details_url=details or None)
            via = f" (fallback: {result['reason']})" if result.get("fallback_from") else ""
            print(f"  publish  {result.get('kind', 'check run')} {result.get('url') or ''}{via}".rstrip())
        elif args.publish == "status":
            publish_commit_status(repo, pr["head_sha"], doc, exit_code=code, target_url=details or None)
            print("  publish  commit status")
    except Exception as exc:  # noqa: BLE001 - see _warn_publish
        _warn_publish(f"publish the {args.publish}", exc)
    if args.comment:
        try:
            upsert_pr_comment(repo, number, markdown)
        except Exception as exc:  # noqa: BLE001 - see _warn_publish
            _warn_publish("update the PR comment", exc)
    return code


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from compliance.app.collect import collect
    from compliance.base.timeutil import parse_bound
    from compliance.demo import DEMO_SINCE, DEMO_UNTIL, build_demo, previous_snapshot
    from compliance.report.diff import load_previous

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="compliance-demo-"))
    config_path = build_demo(workdir)
    config, ruleset = _load(str(config_path))
    snapshot = collect(config, ruleset, parse_bound(DEMO_SINCE), parse_bound(DEMO_UNTIL, end=True))
    out = Path(args.out)
    previous = args.previous
    if not previous:  # the "last audit" goes through the same pipeline, so the diff compares like with like
        _evaluate_and_report(previous_snapshot(snapshot), ruleset, out / "previous", ("json",), "demo")
        previous = out / "previous" / "report.json"
    doc, written = _evaluate_and_report(snapshot, ruleset, out, FORMATS, "demo",
                                        waivers=args.waivers or str(workdir / WAIVERS_NAME),
                                        previous=load_previous(previous), warn_days=args.waiver_warn_days)
    print(f"demo system built in {workdir} (git repository: {workdir / 'enceladus'})")
    _print_summary(doc, written)
    print(f"open {written['html']} in a browser for the reviewer's view")
    return EXIT_OK


def cmd_deploy(args: argparse.Namespace) -> int:
    from compliance.app.deploy import deploy

    config, ruleset = _load(args.config, args.target)
    return deploy(config, ruleset, ref=args.ref, dry_run=args.dry_run, out_dir=Path(args.out or config.reports_dir),
                  rotate_key=args.rotate_key, wait_timeout=args.wait_timeout, report_url=args.report_url,
                  waivers=args.waivers, timeout=args.timeout)


def cmd_backtest(args: argparse.Namespace) -> int:
    from compliance.app.backtest import run_backtest

    return run_backtest(args, _window)


COMMANDS = {
    "backtest": cmd_backtest,
    "rules": cmd_rules,
    "changes": cmd_changes,
    "evaluate": cmd_evaluate,
    "collect": cmd_collect,
    "audit": cmd_audit,
    "targets": cmd_targets,
    "merge": cmd_merge,
    "pr": cmd_pr,
    "deploy": cmd_deploy,
    "demo": cmd_demo,
}
