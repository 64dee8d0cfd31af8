"""The channels' senders: an SMS gateway (an interface; the platform ships one that writes to the log,
no SMS provider is contracted), e-mail over SMTP, and in-app notices (delivered by being marked sent:
the owner's pages list them). A sender raises `SendFailed` when the message did not go out."""

from __future__ import annotations

import logging
import os
import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr
from typing import Protocol

from .model import Message

__all__ = ["LoggingSmsGateway", "SendFailed", "Senders", "SmsGateway", "SmtpMailer", "SmtpSettings"]

log = logging.getLogger("jiliang.reminders")


class SendFailed(Exception):
    """The message did not go out (the gateway or server refused it, or could not be reached)."""


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> None: ...


@dataclass
class LoggingSmsGateway:
    """Writes each SMS to the log (logger jiliang.reminders) and keeps it in `sent`: stands in for an
    operator's gateway, which implements `SmsGateway` the same way."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", phone, text)
        with self._lock:
            self.sent.append((phone, text))


@dataclass(frozen=True)
class SmtpSettings:
    """JILIANG_SMTP_HOST (unset: no e-mail is sent, e-mail notices fail and say so), JILIANG_SMTP_PORT
    (25), JILIANG_SMTP_FROM, JILIANG_SMTP_STARTTLS (1 to upgrade), JILIANG_SMTP_USERNAME and
    JILIANG_SMTP_PASSWORD (to log in), JILIANG_SMTP_TIMEOUT (seconds, 10)."""

    host: str | None
    port: int = 25
    sender: str = "jiliang@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0

    @classmethod
    def from_env(cls) -> SmtpSettings:
        env = os.environ
        return cls(
            host=env.get("JILIANG_SMTP_HOST") or None,
            port=int(env.get("JILIANG_SMTP_PORT", "25")),
            sender=env.get("JILIANG_SMTP_FROM", "jiliang@localhost"),
            starttls=env.get("JILIANG_SMTP_STARTTLS", "") in ("1", "true", "yes"),
            username=env.get("JILIANG_SMTP_USERNAME") or None,
            password=env.get("JILIANG_SMTP_PASSWORD") or None,
            timeout=float(env.get("JILIANG_SMTP_TIMEOUT", "10")),
        )


@dataclass(frozen=True)
class SmtpMailer:
    settings: SmtpSettings

    def send(self, to: str, message: Message, notice_id: int) -> None:
        """One message; its Message-ID names the notice, so a copy re-sent after a crash (the runner died
        between sending and recording) is recognisable as the same notice."""
        s = self.settings
        if not s.host:
            raise SendFailed("未配置邮件服务器 / no SMTP server configured (JILIANG_SMTP_HOST)")
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = formataddr(("上海市法制计量平台", s.sender))
        mail["To"] = to
        domain = s.sender.rpartition("@")[2] or "localhost"
        mail["Message-ID"] = f"<reminder-{notice_id}@{domain}>"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
                if s.starttls:
                    smtp.starttls()
                if s.username:
                    smtp.login(s.username, s.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"SMTP {s.host}:{s.port}: {exc}") from exc


@dataclass(frozen=True)
class Senders:
    sms: SmsGateway
    mailer: SmtpMailer

    @classmethod
    def from_env(cls) -> Senders:
        return cls(LoggingSmsGateway(), SmtpMailer(SmtpSettings.from_env()))
