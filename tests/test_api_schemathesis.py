"""Schemathesis against the API's own OpenAPI schema, with every check it has (``--checks
all``): generated requests, valid and invalid, never get a server error, schema-valid requests
are accepted, invalid ones refused, and every answer matches the documented schema and status
codes.

CI runs a small number of cases per operation; ``--runslow`` runs the long check (at least
1,000 cases in all). The number of cases actually sent to each operation is checked.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import schemathesis.specs.openapi.checks
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS as CHECKS_REGISTRY
from schemathesis.config import SchemathesisConfig
from test_api import KEY, build_world, world_root, world_settings

from credit_scoring.api import create_app

pytestmark = [
    # Schemathesis gives every operation's item the same name, and xdist then runs only the
    # first operation: `make test` runs this module in a serial pass.
    pytest.mark.skipif(
        "PYTEST_XDIST_WORKER" in os.environ, reason="run without xdist (-p no:xdist)"
    ),
    pytest.mark.filterwarnings("ignore:.*starlette.testclient.*"),
    # FastAPI 0.165 builds its path parameters in a way pydantic 2.14 warns about.
    pytest.mark.filterwarnings("ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"),
]

#: Cases asked and the least sent per operation, in CI and in the long run: every operation
#: with something to vary gets at least 125, so the long run sends well over 1,000 cases.
CI_EXAMPLES, CI_MIN_CASES = 25, 20
FULL_EXAMPLES, FULL_MIN_CASES = 160, 125
NOTHING_TO_VARY = {"GET /health"}
#: Every check schemathesis has (its ``--checks all``).
CHECKS = CHECKS_REGISTRY.get_all()
HYPOTHESIS = {
    "deadline": None,  # scoring on a shared 2-core machine can take a second
    "database": None,
    "derandomize": True,  # the same cases at every run
    "suppress_health_check": list(HealthCheck),
}

# The schema is read from the app at import, and names a client of the world's production
# batch as the example of every client_id: the world is built first (not in xdist workers,
# which skip this module). The app gets its scorer when the fixture below asks for it.
if "PYTEST_XDIST_WORKER" not in os.environ:
    build_world()
app = create_app(
    scorer=lambda: build_world().scorer,
    settings=world_settings(world_root() / "schemathesis", load_at_startup=False),
)
with warnings.catch_warnings():
    # Starlette's test client, which schemathesis drives, warns about its httpx dependency.
    warnings.filterwarnings("ignore", message=".*starlette.testclient.*")
    # CI: the examples and the fuzzing phases. The long run adds the coverage phase: the
    # boundaries of every field, and the methods no operation accepts.
    auth = {"auth": {"openapi": {"APIKeyHeader": {"api_key": KEY}}}}
    schema_ci = schemathesis.openapi.from_asgi(
        "/openapi.json",
        app,
        config=SchemathesisConfig.from_dict({**auth, "phases": {"coverage": {"enabled": False}}}),
    )
    schema_full = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=SchemathesisConfig.from_dict(auth)
    )


@pytest.fixture(scope="module", autouse=True)
def warm_app() -> Iterator[None]:
    """The world built, the model loaded and the background warm-up done before any case."""
    service = app.state.service
    service.load()
    assert service.wait_warm(180)
    yield
    service.close()


def _check(case: Any, sent: Counter[str]) -> None:
    response = case.call()
    # By the documented operation: the long run also sends methods no operation accepts.
    sent[f"{case.operation.method.upper()} {case.operation.path}"] += 1
    case.validate_response(response, checks=CHECKS)


def _count(minimum: int, label: str) -> Iterator[Counter[str]]:
    # Checked at teardown. Schemathesis runs each operation as its own item with its own
    # module fixtures, and xdist may send operations to different workers, so the count is
    # per operation: a test run after the cases could land where nothing was sent.
    sent: Counter[str] = Counter()
    yield sent
    for operation, total in sent.items():
        least = 1 if operation in NOTHING_TO_VARY else minimum
        print(f"\nschemathesis {label}: {total} cases for {operation}")
        assert total >= least, f"{operation}: {total} cases sent in the {label}, expected {least}+"


@pytest.fixture(scope="module")
def ci_cases() -> Iterator[Counter[str]]:
    yield from _count(CI_MIN_CASES, "CI run")


@pytest.fixture(scope="module")
def long_run_cases() -> Iterator[Counter[str]]:
    yield from _count(FULL_MIN_CASES, "long run")


@schema_ci.parametrize()
@settings(max_examples=CI_EXAMPLES, **HYPOTHESIS)
def test_no_server_error(case: Any, ci_cases: Counter[str]) -> None:
    _check(case, ci_cases)


@pytest.mark.slow
@schema_full.parametrize()
@settings(max_examples=FULL_EXAMPLES, **HYPOTHESIS)
def test_no_server_error_long_run(case: Any, long_run_cases: Counter[str]) -> None:
    _check(case, long_run_cases)
