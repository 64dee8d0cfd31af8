"""Who made each change, and whether they could: every transaction's audit leaf (audit_events/v2)
says how many record leaves came just before it in the same append, so each leaf is tied to the
actors of its transaction's audit events. Walking the ledger in order, the auditor keeps each user's
roles, institution and active flag as their own leaves recorded them — the rights each person held
at that moment — and names any leaf that no actor of its transaction had the right to write.

Leaves of a transaction that wrote no audit event are the platform's own work (start-up seeding,
keys and PDF certificates, adopting a new kind), allowed only for reference data, keys, X.509
certificates, institutions and the first administrator. Leaves written before audit leaves named
their records are not judged.

A lab manager may change two things of their own institution: its seal, and in its record its
authorisation number only (the auditor holds each institution's record as its last leaf left it)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, select

from ..bulk import driver_cursor
from .append import AUDIT_KIND, AUDIT_PROJECTION
from .projections import CURRENT
from .scan import WalkBuilder
from .tables import ledger_leaves as _leaves

__all__ = ["rights_findings", "RIGHTS"]

PLATFORM = None  # the actor of start-up, the CLI's own steps and adoption: no person

# kind → the roles that may write it. Institution-bound kinds also need the actor's institution to
# be the record's. The exceptions (sign-up, one's own account, a lab manager's staff) are in _allowed.
RIGHTS: dict[str, frozenset[str]] = {
    "owner": frozenset({"regulator", "lab_manager", "admin"}),
    "instrument": frozenset({"owner_user", "admin"}),
    "task": frozenset({"owner_user", "admin"}),
    "user": frozenset({"admin"}),
    "second_factor": frozenset({"admin"}),
    "qualification": frozenset({"lab_manager", "admin"}),
    "standard": frozenset({"lab_manager", "admin"}),
    "standard_calibration": frozenset({"lab_manager", "admin"}),
    "verification_record": frozenset({"verifier", "checker", "approver"}),
    "certificate": frozenset({"approver", "lab_manager"}),
    "catalogue_item": frozenset({"admin"}),
    "catalogue_type": frozenset({"admin"}),
    "procedure": frozenset({"admin"}),
    "institution": frozenset({"admin"}),
    "institution_seal": frozenset({"lab_manager", "admin"}),  # a lab manager: their own institution's
    "signing_key": frozenset({"admin"}),
    "x509_certificate": frozenset({"admin"}),  # a new institution's, a revocation, a licensed CA's
}
_BY_PLATFORM = frozenset(
    {
        "catalogue_item",
        "catalogue_type",
        "procedure",
        "institution",
        "signing_key",
        "x509_certificate",
        "user",
        "reminder_delivery",  # the scheduler's delivery log (`jiliang jobs run`), written by no person
    }
)
_OF_AN_INSTITUTION = frozenset({"verification_record", "certificate"})
_STAFF_ROLES = frozenset({"verifier", "checker", "approver", "lab_manager"})
_TABLES = {kind: str(p.table.name) for kind, p in CURRENT.items()} | {"procedure": "procedures"}
_WHO = ("roles", "institution_id", "regulator_id", "owner_id", "active")


@dataclass(frozen=True)
class Person:
    roles: frozenset[str]
    institution_id: int | None
    active: bool
    fields: dict[str, Any]

    @classmethod
    def of(cls, fields: dict[str, Any]) -> Person:
        return cls(
            frozenset((fields.get("roles") or "").split()),
            fields.get("institution_id"),
            bool(fields.get("active")),
            fields,
        )


@dataclass
class _Transaction:
    actors: frozenset[int | None]
    adoption: bool  # the platform adopting a kind it ledgers for the first time
    known: bool = True  # False: an event of it is gone (archived, or deleted: the trail check names that)
    actions: frozenset[str] = frozenset()


def _transactions(
    conn: Connection, audit_leaves: Iterable[tuple[int, str, dict[str, Any] | None]]
) -> tuple[dict[int, tuple[int, _Transaction]], int | None]:
    """Audit leaf index → (records before it, its actors); and the first index judged."""
    from ..audit import audit_events

    spans: dict[int, tuple[int, list[int]]] = {}
    for idx, projection, fields in audit_leaves:
        if projection != AUDIT_PROJECTION:
            continue
        spans[idx] = (fields["records"], [int(i) for i, _ in fields["events"]])  # type: ignore[index]
    if not spans:
        return {}, None
    wanted = sorted({e for _, ids in spans.values() for e in ids})
    actors: dict[int, tuple[int | None, str]] = {}
    for k in range(0, len(wanted), 1000):
        rows = conn.execute(
            select(audit_events.c.id, audit_events.c.actor_id, audit_events.c.action).where(
                audit_events.c.id.in_(wanted[k : k + 1000])
            )
        )
        actors.update((i, (a, action)) for i, a, action in rows)
    out = {}
    for idx, (records, ids) in spans.items():
        said = [actors[i] for i in ids if i in actors]
        adoption = bool(said) and all(action == "ledger.adopted" for _, action in said)
        txn = _Transaction(
            frozenset(a for a, _ in said), adoption, len(said) == len(ids), frozenset(a for _, a in said)
        )
        out[idx] = (records, txn)
    return out, min(idx - records for idx, (records, _) in out.items())


# A leaf as the walk holds it: (index, kind, record id, version, fields) for the kinds judged leaf by
# leaf, (first index, kind, count) for a run of leaves of another kind (scan.WalkBuilder).
Entry = tuple[Any, ...]


def _read_leaves(conn: Connection) -> WalkBuilder:
    """The walk, read here (the auditor hands over the one its pass over the leaves made)."""
    walk = WalkBuilder()
    sql = "SELECT idx, kind, record_id, version, data FROM ledger_leaves ORDER BY idx"
    with closing(driver_cursor(conn)) as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(5000):
            for idx, kind, rid, version, data in rows:
                try:
                    obj = orjson.loads(data)
                    obj["kind"], obj["id"], obj["version"], obj["projection"], obj["fields"]  # noqa: B018 - a leaf
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    obj = None
                walk.add(idx, kind, rid, version, obj)
    return walk.done()


def _allowed(
    kind: str,
    rid: str,
    fields: dict[str, Any] | None,
    txn: _Transaction | None,
    people: dict[int, Person],
    born: set[int],
    institutions: dict[str, dict[str, Any] | None] | None = None,
) -> bool:
    if txn is not None and txn.adoption:
        return True  # the platform adopting a kind it ledgers for the first time
    if txn is None:  # the platform's own work
        return _by_platform(kind, rid, people)
    for actor in txn.actors:
        if actor is PLATFORM:
            if _by_platform(kind, rid, people):
                return True
            continue
        person = people.get(actor)
        if person is None or not person.active:
            if actor in born and kind in ("owner", "user") and _signs_up(kind, rid, fields, actor):
                return True  # an owner's sign-up: the new account registers itself
            continue
        if kind == "user" and _own_or_staff(rid, fields, actor, person, people):
            return True
        if kind == "second_factor" and rid == str(actor):
            return True
        if kind == "institution" and _sets_own_number(rid, fields, person, institutions or {}):
            return True
        if not person.roles & RIGHTS.get(kind, frozenset()):
            continue
        if kind in _OF_AN_INSTITUTION and fields is not None and fields.get("institution_id") != person.institution_id:
            continue
        if kind == "institution_seal" and "admin" not in person.roles and rid != str(person.institution_id):
            continue
        return True
    return False


def _sets_own_number(
    rid: str, fields: dict[str, Any] | None, person: Person, institutions: dict[str, dict[str, Any] | None]
) -> bool:
    """A lab manager's leaf of their own institution that changes its authorisation number and nothing else."""
    if "lab_manager" not in person.roles or rid != str(person.institution_id) or fields is None:
        return False
    before = institutions.get(rid)
    if before is None:
        return False

    def rest(f: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in f.items() if k != "authorisation_no"}

    return rest(fields) == rest(before)


def _by_platform(kind: str, rid: str, people: dict[int, Person]) -> bool:
    """Reference data, keys, institutions; of users only a new one (the first administrator)."""
    return kind in _BY_PLATFORM and (kind != "user" or int(rid) not in people)


def _signs_up(kind: str, rid: str, fields: dict[str, Any] | None, actor: int) -> bool:
    if kind == "owner":
        return True
    return rid == str(actor) and fields is not None and Person.of(fields).roles == {"owner_user"}


def _own_or_staff(
    rid: str, fields: dict[str, Any] | None, actor: int, person: Person, people: dict[int, Person]
) -> bool:
    if fields is None:
        return False
    if rid == str(actor):  # one's own account: anything but what grants rights (a password, a name)
        return all(fields.get(k) == person.fields.get(k) for k in _WHO)
    if "lab_manager" in person.roles and "admin" not in person.roles:
        before = people.get(int(rid))
        new = Person.of(fields)
        same_house = new.institution_id == person.institution_id and fields.get("regulator_id") is None
        was_ours = before is None or before.institution_id == person.institution_id
        return same_house and was_ours and new.roles <= _STAFF_ROLES
    return False


def rights_findings(conn: Connection, leaves: WalkBuilder | None = None) -> list[Any]:
    """Every leaf judged by the rights its transaction's actors held then. `leaves`: the walk the
    auditor's pass over the leaves made (else the leaves are read here)."""
    from .auditor import Finding

    leaves = leaves if leaves is not None else _read_leaves(conn)
    spans, start = _transactions(conn, leaves.audit)
    if start is None:
        return []
    people: dict[int, Person] = {}
    for idx, rid, fields in leaves.users:  # the people as their leaves before the first judged leaf left them
        if idx >= start:
            break
        if fields is None:
            people.pop(int(rid), None)
        else:
            people[int(rid)] = Person.of(fields)
    institutions: dict[str, dict[str, Any] | None] = {}  # likewise each institution's record
    for entry in leaves.walk:
        if len(entry) == 5 and entry[0] < start and entry[1] == "institution":
            institutions[entry[2]] = entry[4]
    owner: dict[int, _Transaction] = {}  # leaf index → its transaction
    for idx, (records, txn) in spans.items():
        owner.update(dict.fromkeys(range(idx - records, idx), txn))
    judge = _Judge(owner, people, Finding, lambda lo, hi: _record_ids(conn, lo, hi), institutions)
    pending: list[Entry] = []
    for entry in leaves.walk:
        if len(entry) == 3:  # a run of leaves of one kind: cut where the transaction changes
            first, kind, count = entry
            i, end = max(first, start), first + count
            while i < end:
                by, j = owner.get(i), i + 1
                while j < end and owner.get(j) is by:
                    j += 1
                if by is None:  # the platform's own: each leaf judged at once, the first with what is pending
                    pending.append((i, kind, 1))
                    judge(pending)
                    pending = []
                    if j > i + 1:
                        judge([(i + 1, kind, j - i - 1)])
                else:
                    pending.append((i, kind, j - i))
                i = j
            continue
        if entry[0] < start:
            continue
        if entry[1] == AUDIT_KIND:
            judge(pending)
            pending = []
            continue
        pending.append(entry)
        if entry[0] not in owner:  # the platform's own transaction: judged at once
            judge(pending)
            pending = []
    judge(pending)
    return judge.found


def _record_ids(conn: Connection, lo: int, hi: int) -> list[tuple[int, str]]:
    """(index, record id) of leaves lo … hi − 1: the runs' ids, looked up only to name them."""
    stmt = select(_leaves.c.idx, _leaves.c.record_id).where(_leaves.c.idx >= lo, _leaves.c.idx < hi)
    return [(int(i), str(r)) for i, r in conn.execute(stmt.order_by(_leaves.c.idx))]


_AMENDING = frozenset({"certificate.superseded", "certificate.revoked"})


class _Judge:
    """Judges one transaction's leaves at a time, by the rights held before it; then applies its user
    leaves (the rights held from then on) and notes the records it approved (signed for good)."""

    def __init__(
        self,
        owner: dict[int, _Transaction],
        people: dict[int, Person],
        finding: Any,
        ids: Any,
        institutions: dict[str, dict[str, Any] | None] | None = None,
    ) -> None:
        self.owner, self.people, self.finding, self.ids = owner, people, finding, ids
        self.institutions: dict[str, dict[str, Any] | None] = {} if institutions is None else institutions
        self.approved: set[int] = set()
        self.found: list[Any] = []

    def _name(self, kind: str, rid: str, why: str) -> None:
        self.found.append(self.finding(_TABLES.get(kind, kind), rid, "unauthorised", why))

    def _without_right(self, idx: int, kind: str, rid: str, txn: _Transaction | None) -> None:
        actors = [PLATFORM] if txn is None else sorted(txn.actors, key=str)
        who = ", ".join("the platform" if a is PLATFORM else f"user {a}" for a in actors)
        self._name(kind, rid, f"leaf {idx} was written by {who}, without the right to change a {kind} then")

    def __call__(self, entries: list[Entry]) -> None:
        people = self.people
        born = {int(e[2]) for e in entries if len(e) == 5 and e[1] == "user" and e[4] and int(e[2]) not in people}
        for entry in entries:
            if len(entry) == 3:  # a run: its kind's rights do not depend on the record, one judgement
                first, kind, count = entry
                txn = self.owner.get(first)
                if (txn is None or txn.known) and not _allowed(kind, "", None, txn, people, born):
                    for idx, rid in self.ids(first, first + count):
                        self._without_right(idx, kind, rid, txn)
                continue
            idx, kind, rid, version, fields = entry
            txn = self.owner.get(idx)
            if kind == "verification_record" and int(rid) in self.approved:
                self._name(kind, rid, f"leaf {idx} is a later version of a record already approved and signed")
            if kind == "certificate" and version > 1 and (txn is None or not txn.actions & _AMENDING):
                self._name(kind, rid, f"leaf {idx} changes an issued certificate without an amendment or revocation")
            if txn is not None and not txn.known:
                continue  # who acted is no longer in the trail: archived, or deleted (named by the trail check)
            if not _allowed(kind, rid, fields, txn, people, born, self.institutions):
                self._without_right(idx, kind, rid, txn)
        for entry in entries:
            if len(entry) == 3:
                continue
            _, kind, rid, _, fields = entry
            if kind == "user":
                if fields is None:
                    people.pop(int(rid), None)
                else:
                    people[int(rid)] = Person.of(fields)
            elif kind == "verification_record" and fields is not None and fields.get("status") == "approved":
                self.approved.add(int(rid))
            elif kind == "institution":
                self.institutions[rid] = fields
