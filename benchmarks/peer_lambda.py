"""Section 3: State and LastUpdateStatus of 500 Lambda functions, this checker against Cloud Custodian.

Both run as child processes against one moto server on loopback (``AWS_ENDPOINT_URL``), with
dummy credentials in their environment:

- this checker: ``python -m benchmarks.peer_lambda check NAMES_FILE``, which calls
  ``compliance.sources.lambda_fn.lambda_states`` (GetFunctionConfiguration per function in a bounded
  thread pool) and prints how many are Active/Successful and how many requests it made;
- Cloud Custodian: ``custodian run`` of a ``resource: lambda`` policy with ``value`` filters
  ``State == Active`` and ``LastUpdateStatus == Successful``; its ``resources.json`` gives the count.
- a reference, not a tool: ``python -m benchmarks.peer_lambda floor NAMES_FILE``, the same
  GetFunctionConfiguration calls as bare signed ``http.client`` GETs, i.e. about what moto alone
  takes to answer them; it tells the server's share of the checker's time from botocore's.

The checker and Custodian alternate, and so does which of them goes first; every run is a child
process against the same server, and medians are compared. After the runs, ``_moto_split`` times
moto's own request handling in place (it runs in this process) to say where its CPU per request goes.

Custodian reads the lambda resource from ListFunctions (50 per page) plus tags. Real AWS leaves
State and LastUpdateStatus out of ListFunctions (moto fills them in), so on AWS the same policy
would match no function at all and an inverted one (``State != Active``) would flag every
function: its answer here is only right because moto is more generous than AWS.

c7n pins boto3/botocore/PyYAML/cryptography versions that differ from the project's, so it is
installed into its own virtualenv (``<workdir>/c7n-venv``, with pip) rather than into ``.venv``,
which other work depends on.

Function creation is slow on moto and is timed separately; only the checks are compared.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.measure import ROOT, VENV_BIN, Row, fmt_s, run

REGION = "us-west-2"
FUNCTIONS = 500
SWEEP = (2, 16, 32)  # pool sizes tried once each after the comparison
POLICY = """\
policies:
  - name: lambda-active-successful
    resource: lambda
    filters:
      - type: value
        key: State
        value: Active
      - type: value
        key: LastUpdateStatus
        value: Successful
"""


def _own_cpu() -> float:
    """CPU seconds of this process: while a child runs, that is moto's server threads serving it."""
    t = os.times()
    return t.user + t.system


def aws_env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"})
    return env


def ensure_c7n(workdir: Path, log) -> tuple[Path | None, str]:
    """``custodian`` from a dedicated venv; (None, error text) if it cannot be installed."""
    venv = workdir / "c7n-venv"
    custodian = venv / "bin" / "custodian"
    if custodian.exists():
        return custodian, ""
    log("  installing c7n into its own virtualenv (once) ...")
    made = run([sys.executable, "-m", "venv", str(venv)])
    if made.code != 0:
        return None, f"python3 -m venv failed: {made.stderr.decode()[-1500:]}"
    pip = run([str(venv / "bin" / "pip"), "install", "--quiet", "c7n"])
    if pip.code != 0 or not custodian.exists():
        return None, f"pip install c7n failed (exit {pip.code}): {pip.stderr.decode()[-1500:]}"
    return custodian, ""


def create_functions(n: int) -> list[str]:
    import boto3

    from tests.moto_env import create_role, handler_zip

    role = create_role()
    code = handler_zip()
    lam = boto3.client("lambda", region_name=REGION)
    names = [f"svc-{i:03d}-handler" for i in range(n)]

    def make(name: str) -> None:
        lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="lambda_function.lambda_handler",
                            Code={"ZipFile": code}, Timeout=30)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(make, names))
    return names


def check_main(names_file: str, workers: int = 8) -> int:
    """The checker's side, run as its own process: import, then the concurrent state reads."""
    t0 = time.perf_counter()
    import boto3  # noqa: F401 - imported lazily by the source; counted as import time here

    from compliance.sources.base import Meter
    from compliance.sources.lambda_fn import lambda_states

    names = json.loads(Path(names_file).read_text())
    meter = Meter()
    t1, c1 = time.perf_counter(), _own_cpu()
    states = lambda_states(names, REGION, meter=meter, workers=workers)
    t2, c2 = time.perf_counter(), _own_cpu()
    healthy = sum(1 for s in states.values()
                  if s["configuration"].get("State") == "Active" and s["configuration"].get("LastUpdateStatus") == "Successful")
    print(json.dumps({"functions": len(states), "healthy": healthy, "requests": meter.requests,
                      "import_s": round(t1 - t0, 3), "calls_s": round(t2 - t1, 3), "calls_cpu_s": round(c2 - c1, 3)}))
    return 0


def floor_main(names_file: str, workers: int = 4) -> int:
    """A reference, not a tool: the same GetFunctionConfiguration calls with as little client as possible.

    Each call is one SigV4-signed GET through ``http.client`` (no botocore client: no parameter
    validation, endpoint rules, event hooks, retries or modelled parsing), in a pool of ``workers``.
    What this process takes is about what the server alone takes to answer the calls.
    """
    t0 = time.perf_counter()
    import http.client
    import urllib.parse

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    names = json.loads(Path(names_file).read_text())
    endpoint = urllib.parse.urlsplit(os.environ["AWS_ENDPOINT_URL"])
    signer = SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]), "lambda",
                       REGION)

    def get(name: str) -> dict[str, Any]:
        path = f"/2015-03-31/functions/{urllib.parse.quote(name, safe='')}/configuration"
        request = AWSRequest("GET", f"{endpoint.scheme}://{endpoint.netloc}{path}")
        signer.add_auth(request)
        conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=20)
        try:
            conn.request("GET", path, headers=dict(request.headers.items()))
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"GetFunctionConfiguration {name}: HTTP {resp.status}: {body[:200]!r}")
        return json.loads(body)

    t1, c1 = time.perf_counter(), _own_cpu()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        configs = list(pool.map(get, names))
    t2, c2 = time.perf_counter(), _own_cpu()
    healthy = sum(1 for c in configs if c.get("State") == "Active" and c.get("LastUpdateStatus") == "Successful")
    print(json.dumps({"functions": len(configs), "healthy": healthy, "requests": len(configs),
                      "import_s": round(t1 - t0, 3), "calls_s": round(t2 - t1, 3), "calls_cpu_s": round(c2 - c1, 3)}))
    return 0


def run_section(workdir: Path, reps: int, log) -> tuple[list[Row], str]:
    from tests.moto_env import start_server

    custodian, c7n_error = ensure_c7n(workdir, log)
    server, endpoint = start_server()
    saved = {k: os.environ.get(k) for k in aws_env(endpoint)}
    os.environ.update(aws_env(endpoint))
    try:
        t0 = time.perf_counter()
        names = create_functions(FUNCTIONS)
        created = time.perf_counter() - t0
        log(f"  created {len(names)} functions on moto in {fmt_s(created)} (not part of the comparison)")
        names_file = workdir / "lambda-names.json"
        names_file.write_text(json.dumps(names))
        policy = workdir / "lambda-policy.yml"
        policy.write_text(POLICY)
        env = aws_env(endpoint)
        checker_argv = [str(VENV_BIN / "python"), "-m", "benchmarks.peer_lambda", "check", str(names_file)]
        floor_argv = [str(VENV_BIN / "python"), "-m", "benchmarks.peer_lambda", "floor", str(names_file)]
        ours: list[tuple[float, dict[str, Any]]] = []
        theirs: list[tuple[float, int]] = []
        floor: list[tuple[float, dict[str, Any]]] = []
        cpu: dict[str, list[tuple[float, float]]] = {"checker": [], "custodian": [], "floor": []}  # (child, moto) s
        c7n_failure = c7n_error

        def checker() -> None:
            m0 = _own_cpu()
            r = run(checker_argv, env=env, cwd=ROOT)
            cpu["checker"].append((r.cpu, _own_cpu() - m0))
            if r.code != 0:
                raise RuntimeError(f"checker failed: {r.stderr.decode()[-2000:]}")
            ours.append((r.seconds, json.loads(r.stdout.decode().strip().splitlines()[-1])))
            log(f"  checker   {fmt_s(r.seconds)}  {ours[-1][1]}")

        def minimal() -> None:
            m0 = _own_cpu()
            r = run(floor_argv, env=env, cwd=ROOT)
            if r.code == 0:
                cpu["floor"].append((r.cpu, _own_cpu() - m0))
                floor.append((r.seconds, json.loads(r.stdout.decode().strip().splitlines()[-1])))
                log(f"  floor     {fmt_s(r.seconds)}  {floor[-1][1]}")
            else:
                log(f"  floor client failed (not part of the comparison): {r.stderr.decode()[-500:]}")

        def peer(i: int) -> None:
            nonlocal c7n_failure
            if not custodian or c7n_failure:
                return
            out = workdir / f"c7n-out-{i}"
            m0 = _own_cpu()
            c = run([str(custodian), "run", "--cache-period", "0", "-r", REGION, "-s", str(out), str(policy)],
                    env=env, cwd=workdir)
            cpu["custodian"].append((c.cpu, _own_cpu() - m0))
            found = out / "lambda-active-successful" / "resources.json"
            if c.code != 0 or not found.exists():
                c7n_failure = f"custodian run exited {c.code}: {c.stderr.decode()[-1500:]}"
            else:
                theirs.append((c.seconds, len(json.loads(found.read_text()))))
                log(f"  custodian {fmt_s(c.seconds)}  {theirs[-1][1]} resources")

        for i in range(reps):
            # Alternate who goes first, so neither always runs right after function creation or after the other.
            if i % 2 == 0:
                checker()
                peer(i)
            else:
                peer(i)
                checker()
            minimal()
        connects = _connects_per_call(names[:100])
        moto_split = _moto_split(names[:100])
        sweep = []
        for workers in SWEEP:
            r = run([*checker_argv, str(workers)], env=env, cwd=ROOT)
            if r.code == 0:
                sweep.append((workers, r.seconds))
                log(f"  checker with {workers} workers: {fmt_s(r.seconds)}")
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    ours_s = statistics.median(s for s, _ in ours)
    facts = ours[-1][1]
    rows = []
    lines = ["## 3. A peer on the same work: 500 Lambda functions, State and LastUpdateStatus", "",
             f"One moto server on loopback holds {FUNCTIONS} functions (created in {fmt_s(created)}, not compared). "
             "Both tools run as child processes with `AWS_ENDPOINT_URL` pointing at it, alternately (who goes "
             f"first alternates too), {reps} times each; wall time includes interpreter start and imports for both.",
             "", "| tool | how it reads the state | median wall | runs | functions judged Active/Successful | "
             "requests |", "|---|---|---:|---|---:|---:|",
             f"| this checker (`lambda_states`) | GetFunctionConfiguration per function, 8 threads | {fmt_s(ours_s)} | "
             f"{', '.join(fmt_s(s) for s, _ in ours)} | {facts['healthy']} of {facts['functions']} | "
             f"{facts['requests']} |"]
    if theirs:
        c7n_s = statistics.median(s for s, _ in theirs)
        count = theirs[-1][1]
        lines.append(f"| Cloud Custodian `custodian run` | ListFunctions (+ tags), `value` filters | {fmt_s(c7n_s)} | "
                     f"{', '.join(fmt_s(s) for s, _ in theirs)} | {count} of {FUNCTIONS} | ~{-(-FUNCTIONS // 50)} "
                     "ListFunctions pages + tagging |")
    if floor:
        f_facts = floor[-1][1]
        lines.append(f"| reference: a minimal client (not a tool) | the same GetFunctionConfiguration calls as bare "
                     f"signed `http.client` GETs, 4 threads | {fmt_s(statistics.median(s for s, _ in floor))} | "
                     f"{', '.join(fmt_s(s) for s, _ in floor)} | {f_facts['healthy']} of {f_facts['functions']} | "
                     f"{f_facts['requests']} |")
    if theirs:
        rows.append(Row("3 peer", f"{FUNCTIONS} Lambda states: checker vs Cloud Custodian (wall)",
                        f"{fmt_s(ours_s)} vs {fmt_s(c7n_s)} ({ours_s / c7n_s:.2f}x)", "within Custodian's time",
                        ours_s <= c7n_s,
                        note=f"both report {facts['healthy']}/{count} healthy; Custodian's count is right only on moto",
                        why=_why(ours_s, c7n_s, cpu, ours, floor, sweep, connects, moto_split)))
        lines += ["", f"Custodian reported {count} resources, the checker {facts['healthy']} healthy functions: "
                  "the same answer here. On real AWS it would not be: ListFunctions omits `State` and "
                  "`LastUpdateStatus`, so this policy would match nothing and an inverted one would flag every "
                  "function; Custodian's speed comes from reading a call that does not carry the answer. The "
                  "checker pays one GetFunctionConfiguration per function, the only call that does.",
                  ""]
    else:
        lines += ["", f"Cloud Custodian could not be run here: `{c7n_failure}`. The checker's time stands alone.", ""]
        rows.append(Row("3 peer", f"{FUNCTIONS} Lambda states: checker (Custodian unavailable)", fmt_s(ours_s),
                        "within Custodian's time", None, note="c7n could not run; see section 3"))
    lines += _cpu_lines(cpu, ours, floor, sweep, moto_split)
    return rows, "\n".join(lines)


def _connects_per_call(names: list[str]) -> tuple[int, int] | None:
    """(calls, TCP connects) for serial GetFunctionConfiguration calls through the checker's own client."""
    import cProfile
    import pstats

    try:
        from compliance.sources import aws, lambda_fn
        from compliance.sources.base import Meter

        client = aws.client_for("lambda", REGION, Meter(), {})
        lambda_fn.function_configuration(client, names[0])
        prof = cProfile.Profile()
        prof.enable()
        for name in names:
            lambda_fn.function_configuration(client, name)
        prof.disable()
    except Exception:  # noqa: BLE001 - a diagnosis only; the comparison above stands without it
        return None
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    connects = sum(v[1] for k, v in stats.items() if k[2] == "<method 'connect' of '_socket.socket' objects>")
    return len(names), connects


def _moto_split(names: list[str]) -> dict[str, float] | None:
    """Where moto's CPU per GetFunctionConfiguration goes, in ms: its own request threads, timed in place.

    moto runs in this process, so its request handling is wrapped for the duration with per-thread CPU
    clocks (``time.thread_time``, so the serial client calling it from the main thread is not counted):
    the whole request in its thread, moto's WSGI app, the part of it that finds the backend for the
    request (``DomainDispatcherApplication.get_application``), and Lambda's own handler. ``listing`` is
    one ``moto.backends.list_of_moto_modules()`` (a listdir and a stat per entry of moto's package
    folder), which that backend lookup does on every request. Diagnosis only: None if moto's
    internals are not where this version expects them.
    """
    import threading

    spent: dict[str, list[float]] = {}
    lock = threading.Lock()
    patched: list[tuple[type, str, Any, bool]] = []

    def timed(owner: type, attr: str, label: str) -> None:
        original = getattr(owner, attr)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            c0 = time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                took = time.thread_time() - c0
                with lock:
                    spent.setdefault(label, []).append(took)

        patched.append((owner, attr, original, attr in vars(owner)))
        setattr(owner, attr, wrapper)

    try:
        from moto import backends as moto_backends
        from moto.awslambda.responses import LambdaResponse
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler

        from compliance.sources import aws, lambda_fn
        from compliance.sources.base import Meter

        client = aws.client_for("lambda", REGION, Meter(), {})
        lambda_fn.function_configuration(client, names[0])
        timed(MotoRequestHandler, "handle", "request")
        timed(DomainDispatcherApplication, "__call__", "app")
        timed(DomainDispatcherApplication, "get_application", "backend lookup")
        timed(LambdaResponse, "get_function_configuration", "lambda handler")
        for name in names:
            lambda_fn.function_configuration(client, name)
        c0 = time.thread_time()
        for _ in range(20):
            list(moto_backends.list_of_moto_modules())
        listing = (time.thread_time() - c0) / 20
    except Exception:  # noqa: BLE001 - a diagnosis only; the comparison above stands without it
        return None
    finally:
        for owner, attr, original, own in reversed(patched):
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)
    if any(len(spent.get(k, ())) != len(names) for k in ("request", "app", "backend lookup", "lambda handler")):
        return None
    out = {k: statistics.mean(v) * 1000 for k, v in spent.items()}
    out["listing"] = listing * 1000
    return out


def _med(pairs: list[tuple[float, float]], i: int) -> float:
    return statistics.median(p[i] for p in pairs) if pairs else 0.0


def _why(ours: float, theirs: float, cpu: dict[str, list[tuple[float, float]]],
         runs: list[tuple[float, dict[str, Any]]], floor: list[tuple[float, dict[str, Any]]],
         sweep: list[tuple[int, float]], connects: tuple[int, int] | None,
         moto_split: dict[str, float] | None) -> str:
    facts = runs[-1][1]
    requests = max(facts["requests"], 1)
    tool, moto = _med(cpu["checker"], 0), _med(cpu["checker"], 1)
    c_tool, c_moto = _med(cpu["custodian"], 0), _med(cpu["custodian"], 1)
    moto_ms = moto / requests * 1000
    client_ms = statistics.median(f["calls_cpu_s"] for _, f in runs) / requests * 1000
    sweep_txt = ", ".join(f"{w} workers {fmt_s(s)}" for w, s in sweep)
    moto_vs = "more than" if moto > theirs else "against"
    text = (
        f"moto spent {moto:.2f} s of CPU serving the checker's {facts['requests']} GetFunctionConfiguration requests "
        f"({moto_ms:.1f} ms each), {moto_vs} Custodian's whole run ({fmt_s(theirs)}: its own process "
        f"{c_tool:.2f} s of CPU, mostly start-up and imports, and moto {c_moto:.2f} s for its "
        f"~{-(-FUNCTIONS // 50)} ListFunctions pages). moto answers in Python threads under one interpreter lock, "
        "so that CPU is spent on about one core at a time whatever the client does.")
    if floor:
        f_s = statistics.median(s for s, _ in floor)
        f_ms = statistics.median(f["calls_cpu_s"] for _, f in floor) / max(floor[-1][1]["requests"], 1) * 1000
        verdict = ("so on this server no client making these calls finishes within Custodian's time"
                   if f_s > theirs else "so on this run the calls alone could fit; the checker's own overhead is "
                   "what missed")
        text += (f" Measured, not argued: a minimal client making the same calls as bare signed `http.client` GETs "
                 f"({f_ms:.1f} ms of its own CPU per call) took {fmt_s(f_s)} (median of {len(floor)}, interleaved "
                 f"with the others), {verdict}. The checker took {fmt_s(ours)} (its process {tool:.2f} s of CPU in "
                 f"all); its part of the gap is what botocore costs above the minimal client ({client_ms:.1f} ms of "
                 "CPU per call, on 2 cores of which moto needs one).")
    else:
        text += f" The checker's client spends {client_ms:.1f} ms of CPU per call in botocore."
    if moto_split:
        ms = moto_split
        http_ms = ms["request"] - ms["app"]
        flask_ms = ms["app"] - ms["backend lookup"] - ms["lambda handler"]
        text += (f" Where moto's time goes per request (its request threads' CPU, serial calls): {ms['request']:.1f} "
                 f"ms in the thread that answers it, of which {http_ms:.1f} ms werkzeug's HTTP handling, "
                 f"{ms['backend lookup']:.1f} ms finding the backend for the request "
                 "(`DomainDispatcherApplication.get_application`, which on every request lists moto's package "
                 f"folder and stats each entry: {ms['listing']:.1f} ms a listing), {flask_ms:.1f} ms Flask and "
                 f"moto's generic dispatch, and {ms['lambda handler']:.2f} ms Lambda's own lookup and answer (a "
                 "dict lookup: nothing grows with the number of functions)" + (
                     f"; the rest of the {moto_ms:.1f} ms per request in the real runs is outside the answering "
                     "thread: accepting each connection, starting a thread for it, and those threads' contention "
                     "for the lock under load" if moto_ms > ms["request"] else "") + ".")
    if connects:
        text += (f" Every call is a new TCP connection ({connects[1]} `socket.connect` in {connects[0]} serial calls "
                 "through the checker's client): werkzeug's development server answers `Connection: close` every "
                 "time, for every client alike, so keep-alive cannot be had from the client side.")
    text += (
        f" The pool size does not matter for that reason ({sweep_txt}). The gap is the price of asking the call "
        "that carries State/LastUpdateStatus once per function, on an emulator that costs several ms of CPU per "
        "request on the same 2 cores; Custodian is faster because it reads ListFunctions, which on AWS does not "
        "carry them. What would close it: on real AWS the calls wait on the network (tens of ms each) and the "
        "server's CPU is not on this machine, so the bounded pool is what matters and a pool of 16-32 fits "
        "within a few ListFunctions pages' time (not measurable here); on this box only fewer calls would, e.g. "
        "reading State only for the functions the rules govern (the runbook governs one) rather than every "
        "function, or a cheaper emulator per request" + (
            f" (moto's backend lookup alone is {moto_split['backend lookup'] / moto_ms:.0%} of its CPU per request)"
            if moto_split and moto_ms else "") + ".")
    return text


def _cpu_lines(cpu: dict[str, list[tuple[float, float]]], runs: list[tuple[float, dict[str, Any]]],
               floor: list[tuple[float, dict[str, Any]]], sweep: list[tuple[int, float]],
               moto_split: dict[str, float] | None) -> list[str]:
    """Where the wall time goes: the tool's own CPU, moto's CPU serving it, and the pool size."""
    facts = runs[-1][1]
    out = ["Where the time goes (medians; moto runs inside the benchmark process, so that process's CPU "
           "while a tool runs is moto serving it):", "",
           "| run | its own CPU (user+sys) | moto CPU serving it | moto CPU per request |", "|---|---:|---:|---:|"]
    requests = {"checker": facts["requests"], "floor": floor[-1][1]["requests"] if floor else 0, "custodian": 0}
    for name, pairs in cpu.items():
        if pairs:
            n = requests.get(name) or 0
            per = f"{_med(pairs, 1) / n * 1000:.1f} ms" if n else "-"
            out.append(f"| {'minimal client (reference)' if name == 'floor' else name} | {_med(pairs, 0):.2f} s | "
                       f"{_med(pairs, 1):.2f} s | {per} |")
    calls_cpu = statistics.median(f["calls_cpu_s"] for _, f in runs)
    out += ["", f"Inside the checker (last run): imports incl. boto3 {facts['import_s']} s, the 500 calls "
            f"{facts['calls_s']} s; the calls' own CPU (median) {calls_cpu:.2f} s, "
            f"{calls_cpu / max(facts['requests'], 1) * 1000:.1f} ms per call."]
    if moto_split:
        ms = moto_split
        out += ["", f"moto per request (request threads' CPU, 100 serial calls): {ms['request']:.2f} ms in all; "
                f"werkzeug HTTP {ms['request'] - ms['app']:.2f} ms, backend lookup {ms['backend lookup']:.2f} ms "
                f"(one listing of moto's package folder: {ms['listing']:.2f} ms), Flask and moto dispatch "
                f"{ms['app'] - ms['backend lookup'] - ms['lambda handler']:.2f} ms, Lambda's own handler "
                f"{ms['lambda handler']:.2f} ms."]
    if sweep:
        out += ["", "Pool size (one run each): " + ", ".join(f"{w} workers {fmt_s(s)}" for w, s in sweep) + "."]
    return [*out, ""]


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] in ("check", "floor"):
        entry = check_main if sys.argv[1] == "check" else floor_main
        raise SystemExit(entry(sys.argv[2], *(int(w) for w in sys.argv[3:])))
    raise SystemExit("usage: python -m benchmarks.peer_lambda check|floor NAMES_FILE [WORKERS]")
