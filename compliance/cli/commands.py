"""One function per command: turn the parsed arguments into a call of its mode in ``app/``, print the result.

Nothing here judges or writes reports; every mode persists through ``app.persist``. This is the CLI's
dispatch: each command imports the mode it runs, so no command pays for another's imports.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from compliance.base.errors import EXIT_OK, ComplianceError, InputError, Located
from compliance.cli.parser import FORMATS
from compliance.cli.printing import (
    print_metrics,
    print_notes,
    print_summary,
    print_target_line,
    print_written,
    warn_publish,
)

# Each command imports its mode when it is dispatched: `compliance rules validate` must not pay for
# the reporters, the engine or the demo's files (start-up budget, benchmarks/startup.py).


def _gate(doc: dict, args: argparse.Namespace) -> int:
    """The exit code from the findings, shaped by --fail-on / --soft-fail / --fail-on-new (see
    compliance.app.gating); with --fail-on-new it also prints which findings were gating."""
    from compliance.app.gating import gate, gating_findings

    new_only = getattr(args, "fail_on_new", False)
    if new_only:
        gating = [f for f in gating_findings(doc, fail_on_new=True) if f.get("status") in ("fail", "error")]
        print(f"gating on {len(gating)} failure(s)/error(s) new since the previous report (--fail-on-new); "
              "older ones are reported, not gating")
        for f in gating:
            print(f"  gating   {f['rule_id']} {f['subject']} {f['status']}")
    return gate(doc, fail_on=getattr(args, "fail_on", None), soft_fail=getattr(args, "soft_fail", False),
                fail_on_new=new_only)


def _usage(args: argparse.Namespace) -> None:
    """Option combinations argparse cannot refuse, refused before anything is collected (exit 2)."""
    if getattr(args, "fail_on_new", False) and not getattr(args, "previous", None):
        raise ComplianceError("--fail-on-new needs --previous REPORT.json: without it nothing can be called new")


def _window(args: argparse.Namespace):
    from compliance.app.loading import window_bounds

    return window_bounds(args.since, args.until)


def cmd_rules(args: argparse.Namespace) -> int:
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


def cmd_changes(args: argparse.Namespace) -> int:
    from compliance.app import changes
    from compliance.base.timeutil import parse_time
    from compliance.cli.printing import print_changes

    since, until = _window(args)
    scopes = changes.scopes_for(args.policy, args.path, args.exclude)
    warnings, rows = changes.in_scope_changes(args.repo, args.branch, since, until, scopes,
                                              id_pattern=args.id_pattern)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    count = print_changes(rows, args.format)
    if args.format == "table":
        print(f"{count} in-scope change(s) on {args.branch} between {parse_time(since).date()} and "
              f"{parse_time(until).date()}", file=sys.stderr)
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


def cmd_evaluate(args: argparse.Namespace) -> int:
    _usage(args)
    from compliance.app import evaluate
    from compliance.inputs import builtin

    policies = args.policies or builtin.default_policies("--policies policies")
    result = evaluate.evaluate_saved(args.snapshot, policies, Path(args.out or "reports"), args.format,
                                     waivers=args.waivers, no_waivers=args.no_waivers, previous=args.previous,
                                     warn_days=args.waiver_warn_days)
    print_notes(result.notes)
    print_summary(result.doc, result.written)
    return _gate(result.doc, args)


def cmd_collect(args: argparse.Namespace) -> int:
    from compliance.app.collect import collect
    from compliance.app.loading import load_target
    from compliance.model.snapshot import save_snapshot

    config, ruleset = load_target(args.config, args.target)
    since, until = _window(args)
    snapshot = collect(config, ruleset, since, until)
    path = save_snapshot(snapshot, args.snapshot)
    for name, src in sorted(snapshot["sources"].items()):
        print(f"  source {name:<15} {src['status']:<6} {src['provenance']['requests']:>4} request(s)")
    print(f"snapshot written to {path}")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    _usage(args)
    from compliance.app import audit
    from compliance.app.loading import precheck, previous_for
    from compliance.inputs.config import load_config
    from compliance.inputs.rules import load_rules
    from compliance.inputs.targets import select_targets

    config = load_config(args.config)
    names = select_targets(config, args.target)
    if len(names) > 1:
        return _audit_targets(args, config, names)
    config = config.for_target(names[0])
    ruleset = load_rules(config.policies)
    previous = previous_for(precheck(ruleset, args.waivers, args.waiver_warn_days, args.previous), config.target)
    since, until = _window(args)
    out = Path(args.out or config.reports_dir or "reports")
    result = audit.audit_one(config, ruleset, since, until, out, args.format, waivers=args.waivers,
                             previous=previous, warn_days=args.waiver_warn_days)
    print_summary(result.doc, result.written)
    code = _gate(result.doc, args)
    if args.tracking_issue:
        _tracking_issue(result.doc, config.target)
    return code


def _audit_targets(args: argparse.Namespace, config, names: list[str]) -> int:
    from compliance.app import audit

    since, until = _window(args)
    out = Path(args.out or config.reports_dir or "reports")

    def each(name, result) -> None:
        print_target_line(name, result.doc, result.written, out)
        if args.tracking_issue:
            _tracking_issue(result.doc, config.for_target(name).target)

    merged, written = audit.audit_targets(config, names, since, until, out, args.format, waivers=args.waivers,
                                          previous=args.previous, warn_days=args.waiver_warn_days, jobs=args.jobs,
                                          each=each)
    print(f"merged report of {len(names)} targets:")
    print_summary(merged, written)
    return _gate(merged, args)


def _tracking_issue(doc: dict, target: dict) -> None:
    from compliance.app import audit

    if not target.get("github_repo"):
        print("warning: --tracking-issue needs target.github_repo", file=sys.stderr)
        return
    try:
        url = audit.tracking_issue(doc, target)
    except Exception as exc:  # noqa: BLE001 - publishing never replaces the verdict's exit code
        warn_publish("update the tracking issue", exc)
        return
    if url:
        print(f"  issue    {url}")


def cmd_targets(args: argparse.Namespace) -> int:
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
    print_summary(merged, written)
    return _gate(merged, args)


def cmd_pr(args: argparse.Namespace) -> int:
    _usage(args)
    from compliance.app import pr_check
    from compliance.app.loading import load_target

    local = args.base is not None
    if local and (args.publish != "none" or args.comment or args.head_ref):
        raise ComplianceError("--base judges the local branch and publishes nothing: drop --publish, --comment "
                              "and --head-ref (use --head)")
    if not local and (args.head != "HEAD" or args.title is not None or args.body is not None):
        raise ComplianceError("--head, --title and --body describe a local check: they need --base")
    config, ruleset = load_target(args.config, args.target)
    common = {"sarif": args.sarif, "junit": args.junit, "waivers": args.waivers, "warn_days": args.waiver_warn_days,
              "fail_on": args.fail_on, "soft_fail": args.soft_fail, "previous": args.previous,
              "fail_on_new": args.fail_on_new}
    out = Path(args.out or config.reports_dir or "reports")
    if local:
        run = pr_check.judge_local(config, ruleset, out, args.format, base=args.base, head=args.head,
                                   title=args.title, body=args.body, number=args.pr, **common)
    else:
        run = pr_check.judge_pr(config, ruleset, out, args.format, number=args.pr, head_ref=args.head_ref,
                                **common)
    print_summary(run.persisted.doc, run.persisted.written)
    if args.fail_on_new:
        _gate(run.persisted.doc, args)  # prints which findings were gating; the code is run.code
    if local:
        return run.code
    pr_check.step_summary(run)
    try:
        line = pr_check.publish_verdict(run, args.publish)
        if line:
            print(line)
    except Exception as exc:  # noqa: BLE001 - publishing never replaces the verdict's exit code
        warn_publish(f"publish the {args.publish}", exc)
    if args.comment:
        try:
            pr_check.comment(run)
        except Exception as exc:  # noqa: BLE001 - as above
            warn_publish("update the PR comment", exc)
    return run.code


def cmd_demo(args: argparse.Namespace) -> int:
    """The demo is the audit of a sample system, through the same persistence path as every mode."""
    from compliance.app import audit
    from compliance.app.loading import load_target
    from compliance.base.timeutil import parse_bound
    from compliance.demo import (
        DEMO_PACKAGE,
        DEMO_SINCE,
        DEMO_UNTIL,
        build_demo,
        date_waivers,
        previous_snapshot,
    )
    from compliance.report import WAIVERS_NAME

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="compliance-demo-"))
    config, ruleset = load_target(str(build_demo(workdir)))
    redate = None if args.waivers else (lambda snapshot: date_waivers(workdir, snapshot))
    result, packaged = audit.audit_with_baseline(
        config, ruleset, parse_bound(DEMO_SINCE), parse_bound(DEMO_UNTIL, end=True), Path(args.out), FORMATS,
        mode="demo", baseline=previous_snapshot, previous=args.previous,
        waivers=args.waivers or str(workdir / WAIVERS_NAME), warn_days=args.waiver_warn_days, collected=redate,
        package=DEMO_PACKAGE)
    print(f"demo system built in {workdir} (git repository: {workdir / 'enceladus'})")
    print_summary(result.doc, result.written)
    print_metrics(result.doc)
    _print_package(packaged)
    print(f"open {result.written['html']} in a browser for the reviewer's view")
    return EXIT_OK


def _print_package(result) -> None:
    print(f"package  {result.path} ({result.size:,} bytes, {len(result.verified.members)} members)")
    print(f"  verdict {result.verified.verdict}; statement: {result.verified.result} for "
          f"{result.verified.subjects} subject(s); verified by re-judging its snapshot")


def cmd_deploy(args: argparse.Namespace) -> int:
    from compliance.app.deploy import deploy
    from compliance.app.loading import load_target

    config, ruleset = load_target(args.config, args.target)
    return deploy(config, ruleset, ref=args.ref, dry_run=args.dry_run, out_dir=Path(args.out or config.reports_dir),
                  rotate_key=args.rotate_key, wait_timeout=args.wait_timeout, report_url=args.report_url,
                  waivers=args.waivers, timeout=args.timeout)


def cmd_backtest(args: argparse.Namespace) -> int:
    from compliance.app import backtest

    if args.snapshot and (args.since or args.until):
        raise ComplianceError("--since/--until apply to collection; a snapshot keeps its own window")
    since, until = (None, None) if args.snapshot else _window(args)
    result = backtest.run_backtest(args.policy, args.rule, snapshot=args.snapshot, config=args.config,
                                   since=since, until=until, out=args.out)
    for line in backtest.format_table(result.findings, args.all):
        print(line)
    for line in result.summary_lines():
        print(line)
    print_written(result.written, sys.stderr)
    return EXIT_OK


def cmd_package(args: argparse.Namespace) -> int:
    from compliance.app.package import build_package

    _print_package(build_package(args.report_dir, args.out, policies=args.policies, previous=args.previous))
    return EXIT_OK


def cmd_verify_package(args: argparse.Namespace) -> int:
    from compliance.app.verify_package import verify_package

    result = verify_package(args.package)
    print(f"verified {args.package}: {len(result.members)} members match the manifest and the statement, and "
          f"the report re-computes byte for byte from the snapshot, rules and waivers")
    print(f"  verdict {result.verdict}; statement: {result.result} for {result.subjects} subject(s)")
    return EXIT_OK


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
    "package": cmd_package,
    "verify-package": cmd_verify_package,
}
