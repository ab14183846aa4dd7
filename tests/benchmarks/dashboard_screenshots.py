"""Screenshots of the advisor dashboard for the site's « Tableau de bord » page.

Usage::

    .venv/bin/python tests/benchmarks/dashboard_screenshots.py [--out images/dashboard]

Builds the small world of the API tests (a data twin of 400 clients, its features and a
small model), serves it by the scoring API and the dashboard by Voilà on 127.0.0.1, and has
Debian's Chromium take the PNGs at 1280 x 800 (``make screenshots``). Every figure shows
twin data: the captions of ``images/dashboard/README.md`` say so.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from test_api import KEY, build_world  # noqa: E402
from test_dashboard_browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    api_server,
    open_page,
    project_root,
    take_screenshots,
    voila_server,
    wait_ready,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=TESTS.parent / "images" / "dashboard")
    args = parser.parse_args()
    if CHROMIUM is None:
        raise SystemExit("no Chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    world = build_world()
    with tempfile.TemporaryDirectory(prefix="dashboard_shots_") as tmp_name:
        tmp = Path(tmp_name)
        with api_server(world, tmp) as api:
            env = {
                "CREDIT_SCORING_ROOT": str(project_root(world, tmp)),
                "CREDIT_SCORING_API_URL": api.url,
                "CREDIT_SCORING_API_KEY": KEY,
            }
            with voila_server(env, tmp) as voila, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = open_page(browser, voila.url)
                wait_ready(page.page)
                shots = take_screenshots(page.page, world, args.out)
                browser.close()
                if page.external:
                    raise SystemExit(f"requests outside 127.0.0.1: {page.external}")
    for path in shots:
        print(path)


if __name__ == "__main__":
    main()
    # Every PNG is written by now. The interpreter's own exit then aborts in a C++ destructor
    # ("exception not rethrown") after the in-thread API, Voilà and Chromium have all been
    # stopped; skipping that teardown keeps `make screenshots` from failing on work it did.
    sys.stdout.flush()
    os._exit(0)
