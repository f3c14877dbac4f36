"""Contract fuzzing of the OpenAPI spec (issue 17): schemathesis generates requests for every operation of the
API's own spec, valid ones and invalid ones, sent as the admin and as staff to the app over a real SQLite file with
the demo registry; no request may end in a 5xx, and every response must have a status code, content type and body
the spec documents.

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
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("SKINTRACK_FUZZ_EXAMPLES", "4"))  # per operation and role; more for a deeper hunt


@pytest.fixture
def db_url(sqlite_url) -> str:
    """SQLite only (a real file): overrides the sqlite+postgresql parametrization the `api` fixture goes through."""
    return sqlite_url


@pytest.mark.slow
@pytest.mark.parametrize("role", ["admin", "staff"])
def test_no_server_error_and_responses_match_the_spec(api, role):
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


def test_an_unreadable_body_is_a_400_in_the_documented_error_shape(api):
    """Found by the fuzzing: a body that is not UTF-8 JSON got FastAPI's `{"detail": "..."}` (a string), which the
    spec did not document; now the API's own `{"detail": [{"field", "msg"}]}`, and 400/401/403/404/429 are in the
    spec of every operation."""
    response = api.client.post("/patients", content=b"\x81\x82",
                               headers={**api.headers("admin"), "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"detail": [{"field": "", "msg": "There was an error parsing the body"}]}
    spec = api.client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert {"400", "401", "403", "422", "429"} <= set(operation["responses"]), f"{method} {path}"
