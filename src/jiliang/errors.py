"""Domain errors. Each carries a message a clerk understands; the API maps them to HTTP codes."""

from __future__ import annotations

__all__ = ["JiliangError", "NotFound", "Forbidden", "RuleViolation", "InvalidInput", "Unauthenticated", "Unavailable"]


class JiliangError(Exception):
    status = 400
    rule = "invalid"

    def __init__(self, message: str, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if rule:
            self.rule = rule


class InvalidInput(JiliangError):
    status = 422
    rule = "invalid_input"


class NotFound(JiliangError):
    status = 404
    rule = "not_found"


class Unauthenticated(JiliangError):
    status = 401
    rule = "unauthenticated"
    LOG_IN = "请先登录 / log in first (Authorization: Bearer <token>)"  # no token brought


class Forbidden(JiliangError):
    status = 403
    rule = "forbidden"


class RuleViolation(JiliangError):
    """A business rule forbids the step (separation of duties, expired qualification, ...)."""

    status = 409
    rule = "rule_violation"


class Unavailable(JiliangError):
    """The server lacks something the request needs (a font for the printable certificate): its
    administrator must install it; nothing the caller sent is wrong."""

    status = 503
    rule = "unavailable"
