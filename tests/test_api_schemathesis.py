"""Schemathesis against the API's own OpenAPI schema: generated requests, valid and invalid,
never get a server error, and every answer matches the documented schema and status codes.

CI runs a small number of cases per operation; ``--runslow`` runs the long check (at least
1,000 cases in all). The number of cases actually sent is counted and checked.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from test_api import KEY, build_world, world_root, world_settings

from credit_scoring.api import create_app

pytestmark = [
    pytest.mark.xdist_group("api"),
    pytest.mark.filterwarnings("ignore:.*starlette.testclient.*"),
    # FastAPI 0.165 builds its path parameters in a way pydantic 2.14 warns about.
    pytest.mark.filterwarnings("ignore::pydantic.warnings.UnsupportedFieldAttributeWarning"),
]

#: Cases per operation: CI, and the long run (nine operations, two with nothing to vary).
CI_EXAMPLES = 25
FULL_EXAMPLES = 160
CI_MIN_CASES, FULL_MIN_CASES = 100, 1000
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]
HYPOTHESIS = {
    "deadline": None,  # scoring on a shared 2-core machine can take a second
    "database": None,
    "derandomize": True,  # the same cases at every run
    "suppress_health_check": list(HealthCheck),
}

sent: dict[str, Counter[str]] = {"ci": Counter(), "full": Counter()}

# The schema is read from the app at import; the app gets its scorer (and the world its
# tables) when the fixture below asks for it, not at import.
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


def _check(case: Any, run: str) -> None:
    response = case.call()
    sent[run][f"{case.method} {case.path}"] += 1
    case.validate_response(response, checks=CHECKS)


@schema_ci.parametrize()
@settings(max_examples=CI_EXAMPLES, **HYPOTHESIS)
def test_no_server_error(case: Any) -> None:
    _check(case, "ci")


def test_enough_cases_were_sent() -> None:
    total = sum(sent["ci"].values())
    print(f"\nschemathesis: {total} cases over {len(sent['ci'])} operations: {dict(sent['ci'])}")
    assert total >= CI_MIN_CASES


@pytest.mark.slow
@schema_full.parametrize()
@settings(max_examples=FULL_EXAMPLES, **HYPOTHESIS)
def test_no_server_error_long_run(case: Any) -> None:
    _check(case, "full")


@pytest.mark.slow
def test_enough_cases_were_sent_in_the_long_run() -> None:
    total = sum(sent["full"].values())
    print(f"\nschemathesis long run: {total} cases: {dict(sent['full'])}")
    assert total >= FULL_MIN_CASES
