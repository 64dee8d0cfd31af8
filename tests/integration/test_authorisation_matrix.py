"""Generated from the OpenAPI document: every route with an id in its path, called by every kind of
user of *another* tenant (an owner, a verifier, a checker, an approver and a lab manager of another
district's institute, a regulator of another district: tests/support/tenancy.py) with the ids of one
tenant's instrument, task, record, certificate, standard, owner, user and API token. One policy
everywhere: the answer is never a success, and it is exactly the answer for an id that does not exist —
so it never confirms that an id exists (no 403 for a real id where a made-up one gets 404, and the same
body once the made-up id reads as the real one). A new route
without a rule fails here. The web pages, which the OpenAPI document leaves out, have their own matrix:
test_authorisation_matrix_pages.py."""

from __future__ import annotations

import re
import warnings

import pytest
import schemathesis
from hypothesis.errors import NonInteractiveExampleWarning

from jiliang.api import create_app
from tests.conftest import login
from tests.support import tenancy, world
from tests.support.dcc_files import UNSIGNED
from tests.support.tenancy import MISSING

# global reference data (catalogue types, procedure rules, institutions' keys): administrators only
GLOBAL = {"type_id", "code", "rule_id", "record_type"}
# operations whose generated body their own checks refuse before the access rule is asked (a DCC must be
# one): a body they accept instead, so that only the rule on whose object it is stands in the way
BODIES = {"/api/standards/{standard_id}/calibrations/dcc": {"file": UNSIGNED.read_bytes(), "interval_months": 12}}


@pytest.fixture
def tenant_a(platform):  # type: ignore[no-untyped-def]
    return tenancy.tenant_a(platform)[1]


@pytest.fixture
def others(platform, client):  # type: ignore[no-untyped-def]
    """Users of another district: its institute's staff, an owner there, its regulator."""
    people = tenancy.other_district(platform)
    return {role: login(client, actor.username, world.PASSWORD) for role, actor in people.items()}


def _operations(platform):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(platform))
    out = []
    for result in schema.get_all_operations():
        operation = result.ok()
        names = re.findall(r"{(\w+)}", operation.path)
        if operation.path.startswith("/api/") and names and not set(names) & GLOBAL:
            out.append((operation, names))  # /public/* answer by token, on purpose
    return out


def test_no_route_confirms_another_tenants_ids(platform, client, tenant_a, others) -> None:
    operations = _operations(platform)
    assert len(operations) >= 15  # the generator sees the routes, not a hand-written list
    unknown = sorted({n for _, names in operations for n in names} - set(MISSING))
    assert not unknown, f"a route names a parameter this matrix does not know: {unknown}"
    leaks: list[str] = []
    seen: list[int] = []
    for operation, names in operations:
        real = {n: tenant_a[n] for n in names}
        # a schema-valid request (body included) for tenant A's resource, then the same for a made-up id
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NonInteractiveExampleWarning)
            case = operation.as_strategy(path_parameters=real).example()
        if operation.path in BODIES:
            case.body = BODIES[operation.path]
        for role, headers in others.items():
            case.path_parameters = dict(real)
            a = case.call(headers=headers)
            case.path_parameters = {n: MISSING[n] for n in names}
            b = case.call(headers=headers)
            seen.append(a.status_code)
            made_up = b.text
            for n in names:  # the made-up id, read as the real one: then the two bodies are the same
                made_up = made_up.replace(MISSING[n], real[n])
            if a.status_code < 300 or (a.status_code, a.text) != (b.status_code, made_up):
                leaks.append(f"{operation.label} as {role}: {a.status_code} {a.text} vs {b.status_code} {b.text}")
    assert not leaks, "\n".join(leaks)
    # not vacuous: most answers come from the rules that hide or refuse, not from the generated body
    assert sum(status in (403, 404) for status in seen) > len(seen) // 2, sorted(seen)
