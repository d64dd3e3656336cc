"""The question the checks ask of a script: does it end non-zero on every path when a value is wrong?

``prove_fails`` runs the script with the function's State (or LastUpdateStatus) wrong and says whether
every path ends non-zero; when not, the reason names the line and why a check did not stop the script.
Only values read from the function *after* the deploy count, and a substring match on the whole
configuration proves nothing about State. Anything it cannot follow ends its path as unknown.
"""

from __future__ import annotations

from compliance.judge.shell.nodes import Script, Simple, command_words, walk
from compliance.judge.shell.runner import Runner
from compliance.judge.shell.state import (
    _READS,
    PROPERTY_NAMES,
    WAITERS,
    Hypothesis,
    State,
    _short,
    aws_lambda,
    mentions,
)


def prove_fails(script: Script, prop: str, *, function: str, errexit: bool, pipefail: bool,
                env: dict[str, str] | None = None, armed: bool = True, is_deploy=None) -> tuple[bool, str | None]:
    """Does the script end non-zero on every path when ``prop`` has the wrong value? (proved, why not)."""
    runner = Runner(Hypothesis(prop, function, armed, is_deploy))
    start = State({k: (v, 0) for k, v in (env or {}).items()}, errexit, pipefail)
    ends = runner.run(script, start)
    for end in ends:
        if end.code is None:
            return False, end.reason
    for end in ends:
        if end.code == 0:
            return False, end.reason or _static_reason(script, prop, runner)
    return True, None


def _static_reason(script: Script, prop: str, runner: Runner) -> str:
    """Why no check of ``prop`` ran: where the expected value is written, and why each place checks nothing."""
    notes: list[str] = []
    for line, text in script.comments:
        if mentions(text, prop):
            notes.append(f"line {line}: only in a comment")
    for doc in script.heredocs:
        if doc.body and mentions(doc.body.raw, prop):
            notes.append(f"line {doc.line}: only in heredoc text")
    for node, funcs in walk(script.tree):
        if not isinstance(node, Simple):
            continue
        words = command_words(node)
        lits = [w.literal for w in words]
        op, waiter = aws_lambda(lits)
        is_wait = op == "wait" and WAITERS.get(waiter or "") == prop
        if not is_wait and id(node) not in runner.case_greps and not any(mentions(w.static, prop) for w in node.words):
            continue
        name = lits[0] if lits else None
        if name in ("echo", "printf"):
            notes.append(f"line {node.line}: only in {name} text, which prints and asserts nothing")
        elif id(node) not in runner.executed:
            where = f"inside function {funcs[-1]}, which is never called" if funcs else "on no path the step takes"
            notes.append(f"line {node.line}: `{_short(node.text)}` is {where}")
        elif id(node) in runner.case_greps and prop == "state":
            notes.append(f"line {node.line}: `{_short(node.text)}` ignores case, so it matches Inactive too: "
                         "use -x or compare exactly")
        elif id(node) in runner.whole_greps:
            notes.append(f"line {node.line}: `{_short(node.text)}` matches text anywhere in the whole configuration "
                         "(Active is also TracingConfig.Mode there): narrow the read with --query State")
        elif id(node) in runner.untainted_checks:
            notes.append(f"line {node.line}: `{_short(node.text)}` compares text that does not come from the "
                         "function (no `aws lambda get-function-configuration` output reaches it)")
        elif is_wait:
            notes.append(f"line {node.line}: `{_short(node.text)}` waits for another function")
        else:
            notes.append(f"line {node.line}: `{_short(node.text)}` checks nothing")
    if not notes:
        reads = [n.line for n, _ in walk(script.tree) if isinstance(n, Simple)
                 and aws_lambda([w.literal for w in command_words(n)])[0] in _READS]
        if reads:
            return f"it reads the function's configuration but nothing in it checks {PROPERTY_NAMES[prop]}: " \
                "it only prints"
        return f"nothing in it checks {PROPERTY_NAMES[prop]}"
    return "; ".join(dict.fromkeys(notes))
