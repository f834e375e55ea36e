"""Sending the invitations' activation e-mails through SMTP.

Settings come from the environment (AUDIENCE_STUDIO_SMTP_*) or a TOML settings file (`serve
--smtp-settings FILE`, section [smtp]); the password is read from the environment or the file only
and never printed or logged (`SmtpSettings.__repr__` leaves it out).
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tomllib
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

from app.errors import InvalidInput

SECURITY = ("none", "starttls", "tls")
ENV_PREFIX = "AUDIENCE_STUDIO_SMTP_"


class MailError(Exception):
    """The e-mail could not be sent; the message says where and why, without any credential."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    sender: str
    port: int = 587
    #: "starttls" (upgrade on the submission port), "tls" (implicit TLS, port 465) or "none" (a relay on
    #: this computer or a test server).
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 15.0

    def where(self) -> str:
        return f"{self.host}:{self.port}"


def _settings(values: dict, where: str) -> SmtpSettings:
    def get(name: str) -> str | None:
        value = values.get(name)
        return None if value is None or str(value).strip() == "" else str(value).strip()

    host, sender = get("host"), get("sender")
    if not host or not sender:
        raise InvalidInput(f"{where}: SMTP needs a host and a sender address")
    security = (get("security") or "starttls").casefold()
    if security not in SECURITY:
        raise InvalidInput(f"{where}: SMTP security {security!r} is not one of {', '.join(SECURITY)}")
    port_text = get("port") or ("465" if security == "tls" else "587" if security == "starttls" else "25")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidInput(f"{where}: SMTP port {port_text!r} is not a port number")
    return SmtpSettings(host=host, sender=sender, port=int(port_text), security=security, user=get("user"),
                        password=values.get("password") or None)


def load_settings(path: Path | None = None, environ: dict[str, str] | None = None) -> SmtpSettings | None:
    """The SMTP settings from the file (its [smtp] table), else from the environment; None when neither
    names a host (then invitations are kept unsent and say so). The environment's password wins over
    the file's, so the file need not hold it."""
    environ = dict(os.environ if environ is None else environ)
    from_env = {key[len(ENV_PREFIX):].lower(): value for key, value in environ.items() if key.startswith(ENV_PREFIX)}
    if path is not None:
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8")).get("smtp")
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"{path}: not a readable TOML settings file ({exc})") from None
        if not isinstance(values, dict):
            raise InvalidInput(f"{path}: no [smtp] section")
        if from_env.get("password"):
            values = {**values, "password": from_env["password"]}
        return _settings(values, str(path))
    if not from_env.get("host"):
        return None
    return _settings(from_env, "the AUDIENCE_STUDIO_SMTP_* environment")


def send(settings: SmtpSettings, to: str, subject: str, text: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.sender, to, subject
    message.set_content(text)
    context = ssl.create_default_context()
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except smtplib.SMTPAuthenticationError:
        raise MailError(f"the SMTP server {settings.where()} refused the user name and password") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"the SMTP server {settings.where()} refused the e-mail: {type(exc).__name__}") from None
    except (OSError, ssl.SSLError) as exc:
        raise MailError(f"cannot reach the SMTP server {settings.where()}: {exc.strerror or type(exc).__name__}") from None
