"""The navigation bar: which pages each role sees. Later issues add their entries here."""

from __future__ import annotations

from dataclasses import dataclass

from ..auth import Actor
from .i18n import N_

__all__ = ["NavEntry", "NAV", "HOMES", "nav_for", "home_for"]


@dataclass(frozen=True)
class NavEntry:
    href: str
    label: str  # message id, translated when rendered
    roles: frozenset[str]


def _entry(href: str, label: str, *roles: str) -> NavEntry:
    return NavEntry(href, label, frozenset(roles))


NAV = (
    _entry("/owner/instruments", N_("My instruments"), "owner_user"),
    _entry("/owner/apply", N_("Apply for verification"), "owner_user"),
    _entry("/owner/certificates", N_("Certificates"), "owner_user"),
    _entry("/owner/reminders", N_("Reminders"), "owner_user"),
    _entry("/work/tasks", N_("Task queue"), "verifier", "checker", "approver", "admin"),
    _entry("/work/certificates", N_("Issued certificates"), "verifier", "checker", "approver", "lab_manager"),
    _entry("/lab/staff", N_("Staff qualifications"), "lab_manager"),
    _entry("/lab/standards", N_("Measurement standards"), "lab_manager"),
    _entry("/lab/owners", N_("Owner registrations"), "lab_manager", "regulator", "admin"),
    _entry("/supervision/coverage", N_("Coverage"), "regulator", "admin"),
    _entry("/supervision/overdue", N_("Overdue instruments"), "regulator", "admin"),
    _entry("/supervision/certificates", N_("Certificates per month"), "regulator", "admin"),
    _entry("/supervision/reminders", N_("Reminders to owners"), "regulator", "admin"),
    # last: it is no one's landing page
    _entry("/lab/institutions", N_("Institution settings"), "lab_manager", "admin"),
    _entry("/admin/users", N_("Accounts"), "lab_manager", "admin"),
    _entry("/admin/catalogue", N_("Catalogue periods"), "admin"),
    _entry("/admin/rules", N_("MPE rules"), "admin"),
)


def nav_for(actor: Actor | None) -> list[NavEntry]:
    if actor is None:
        return []
    return [e for e in NAV if actor.roles & e.roles]


# where each role's work waits, the first that applies for a user with several roles: an owner's
# instruments; the staff's task queue; a lab manager's standards, whose lapse stops every verification;
# a regulator's coverage dashboard; an administrator's accounts
HOMES = (
    ("owner_user", "/owner/instruments"),
    ("verifier", "/work/tasks"),
    ("checker", "/work/tasks"),
    ("approver", "/work/tasks"),
    ("lab_manager", "/lab/standards"),
    ("regulator", "/supervision/coverage"),
    ("admin", "/admin/users"),
)


def home_for(actor: Actor) -> str:
    """Where a user lands after logging in: where their role's work waits (HOMES) among the pages of
    their navigation; else its first page; with none, their account."""
    entries = nav_for(actor)
    shown = {e.href for e in entries}
    home = next((href for role, href in HOMES if actor.has(role) and href in shown), None)
    return home or (entries[0].href if entries else "/account")
