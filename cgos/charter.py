"""The charter (« Conditions générales d'utilisation »): a versioned file an operator replaces.

The file (`CHARTER_PATH`) is an HTML fragment whose first line names its version,
`<!-- charter-version: 2026-11 -->`; without that line the file's name is the version.
An agent accepts one version; a file with another version asks every agent to accept
again at their next login. The file is read again whenever it changes on disk, so
replacing it needs no restart.
"""

import re
from dataclasses import dataclass
from pathlib import Path

# 2026-12 ends the guide's ★ line that 2026-11 left at « et … »; 2026-11.html stays, the text its
# agents accepted.
DEFAULT_PATH = Path(__file__).parent / "data" / "charter" / "2026-12.html"
VERSION_LINE = re.compile(r"\A\s*<!--\s*charter-version:\s*([\w.-]{1,40})\s*-->")


@dataclass(frozen=True)
class Charter:
    """One version of the charter and its text (trusted HTML: the operator's file)."""

    version: str
    html: str


_cache: dict[str, tuple[float, Charter]] = {}


def parse(text: str, name: str) -> Charter:
    """The charter a file's text holds (`name`, the file's stem, is the version when no line gives one)."""
    match = VERSION_LINE.match(text)
    return Charter(match.group(1) if match else name[:40], text)


def load(path: str | Path) -> Charter:
    """The charter in the file at `path`, read again when the file changes."""
    path = Path(path)
    modified = path.stat().st_mtime
    cached = _cache.get(str(path))
    if cached is None or cached[0] != modified:
        cached = (modified, parse(path.read_text(encoding="utf-8"), path.stem))
        _cache[str(path)] = cached
    return cached[1]
