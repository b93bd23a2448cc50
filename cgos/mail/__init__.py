"""The mail queue: every mail is a row written with the change that needs it.

`send_mail()` only queues: no web request opens an SMTP connection. A sender
sends the committed rows with Flask-Mail: with MAIL_DELIVERY = "thread" a
background thread of each web process (woken by the commit, else polling each
second), with "worker" only `flask mail worker` (polling each second). A mail
that fails is tried again after 30 s, doubling up to an hour; `flask mail
send-pending` sends everything at once. Mails are read and claimed a hundred
at a time (a conditional UPDATE) before they are sent over one SMTP
connection, so two senders never send the same row twice, and each is
recorded as sent in its own commit once the server took it.

A secret a mail carries (a provisional PIN, a confirmation link) is never
stored in clear: the bodies hold a marker where it goes, the values are kept
Fernet-encrypted in `sealed_secrets` under keys that are not in the database
(MAIL_SECRET_KEY, a list newest first, or SECRET_KEY when unset: see
cgos/sealing.py), put in place only when the message is built for SMTP, and
erased once the mail is sent. `keys rotate` re-seals them with the newest key.

The package's parts: `compose` (render and queue), `sealed` (secrets kept
encrypted until sending), `queue` (which mail is due, claiming, recording),
`delivery` (SMTP, the sender thread and the worker).
"""

from .compose import external_url, send_mail
from .delivery import deliver_all, init_app, run_worker, running_sender, send_due, send_pending, stop_sender
from .queue import is_due, pending_mails, purge_sent, retry_delay
from .sealed import OpenedMail, SecretUnavailable, open_mail

__all__ = [
    "OpenedMail",
    "SecretUnavailable",
    "deliver_all",
    "external_url",
    "init_app",
    "is_due",
    "open_mail",
    "pending_mails",
    "purge_sent",
    "retry_delay",
    "run_worker",
    "running_sender",
    "send_due",
    "send_mail",
    "send_pending",
    "stop_sender",
]
