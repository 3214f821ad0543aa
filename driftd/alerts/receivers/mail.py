"""Email over SMTP (STARTTLS, implicit TLS or plain), multipart text + HTML with
an inline PNG chart of each alert's metric history and its threshold line.

Authentication failures, refused recipients and other 5xx answers are permanent;
4xx answers, timeouts and connection errors are retried. The notification id is
the Message-ID and the ``X-Driftd-Idempotency-Key`` header.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from driftd.alerts.chart import metric_chart
from driftd.alerts.model import Notification
from driftd.alerts.receivers import DeliveryError, ReceiverContext
from driftd.alerts.render import html_body, text_body
from driftd.config.alerting import EmailReceiver
from driftd.credentials import resolve_secret


def build_message(notification: Notification, spec: EmailReceiver) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = notification.title()
    message["From"] = spec.sender
    message["To"] = ", ".join(spec.to)
    message["Date"] = formatdate(notification.created_at, usegmt=True)
    message["Message-ID"] = f"<{notification.id}@driftd>"
    message["X-Driftd-Idempotency-Key"] = notification.id
    message.set_content(text_body(notification))
    charts: dict[str, bytes] = {}
    chart_ids: dict[str, str] = {}
    for alert in notification.alerts:
        png = metric_chart(
            notification.history.get(alert.key, []), alert.metric, alert.threshold, alert.op
        )
        if png is not None:
            charts[alert.key] = png
            chart_ids[alert.key] = make_msgid(domain="driftd")[1:-1]
    message.add_alternative(html_body(notification, chart_ids), subtype="html")
    html_part = message.get_payload()[1]
    for key, png in charts.items():
        html_part.add_related(png, "image", "png", cid=f"<{chart_ids[key]}>",
                              filename=f"{key}.png")  # fmt: skip
    return message


class Email:
    def __init__(self, name: str, spec: EmailReceiver, username: str | None, password: str | None):
        self.name = name
        self._spec = spec
        self._username = username
        self._password = password

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self._spec.ca_file)

    def _connect(self) -> smtplib.SMTP:
        spec = self._spec
        if spec.security == "tls":
            return smtplib.SMTP_SSL(spec.host, spec.port or 465, timeout=spec.timeout,
                                    context=self._context())  # fmt: skip
        smtp = smtplib.SMTP(spec.host, spec.port or (587 if spec.security == "starttls" else 25),
                            timeout=spec.timeout)  # fmt: skip
        if spec.security == "starttls":
            smtp.starttls(context=self._context())
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        """One mechanism, one try (smtplib's login() walks through every advertised
        mechanism after a refusal, which some servers answer by stalling)."""
        smtp.ehlo_or_helo_if_needed()
        offered = smtp.esmtp_features.get("auth", "").upper().split()
        mechanism = next((m for m in ("PLAIN", "LOGIN", "CRAM-MD5") if m in offered), None)
        if mechanism is None:
            raise smtplib.SMTPNotSupportedError("the server offers no AUTH mechanism we speak")
        smtp.user, smtp.password = self._username or "", self._password or ""
        smtp.auth(mechanism, getattr(smtp, "auth_" + mechanism.lower().replace("-", "_")))

    def send(self, notification: Notification) -> None:
        message = build_message(notification, self._spec)
        try:
            with self._connect() as smtp:
                if self._username:
                    self._login(smtp)
                smtp.send_message(message)
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(f"email {self.name}: {exc}", False) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"email {self.name}: authentication failed ({exc.smtp_code})",
                                False) from None  # fmt: skip
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError(f"email {self.name}: recipients refused", False) from None
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(f"email {self.name}: SMTP {exc.smtp_code}", not permanent) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise DeliveryError(f"email {self.name}: {type(exc).__name__}: {exc}", True) from None


def build(name: str, spec: EmailReceiver, context: ReceiverContext) -> Email:
    at = f"alerting.receivers.{name}"
    return Email(name, spec, resolve_secret(spec.username_env, f"{at}.username_env", secret=False),
                 resolve_secret(spec.password_env, f"{at}.password_env"))  # fmt: skip
