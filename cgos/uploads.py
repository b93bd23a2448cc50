"""Payslips: checked by their content, stored outside `static/` under a generated name."""

import logging
import os
import re
import secrets
import threading
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Request, current_app
from werkzeug.datastructures import FileStorage

log = logging.getLogger(__name__)

# What each accepted type starts with (magic bytes), whatever its name or declared type.
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
# Markup that has no business in a payslip: a file carrying it could be served as a page.
SUSPICIOUS_MARKERS = (b"<html", b"<script", b"<svg", b"<!doctype html")
PAYSLIP_DIR = "payslips"
# The name staff see and mails carry: letters, digits and ` .()-` only, bounded.
UNSAFE_NAME_CHARACTERS = re.compile(r"[^\w .()-]")
NAME_LENGTH = 60
FALLBACK_NAME = "bulletin"

# Views that receive a payslip (`accepts_payslip`): their requests may be a little over
# MAX_CONTENT_LENGTH, so that a payslip slightly too large is refused beside its field with
# the rest of the form kept; a request far over it still gets the 413 page.
OVERSIZE_MARGIN = 2 * 1024 * 1024

MISSING = "Joignez votre dernier bulletin de paie ou de pension."
EMPTY = "Le fichier joint est vide : joignez votre dernier bulletin de paie ou de pension."
WRONG_TYPE = "Le fichier joint doit être un PDF, une image JPEG ou PNG."
TOO_LARGE = "Le fichier joint dépasse {size} : réduisez-le (une photo moins grande, par exemple) puis recommencez."
QUOTA_FULL = (
    "Le dépôt des bulletins de paie est momentanément saturé : votre fichier n'a pas été enregistré. "
    "Réessayez dans quelques heures."
)


@dataclass(frozen=True)
class CheckedFile:
    """An upload whose content was checked: its type and the bytes to store."""

    content: bytes
    mimetype: str
    extension: str
    filename: str


def max_size() -> int:
    """The largest payslip accepted, in bytes."""
    return current_app.config["MAX_CONTENT_LENGTH"]


def check_payslip(upload: FileStorage | None) -> tuple[CheckedFile | None, str | None]:
    """(the checked file, None) or (None, the French reason it is refused)."""
    if upload is None or not upload.filename:
        return None, MISSING
    content = upload.read(max_size() + 1)
    if not content:
        return None, EMPTY
    if len(content) > max_size():
        size = max_size()
        readable = f"{size // (1024 * 1024)} Mo" if size >= 1024 * 1024 else f"{size // 1024} Ko"
        return None, TOO_LARGE.format(size=readable)
    head = content[:2048].lower()
    if any(marker in head for marker in SUSPICIOUS_MARKERS):
        return None, WRONG_TYPE
    for magic, mimetype, extension in SIGNATURES:
        if content.startswith(magic):
            return CheckedFile(content, mimetype, extension, display_name(upload.filename, extension)), None
    return None, WRONG_TYPE


def display_name(sent: str, extension: str) -> str:
    """The name a payslip sent as `sent` is shown and mailed under: clean, bounded, its checked type's extension."""
    # It ends up in mail headers and in Content-Disposition: a CR/LF would start a new header.
    name = unicodedata.normalize("NFKC", sent)
    name = "".join(character for character in name if unicodedata.category(character)[0] != "C")
    stem = Path(name.replace("\\", "/")).stem
    stem = UNSAFE_NAME_CHARACTERS.sub("", stem).strip(" .")[:NAME_LENGTH].strip(" .")
    return f"{stem or FALLBACK_NAME}{extension}"


def store(checked: CheckedFile, directory: str = PAYSLIP_DIR) -> str:
    """Write the file under a random name in `directory`; the path relative to UPLOAD_FOLDER."""
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / directory
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{directory}/{secrets.token_hex(16)}{checked.extension}"
    path = Path(current_app.config["UPLOAD_FOLDER"]) / relative
    with open(path, "xb") as handle:
        handle.write(checked.content)
    os.chmod(path, 0o600)
    _count_written(len(checked.content))
    return relative


# Past UPLOAD_QUOTA_BYTES in UPLOAD_FOLDER, a new payslip is refused until the folder empties
# (decisions, `uploads purge`), so a flood of forms cannot fill the disk. Measuring the folder
# costs a stat per file: a process measures it at most every QUOTA_MEASURE_SECONDS and adds
# what it writes in between.
QUOTA_MEASURE_SECONDS = 60
_usage: dict[str, tuple[float, int]] = {}
_usage_lock = threading.Lock()


def folder_bytes(folder: Path) -> int:
    """The bytes of every file under `folder`."""
    total = 0
    for directory, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.stat(os.path.join(directory, name)).st_size
            except FileNotFoundError:
                pass  # Deleted while counting.
    return total


def used_bytes() -> int:
    """What UPLOAD_FOLDER holds, as this process measured it at most QUOTA_MEASURE_SECONDS ago, plus what it wrote since."""
    folder = current_app.config["UPLOAD_FOLDER"]
    with _usage_lock:
        measured_at, used = _usage.get(folder, (None, 0))
        if measured_at is None or time.monotonic() - measured_at >= QUOTA_MEASURE_SECONDS:
            measured_at, used = time.monotonic(), folder_bytes(Path(folder))
            _usage[folder] = (measured_at, used)
        return used


def _count_written(size: int) -> None:
    """Add a file this process wrote to its last measure of UPLOAD_FOLDER."""
    folder = current_app.config["UPLOAD_FOLDER"]
    with _usage_lock:
        if folder in _usage:
            measured_at, used = _usage[folder]
            _usage[folder] = (measured_at, used + size)


def over_quota(size: int) -> bool:
    """True, with a WARNING logged, when `size` more bytes would take UPLOAD_FOLDER past UPLOAD_QUOTA_BYTES."""
    quota = current_app.config["UPLOAD_QUOTA_BYTES"]
    if quota is None:
        return False
    used = used_bytes()
    if used + size <= quota:
        return False
    log.warning("payslip refused: the upload folder holds %d bytes, UPLOAD_QUOTA_BYTES is %d", used, quota)
    return True


@contextmanager
def stored(checked: CheckedFile):
    """Store a file for rows written in the block: if the block fails, the file goes too."""
    relative = store(checked)
    try:
        yield relative
    except BaseException:
        delete(relative)
        raise


def absolute(relative: str) -> Path:
    """Where a stored file is on disk (never outside UPLOAD_FOLDER)."""
    root = Path(current_app.config["UPLOAD_FOLDER"]).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise ValueError("path outside the upload folder")
    return path


def delete(relative: str) -> None:
    """Remove a stored file; already gone is fine."""
    absolute(relative).unlink(missing_ok=True)


def accepts_payslip(view):
    """Mark a view as one that receives a payslip: its requests get OVERSIZE_MARGIN over MAX_CONTENT_LENGTH."""
    view.accepts_payslip = True
    return view


class PortalRequest(Request):
    """Flask's request, with the upload margin above for the views that take a payslip."""

    @property
    def max_content_length(self) -> int | None:
        """MAX_CONTENT_LENGTH, plus the margin on views marked `accepts_payslip`."""
        # Read before any view hook runs (CSRF reads the body first), hence a property of the request.
        limit = super().max_content_length
        view = current_app.view_functions.get(self.endpoint) if self.endpoint else None
        if limit is not None and getattr(view, "accepts_payslip", False):
            return limit + OVERSIZE_MARGIN
        return limit

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        """Keep Flask's per-request override working."""
        Request.max_content_length.fset(self, value)


# A payslip checked but not yet sent (a form with errors, a question page passed) waits here,
# named in the form's flow state; `uploads purge` deletes those no live flow state names.
KEPT_DIR = "kept"


def keep(checked: CheckedFile) -> dict:
    """Write a checked payslip aside for the form under way; what its flow state keeps of it."""
    return {"path": store(checked, KEPT_DIR), "filename": checked.filename, "mimetype": checked.mimetype}


def kept_payslip(kept) -> dict | None:
    """The kept payslip a flow state names, if it is still on disk."""
    if not (isinstance(kept, dict) and isinstance(kept.get("path"), str) and kept["path"].startswith(f"{KEPT_DIR}/")):
        return None
    try:
        return kept if absolute(kept["path"]).is_file() else None
    except ValueError:
        return None


def keep_payslip(upload: FileStorage | None, kept: dict | None) -> tuple[dict | None, str | None]:
    """(the payslip kept, the message to show): a new upload replaces the kept one; none keeps it."""
    if upload is None or not upload.filename:
        return kept, None if kept else MISSING
    checked, problem = check_payslip(upload)
    if problem:
        return kept, problem
    # Only a new file waits: one already kept is still stored at « Envoyer ».
    if over_quota(len(checked.content)):
        return kept, QUOTA_FULL
    new = keep(checked)
    forget_kept(kept)
    return new, None


def kept_file(kept: dict) -> CheckedFile:
    """The kept payslip, read back to be stored with its request."""
    content = absolute(kept["path"]).read_bytes()
    extension = Path(kept["path"]).suffix
    return CheckedFile(content, kept["mimetype"], extension, kept["filename"])


def forget_kept(kept: dict | None) -> None:
    """Delete a kept payslip (sent or replaced)."""
    if kept_payslip(kept) is not None:
        delete(kept["path"])


def kept_paths() -> list[str]:
    """Every kept payslip on disk, relative to UPLOAD_FOLDER."""
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / KEPT_DIR
    return [f"{KEPT_DIR}/{path.name}" for path in folder.glob("*")] if folder.is_dir() else []
