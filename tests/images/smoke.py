"""Build the API and dashboard images with Podman and smoke-test them (``make image-test``).

1. The champion: this checkout's (after ``make repro``), else the small world of the API
   tests, registered as ``credit-scoring@champion`` in a temporary project root (CI's fresh
   clone has run no pipeline).
2. The base image: ``--base`` (``python:3.11-slim-bookworm`` where a registry is reachable),
   else ``localhost/credit-scoring-base:bookworm``, built here with mmdebstrap when missing.
3. The build context (``deploy/context.py``: locked wheels cached in ``.image-build/wheels``)
   and both images, timed.
4. In one pod (the containers share 127.0.0.1, as the compose file's network does): the API
   on a named volume for the decision log; ``/health``, its HEALTHCHECK, a known client's
   score with the key, 401 without it.
5. The dashboard against the API, loaded in Chromium (every request outside 127.0.0.1 is
   recorded and refused: there must be none), a client's comparison with the reference
   population drawn, and an advisor decision recorded.
6. The API container removed and started again on the same volume: the decision is still in
   the log.

Containers, pod and volume are removed at the end, even on failure. Every failed check names
what failed (exit status 1), with the end of both containers' logs; missing tools are listed
(exit status 2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "deploy"))

PODMAN = ["podman", "--runtime", "runc"]
#: crun fails on these machines; runc needs these limits (STACK.md).
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
LOCAL_BASE = "localhost/credit-scoring-base:bookworm"
API_IMAGE = "localhost/credit-scoring-api"
DASHBOARD_IMAGE = "localhost/credit-scoring-dashboard"
POD = "credit-scoring-smoke"
VOLUME = "credit-scoring-smoke-decisions"
API_NAME = "credit-scoring-smoke-api"
DASHBOARD_NAME = "credit-scoring-smoke-dashboard"
START_TIMEOUT = 240.0
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
"""


class SmokeError(RuntimeError):
    """A failed check, named."""


def step(message: str) -> None:
    print(f"[image-test] {message}", flush=True)


def run(cmd: list[str], *, check: bool = True, **kwargs: Any) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise SmokeError(f"command failed ({result.returncode}): {' '.join(cmd)}\n{tail}")
    return result.stdout


def missing_tools(need_mmdebstrap: bool) -> list[str]:
    from test_dashboard_browser import chromium_path

    missing = [t for t in ("podman", "runc", "catatonit") if shutil.which(t) is None]
    if need_mmdebstrap and shutil.which("mmdebstrap") is None:
        missing.append("mmdebstrap")
    if chromium_path() is None:
        missing.append("chromium")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (make install)")
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(url: str, key: str | None = None, body: Any = None) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if key is not None:
        headers["X-API-Key"] = key
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"null")
        except ValueError:
            return error.code, None


# --------------------------------------------------------------------------- the champion


@contextlib.contextmanager
def champion_root(root: Path | None) -> Iterator[tuple[Path, str]]:
    """A project root with a registered champion, and where it comes from."""
    if root is not None:
        yield root, f"project root {root}"
        return
    if (REPO / "data" / "mlflow" / "mlflow.db").is_file() and (
        REPO / "data" / "features" / "production.parquet"
    ).is_file():
        yield REPO, "this checkout's champion (make repro)"
        return
    from test_api import build_world
    from test_dashboard_browser import project_root, register_champion

    step("no pipeline run here: building the API tests' small world and its champion")
    world = build_world()
    with tempfile.TemporaryDirectory(prefix="credit_scoring_image_") as tmp:
        root = project_root(world, Path(tmp))
        (root / "data" / "models").symlink_to(world.root / "models")
        register_champion(world, root)
        yield root, "the API tests' small world (CI scale)"


# --------------------------------------------------------------------------- the images


def ensure_base(base: str | None) -> tuple[str, list[str]]:
    """The base image and the build arguments it needs."""
    if base:
        return base, []
    args = ["--build-arg", "PIP_FLAGS=--ignore-requires-python"]  # Debian's 3.11.2
    if subprocess.run(["podman", "image", "exists", LOCAL_BASE]).returncode == 0:
        return LOCAL_BASE, args
    step(f"building the base image {LOCAL_BASE} with mmdebstrap (about 20 s)")
    with tempfile.TemporaryDirectory(prefix="credit_scoring_base_") as tmp:
        tar = Path(tmp) / "base.tar"
        run(
            [
                "mmdebstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates,libgomp1",
                "bookworm",
                str(tar),
            ]
        )
        run(["podman", "import", str(tar), LOCAL_BASE])
    return LOCAL_BASE, args


def build(context: Path, base: str, args: list[str], tag: str) -> dict[str, float]:
    seconds = {}
    for target, image in (("api", API_IMAGE), ("dashboard", DASHBOARD_IMAGE)):
        started = time.monotonic()
        log = run(
            [
                *PODMAN,
                "build",
                *LIMITS,
                "--format",
                "docker",
                "--target",
                target,
                "--build-arg",
                f"BASE_IMAGE={base}",
                *args,
                "-t",
                f"{image}:{tag}",
                "-f",
                str(REPO / "Containerfile"),
                str(context),
            ]
        )
        (context / f"build-{target}.log").write_text(log)
        seconds[target] = time.monotonic() - started
    return seconds


def image_size(image: str) -> int:
    return int(run(["podman", "image", "inspect", "--format", "{{.Size}}", image]).strip())


# --------------------------------------------------------------------------- the containers


def cleanup() -> None:
    subprocess.run([*PODMAN, "pod", "rm", "--force", "--ignore", POD], capture_output=True)
    subprocess.run(["podman", "volume", "rm", "--force", VOLUME], capture_output=True)


def logs(name: str, tail: int = 3000) -> str:
    """The end of a container's output (podman writes its stdout and stderr apart)."""
    result = subprocess.run(["podman", "logs", name], capture_output=True, text=True)
    return (result.stdout + result.stderr)[-tail:]


def start_container(name: str, image: str, *options: str) -> None:
    """Run ``image`` detached in the pod as ``name``, with extra ``podman run`` options."""
    run([*PODMAN, "run", "--detach", *LIMITS, "--pod", POD, "--name", name, *options, image])


def start_api(image: str, key: str) -> None:
    start_container(
        API_NAME,
        image,
        "--env",
        f"CREDIT_SCORING_API_KEY={key}",
        "--volume",
        f"{VOLUME}:/var/lib/credit-scoring",
    )


def wait_api(url: str) -> float:
    """Seconds until /health says the model is loaded."""
    started = time.monotonic()
    last: Any = None
    while time.monotonic() - started < START_TIMEOUT:
        with contextlib.suppress(OSError):
            status, last = http(f"{url}/health")
            if status == 200 and last.get("model_loaded"):
                return time.monotonic() - started
        time.sleep(0.5)
    raise SmokeError(
        f"API: /health not ready in {START_TIMEOUT:.0f} s (last: {last})\n{logs(API_NAME)}"
    )


def wait_port(url: str, name: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(url, timeout=5).close()
            return time.monotonic() - started
        time.sleep(0.5)
    raise SmokeError(f"{name}: {url} not answering in {START_TIMEOUT:.0f} s\n{logs(name)}")


def advisor_entries() -> list[dict[str, Any]]:
    """The advisor decisions of the API container's log (read inside the container)."""
    code = (
        "import json, os; from credit_scoring.decision_log import DecisionLog\n"
        "with DecisionLog(os.environ['CREDIT_SCORING_DECISION_LOG']) as log:\n"
        "    print(json.dumps([{'id': e.id, 'client_id': e.client_id, 'decision': e.decision}"
        " for e in log.entries(kind='advisor')]))"
    )
    return json.loads(run([*PODMAN, "exec", API_NAME, "python3", "-c", code]))


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SmokeError(what)
    step(f"ok: {what}")


def pick_client(api: str, key: str) -> int:
    """A production client in the orange band when there is one (the advisor decides)."""
    status, listed = http(f"{api}/v1/clients?limit=200", key)
    check(status == 200, f"GET /v1/clients with the key answers 200 (got {status})")
    ids = [int(c) for c in listed["client_ids"]]
    check(bool(ids), "the API lists known clients")
    status, scored = http(f"{api}/v1/clients/score", key, {"client_ids": ids[:200]})
    if status == 200:
        for row in scored["results"]:
            if row.get("decision") == "review":
                return int(row["client_id"])
    return ids[0]


def record_decision(dashboard: str, client: int) -> int:
    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import (
        CHROMIUM_ARGS,
        STEP_TIMEOUT_MS,
        choose_client,
        chromium_path,
        open_page,
        open_tab,
        wait_ready,
    )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            opened = open_page(browser, dashboard)
            try:
                wait_ready(opened.page)
            except Exception as error:
                shown = opened.page.locator(".cs-app").inner_text()[-1500:]
                raise SmokeError(
                    f"the dashboard page never became usable ({type(error).__name__}); "
                    f"it shows: {shown!r}"
                ) from error
            step(f"dashboard page usable {time.monotonic() - _T0[0]:.1f} s after its start")
            page = opened.page
            choose_client(page, client)
            open_tab(page, "Comparaison")
            page.wait_for_selector(".cs-compare img", timeout=STEP_TIMEOUT_MS)
            step("ok: the comparison tab draws the client against the reference population")
            open_tab(page, "Pourquoi ce score")
            page.locator(".cs-reason-input textarea").fill("Smoke test de l'image : dossier vu")
            page.get_by_role("button", name="Accorder").click()
            page.wait_for_selector(".cs-recorded", timeout=STEP_TIMEOUT_MS)
            decision_id = int(page.locator(".cs-recorded").get_attribute("data-decision-id"))
            check(
                not opened.external,
                f"the page made no request outside 127.0.0.1 (made: {opened.external})",
            )
            return decision_id
        finally:
            browser.close()


_T0 = [0.0]


def smoke(args: argparse.Namespace) -> dict[str, Any]:
    from context import main as prepare_context

    report: dict[str, Any] = {}
    # The pod's infra container gets no --ulimit flag: the limits runc needs here, for every
    # container this run starts (the user's own containers.conf is left alone otherwise).
    if "CONTAINERS_CONF" not in os.environ:
        conf = args.context.parent / "containers.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(CONTAINERS_CONF)
        os.environ["CONTAINERS_CONF"] = str(conf)
    key = secrets.token_urlsafe(24)
    base, build_args = ensure_base(args.base)
    with champion_root(args.root) as (root, origin):
        step(f"champion: {origin}")
        # Never tag a test world's champion as the release.
        tag = args.tag or ("latest" if root == REPO else "smoke")
        started = time.monotonic()
        prepare_context(
            ["--root", str(root), "--out", str(args.context), "--wheels", str(args.wheels)]
        )
        report["context_s"] = time.monotonic() - started
    step(f"building both images on {base}")
    report["build_s"] = build(args.context, base, build_args, tag)
    api_image, dashboard_image = f"{API_IMAGE}:{tag}", f"{DASHBOARD_IMAGE}:{tag}"
    report["images"] = {"api": api_image, "dashboard": dashboard_image}
    report["size"] = {"api": image_size(api_image), "dashboard": image_size(dashboard_image)}

    cleanup()
    api_port, dashboard_port = free_port(), free_port()
    api, dashboard = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{dashboard_port}"
    run(
        [
            *PODMAN,
            "pod",
            "create",
            "--name",
            POD,
            "--publish",
            f"127.0.0.1:{api_port}:8000",
            "--publish",
            f"127.0.0.1:{dashboard_port}:8866",
        ]
    )
    run(["podman", "volume", "create", VOLUME])
    try:
        start_api(api_image, key)
        report["api_start_s"] = wait_api(api)
        check(True, f"API container up, champion loaded, in {report['api_start_s']:.1f} s")
        health = run([*PODMAN, "healthcheck", "run", API_NAME], check=False)
        status = run(
            ["podman", "inspect", "--format", "{{.State.Health.Status}}", API_NAME], check=False
        ).strip()
        check(status == "healthy", f"the API image's HEALTHCHECK passes ({status} {health})")
        client = pick_client(api, key)
        status, score = http(f"{api}/v1/clients/{client}/score", key)
        check(
            status == 200 and 0.0 <= float(score["probability_default"]) <= 1.0,
            f"client {client} scored with the key: {score}",
        )
        status, _ = http(f"{api}/v1/clients/{client}/score")
        check(status == 401, f"the same request without a key answers 401 (got {status})")

        _T0[0] = time.monotonic()
        start_container(
            DASHBOARD_NAME,
            dashboard_image,
            "--env",
            "CREDIT_SCORING_API_URL=http://127.0.0.1:8000",
            "--env",
            f"CREDIT_SCORING_API_KEY={key}",
        )
        report["dashboard_start_s"] = wait_port(
            f"{dashboard}/voila/static/voila.js", DASHBOARD_NAME
        )
        check(True, f"dashboard container answering in {report['dashboard_start_s']:.1f} s")
        decision_id = record_decision(dashboard, client)
        check(True, f"advisor decision {decision_id} recorded from the page for client {client}")
        entries = {e["id"]: e for e in advisor_entries()}
        check(
            decision_id in entries and entries[decision_id]["client_id"] == client,
            f"decision {decision_id} is in the API's log",
        )

        run([*PODMAN, "rm", "--force", API_NAME])
        start_api(api_image, key)
        report["api_restart_s"] = wait_api(api)
        entries = {e["id"]: e for e in advisor_entries()}
        check(
            decision_id in entries and entries[decision_id]["decision"] == "grant",
            f"decision {decision_id} still in the log after a new API container "
            f"(up in {report['api_restart_s']:.1f} s)",
        )
    except BaseException:
        args.keep_logs = True  # a failure shows what the containers said
        raise
    finally:
        if args.keep_logs:
            for name in (API_NAME, DASHBOARD_NAME):
                print(f"--- podman logs {name} (end) ---\n{logs(name)}", file=sys.stderr)
        cleanup()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="project root whose champion is served")
    parser.add_argument(
        "--base",
        default=os.environ.get("BASE_IMAGE") or None,
        help=f"base image (default: {LOCAL_BASE}, built here if missing)",
    )
    parser.add_argument(
        "--tag",
        help="image tag (default: latest for this checkout's champion, smoke for the test world's)",
    )
    parser.add_argument("--context", type=Path, default=REPO / ".image-build" / "smoke")
    parser.add_argument("--wheels", type=Path, default=REPO / ".image-build" / "wheels")
    parser.add_argument("--keep-logs", action="store_true", help="print the containers' logs")
    args = parser.parse_args(argv)
    missing = missing_tools(need_mmdebstrap=args.base is None)
    if missing:
        print(
            f"make image-test needs: {', '.join(missing)} (Debian: apt-get install -y "
            "podman runc catatonit mmdebstrap chromium)",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    try:
        report = smoke(args)
    except SmokeError as error:
        print(f"[image-test] FAILED: {error}", file=sys.stderr)
        return 1
    mb = 1_000_000
    step(
        f"image {report['images']['api']}: {report['size']['api'] / mb:,.0f} MB, built in "
        f"{report['build_s']['api']:.0f} s, starts (champion loaded) in "
        f"{report['api_start_s']:.1f} s"
    )
    step(
        f"image {report['images']['dashboard']}: {report['size']['dashboard'] / mb:,.0f} MB, "
        f"built in {report['build_s']['dashboard']:.0f} s, answers in "
        f"{report['dashboard_start_s']:.1f} s"
    )
    step(f"passed in {time.monotonic() - started:.0f} s (context {report['context_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
