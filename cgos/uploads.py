"""Payslips: checked by their content, stored outside `static/` under a generated name."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

# What each accepted type starts with (magic bytes), whatever its name or declared type.
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
# Markup that has no business in a payslip: a file carrying it could be served as a page.
SUSPICIOUS_MARKERS = (b"<html", b"<script", b"<svg", b"<!doctype html")
PAYSLIP_DIR = "payslips"

MISSING = "Joignez votre dernier bulletin de paie ou de pension."
EMPTY = "Le fichier joint est vide : joignez votre dernier bulletin de paie ou de pension."
WRONG_TYPE = "Le fichier joint doit être un PDF, une image JPEG ou PNG."
TOO_LARGE = "Le fichier joint dépasse {size} Mo : réduisez-le (une photo moins grande, par exemple) puis recommencez."


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
        return None, TOO_LARGE.format(size=max_size() // (1024 * 1024))
    head = content[:2048].lower()
    if any(marker in head for marker in SUSPICIOUS_MARKERS):
        return None, WRONG_TYPE
    for magic, mimetype, extension in SIGNATURES:
        if content.startswith(magic):
            name = Path(upload.filename).stem[:60] or "bulletin"
            return CheckedFile(content, mimetype, extension, f"{name}{extension}"), None
    return None, WRONG_TYPE


def store(checked: CheckedFile) -> str:
    """Write the file under a random name; the path relative to UPLOAD_FOLDER."""
    folder = Path(current_app.config["UPLOAD_FOLDER"]) / PAYSLIP_DIR
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{PAYSLIP_DIR}/{secrets.token_hex(16)}{checked.extension}"
    path = Path(current_app.config["UPLOAD_FOLDER"]) / relative
    with open(path, "xb") as handle:
        handle.write(checked.content)
    os.chmod(path, 0o600)
    return relative


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

