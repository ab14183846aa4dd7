"""Latency of the advisor dashboard in a real browser: first widgets, and a client switch.

Usage::

    .venv/bin/python tests/benchmarks/dashboard_latency.py [--backend api local] [--switches 20]

For each backend — ``api``: the scoring API (uvicorn, on 127.0.0.1) called over HTTP;
``local``: the model loaded in the dashboard's kernel from a registered champion
(``credit-scoring@champion`` in an MLflow store, as after ``make repro``) — it starts Voilà
as ``make dashboard`` does, on the small world of the API tests (a data twin), or with
``--root .`` on this checkout's pipeline and its champion (the blend), opens the page in
Debian's Chromium at 1280 x 800 and prints:

- ``first widgets``: seconds from the server listening to the dashboard's first widgets on the
  page, the page asked for at once (its kernel is still being preheated); target 5 s;
- ``client list``: seconds from the server listening to the client search being usable (the
  model and data loaded in the background);
- the same two, from the page request, on a server in service (``--settle`` seconds later: the
  pool has preheated a kernel, which has run the notebook and loaded the model);
- ``client switch``: seconds from typing a client id to its score on the page (median, 90th
  percentile and maximum over ``--switches`` switches between clients of the three decisions);
  target 1 s;
- ``what-if``: milliseconds from the Enter key in the what-if tab's credit field to the new
  score on the page, by the browser's clock (median, 90th percentile over ``--switches``
  edits); target 50 ms.

Timings on a shared machine are pessimistic: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from test_api import KEY, build_world  # noqa: E402
from test_dashboard_browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    api_server,
    choose_client,
    open_page,
    open_tab,
    project_root,
    register_champion,
    voila_server,
    what_if_latencies,
)

TARGET_FIRST_WIDGETS = 5.0
TARGET_SWITCH = 1.0
TARGET_WHAT_IF_MS = 50.0


def measure(
    clients: list[int], env: dict[str, str], tmp: Path, switches: int, settle: float
) -> dict[str, Any]:
    """``clients``: one of each decision (review first: its what-if is timed)."""
    from playwright.sync_api import sync_playwright

    with voila_server(env, tmp) as voila, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        cold = open_page(browser, voila.url)  # returns once .cs-app is on the page
        first = time.monotonic() - voila.up_at
        cold.page.wait_for_selector(".cs-ready", timeout=120_000)
        ready = time.monotonic() - voila.up_at
        cold.page.context.close()
        time.sleep(settle)  # the pool preheats the next kernel, as on a server in service
        asked = time.monotonic()
        page = open_page(browser, voila.url)
        warm_first = time.monotonic() - asked
        page.page.wait_for_selector(".cs-ready", timeout=120_000)
        warm_ready = time.monotonic() - asked
        times = []
        for k in range(switches + 1):
            client = clients[k % len(clients)]
            field = page.page.locator(".cs-search input")
            started = time.monotonic()
            field.fill(str(client))
            page.page.wait_for_function(
                "id => { const t = document.querySelector('.cs-application');"
                " return t && t.innerText.includes(id)"
                " && document.querySelector('.cs-score-card .cs-score') !== null; }",
                arg=str(client),
                timeout=60_000,
                polling=10,
            )
            if k:  # the first switch warms the caches up
                times.append(time.monotonic() - started)
        # The what-if tab of a client of the orange band: the credit halved, then as filed.
        choose_client(page.page, clients[0])
        open_tab(page.page, "Et si…")
        page.page.wait_for_selector(".cs-what-if-score", timeout=60_000)
        credit = float(page.page.locator(".cs-credit input").input_value())
        what_if = sorted(
            what_if_latencies(page.page, "credit", [round(credit / 2), credit], switches)
        )
        browser.close()
        external = cold.external + page.external
    times.sort()
    return {
        "first_widgets_s": first,
        "client_list_s": ready,
        "warm_first_widgets_s": warm_first,
        "warm_client_list_s": warm_ready,
        "switch_median_s": statistics.median(times),
        "switch_p90_s": times[int(0.9 * (len(times) - 1))],
        "switch_max_s": times[-1],
        "what_if_median_ms": statistics.median(what_if),
        "what_if_p90_ms": what_if[int(0.9 * (len(what_if) - 1))],
        "external_requests": len(external),
    }


def measure_world(backend: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    """On the API tests' small world: a calibrated LightGBM (the data-frame path)."""
    started = time.monotonic()
    world = build_world()
    print(f"world built in {time.monotonic() - started:.0f} s (data twin, 400 clients)")
    root = project_root(world, tmp)
    clients = [world.client_with(d) for d in ("review", "grant", "refuse")]
    env = {"CREDIT_SCORING_ROOT": str(root)}
    if backend == "local":
        register_champion(world, root)
        env["CREDIT_SCORING_DECISION_LOG"] = str(tmp / "local-decisions.sqlite")
        return measure(clients, env, tmp, args.switches, args.settle)
    with api_server(world, tmp) as api:
        env |= {"CREDIT_SCORING_API_URL": api.url, "CREDIT_SCORING_API_KEY": KEY}
        return measure(clients, env, tmp, args.switches, args.settle)


def measure_root(root: Path, backend: str, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    """On a pipeline's champion; the API, in its own process, also picks the clients."""
    import httpx
    from api_load import KEY as BENCH_KEY
    from api_load import start_server, wait_ready

    process, url = start_server(root, tmp, 1)
    try:
        wait_ready(url, process, 600)
        headers = {"X-API-Key": BENCH_KEY}
        ids = httpx.get(f"{url}/v1/clients?limit=500", headers=headers).json()["client_ids"]
        scored = httpx.post(
            f"{url}/v1/clients/score", headers=headers, json={"client_ids": ids}, timeout=60
        ).json()["results"]
        by_decision = {r["decision"]: int(r["client_id"]) for r in reversed(scored)}
        clients = [by_decision[d] for d in ("review", "grant", "refuse")]
        print(f"{root}: the champion of the pipeline, clients {clients}")
        env = {
            "CREDIT_SCORING_ROOT": str(root),
            "CREDIT_SCORING_DECISION_LOG": str(tmp / f"{backend}-decisions.sqlite"),
        }
        if backend == "api":
            env |= {"CREDIT_SCORING_API_URL": url, "CREDIT_SCORING_API_KEY": BENCH_KEY}
        return measure(clients, env, tmp, args.switches, args.settle)
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", nargs="+", choices=["api", "local"], default=["api", "local"])
    parser.add_argument("--switches", type=int, default=20)
    parser.add_argument(
        "--settle", type=float, default=20.0, help="seconds before the second page is asked for"
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="a project root whose pipeline ran (make repro): its champion and production batch "
        "instead of the API tests' small world",
    )
    args = parser.parse_args()
    if CHROMIUM is None:
        raise SystemExit("no Chromium: apt-get install -y chromium")
    with tempfile.TemporaryDirectory(prefix="dashboard_bench_") as tmp_name:
        tmp = Path(tmp_name)
        for backend in args.backend:
            if args.root is not None:
                result = measure_root(args.root.resolve(), backend, tmp, args)
            else:
                result = measure_world(backend, tmp, args)
            load = os.getloadavg()
            ok_first = "ok" if result["first_widgets_s"] <= TARGET_FIRST_WIDGETS else "MISSED"
            ok_switch = "ok" if result["switch_median_s"] <= TARGET_SWITCH else "MISSED"
            print(
                f"[{backend}] first widgets {result['first_widgets_s']:.2f} s after the server "
                f"is up (target {TARGET_FIRST_WIDGETS:.0f} s: {ok_first}); client list usable "
                f"after {result['client_list_s']:.2f} s"
            )
            print(
                f"[{backend}] server in service (preheated kernel): first widgets "
                f"{result['warm_first_widgets_s']:.2f} s after the page is asked for, client "
                f"list usable after {result['warm_client_list_s']:.2f} s"
            )
            print(
                f"[{backend}] client switch: median {result['switch_median_s'] * 1000:.0f} ms, "
                f"p90 {result['switch_p90_s'] * 1000:.0f} ms, max "
                f"{result['switch_max_s'] * 1000:.0f} ms over {args.switches} switches "
                f"(target {TARGET_SWITCH * 1000:.0f} ms: {ok_switch}); "
                f"requests outside 127.0.0.1: {result['external_requests']}; "
                f"load average {load[0]:.1f}"
            )
            ok_what_if = "ok" if result["what_if_median_ms"] <= TARGET_WHAT_IF_MS else "MISSED"
            print(
                f"[{backend}] what-if re-scored in the browser: median "
                f"{result['what_if_median_ms']:.0f} ms, p90 {result['what_if_p90_ms']:.0f} ms "
                f"(target {TARGET_WHAT_IF_MS:.0f} ms: {ok_what_if})"
            )


if __name__ == "__main__":
    main()
