"""Rebuild static/portal.js (htmx + app.js) after changing either: `python scripts/build_assets.py`.

tests/test_security.py checks that the committed bundle is up to date.
"""

from pathlib import Path

from cgos.assets import BUNDLE, build_bundle

STATIC = Path(__file__).resolve().parent.parent / "static"

if __name__ == "__main__":
    (STATIC / BUNDLE).write_bytes(build_bundle(STATIC))
    print(f"wrote static/{BUNDLE}")
