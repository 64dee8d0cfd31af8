"""Where issuing's time goes, phase by phase (issue 14): the functions that make up each phase are
wrapped, in this benchmark process only, so that wall time is charged to the innermost phase running
(a certificate's rows inserted inside the certificates step count as rows, not as certificates);
what no phase claims (reads, checks, Python between the steps) is "other". The wrappers cost a few
microseconds per call and are called some twenty times per certificate.
"""

from __future__ import annotations

import functools
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["PHASES", "charged"]

# phase → (module, attribute path) of the functions that make it up
PHASES: dict[str, tuple[tuple[str, str], ...]] = {
    "readings and verdicts": (
        ("jiliang.verification.readings", "parse_reading"),
        ("jiliang.verification.readings", "judge_readings"),
        ("jiliang.verification.readings", "uncertainties"),
    ),
    "uncertainty (GUM budgets)": (("jiliang.measurement.point_uncertainty", "point_uncertainty"),),
    "record content and hashes": (
        ("jiliang.verification.model", "record_content"),
        ("jiliang.verification.model", "content_hash"),
    ),
    "certificate payloads": (
        ("jiliang.certificates.service", "_payloads"),
        ("jiliang.certificates.canonical", "canonical_json"),
    ),
    "signing": (("jiliang.certificates.signing", "Signer.sign"),),
    "rows (inserts, updates)": (
        ("jiliang.bulk", "insert_rows"),
        ("jiliang.bulk", "insert_returning_ids"),
        ("jiliang.verification.store", "set_where_in"),
        ("jiliang.verification.signoff", "_update_instruments"),
    ),
    "ledger leaves": (("jiliang.ledger.append", "flush_ledger"),),
    "tiles": (("jiliang.ledger.tiles", "append_hashes"),),
    "audit events": (("jiliang.audit", "record_event"), ("jiliang.audit", "flush_events")),
    "commit": (("jiliang.db", "UnitOfWork.commit"),),
}


def _wrap(phase: str, fn: Callable[..., Any], spent: dict[str, float], stack: list[list[Any]]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        now = time.perf_counter()
        if stack:
            spent[stack[-1][0]] += now - stack[-1][1]
        stack.append([phase, now])
        try:
            return fn(*args, **kwargs)
        finally:
            end = time.perf_counter()
            spent[phase] += end - stack.pop()[1]
            if stack:
                stack[-1][1] = end  # the outer phase resumes

    return timed


@contextmanager
def charged() -> Iterator[dict[str, float]]:
    """Within the block, seconds charged to each phase (and "other" once it ends)."""
    spent: dict[str, float] = defaultdict(float)
    stack: list[list[Any]] = []
    undo = []
    for phase, places in PHASES.items():
        for module_name, path in places:
            module = sys.modules[module_name]
            owner_name, _, name = path.rpartition(".")
            owner = getattr(module, owner_name) if owner_name else module
            original = getattr(owner, name)
            wrapped = _wrap(phase, original, spent, stack)
            # the function itself, and every jiliang module that imported it by name
            holders = [owner] + [
                m
                for key, m in list(sys.modules.items())
                if not owner_name
                and key.startswith("jiliang")
                and m is not module
                and getattr(m, name, None) is original
            ]
            for holder in holders:
                setattr(holder, name, wrapped)
                undo.append((holder, name, original))
    start = time.perf_counter()
    try:
        yield spent
    finally:
        total = time.perf_counter() - start
        for holder, name, original in reversed(undo):
            setattr(holder, name, original)
        spent["other (reads, checks, glue)"] = total - sum(spent.values())
