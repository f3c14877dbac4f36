"""Contract fuzzing of the OpenAPI spec (issue 17): schemathesis generates requests for every operation of the
API's own spec, valid ones and invalid ones, sent as the admin and as staff to the app over a real SQLite file with
the demo registry; no request may end in a 5xx.

Schemathesis' pytest integration (`schemathesis.pytest.from_fixture`) reads a private attribute pytest 9 no longer
has, so each operation runs as a plain hypothesis test of `operation.as_strategy()` here.
"""

from __future__ import annotations

import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup

CHECKS = [not_a_server_error]
EXAMPLES = int(os.environ.get("SKINTRACK_FUZZ_EXAMPLES", "6"))  # per operation and role; more for a deeper hunt


@pytest.fixture
def db_url(sqlite_url) -> str:
    """SQLite only (a real file): overrides the sqlite+postgresql parametrization the `api` fixture goes through."""
    return sqlite_url


@pytest.mark.slow
@pytest.mark.parametrize("role", ["admin", "staff"])
def test_no_generated_request_gets_a_server_error(api, role):
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    headers = api.headers(role)
    failures, fuzzed = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        fuzzed.append(operation.label)
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), print_blob=False)
        @given(case=strategy)
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        started = time.perf_counter()
        try:
            run()
        except (Failure, FailureGroup) as error:  # every operation's failures are reported, not only the first one's
            failures.append(f"{operation.label}: {error}")
        print(f"{operation.label}: {time.perf_counter() - started:.2f} s")
    assert len(fuzzed) >= 20
    assert not failures, "\n\n".join(failures)
