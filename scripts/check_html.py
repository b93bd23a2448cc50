"""The Nu Html Checker on every page `make screenshots` saved: `make check-html` (not in CI).

Runs vnu.jar with --errors-only once over build/screenshots/**/NN-step.html (JS on: the DOM
after htmx's swaps; JS off: the pages as served), leaves out only htmx's attributes
(« Attribute “hx-…” not allowed on element “…” at this point. », accepted: the accessibility
statement says why), prints the pages checked and every other error by message with its
pages, and fails when there is any.

Usage: python scripts/check_html.py path/to/vnu.jar
"""

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "build" / "screenshots"
HTMX_ATTRIBUTE = re.compile(r"^Attribute “hx-[^”]+” not allowed on element “[^”]+” at this point\.$")
PAGES_LISTED = 6


def saved_pages() -> list[Path]:
    """Every page's HTML the screenshots saved (not the index)."""
    return sorted(path for path in SHOTS.rglob("*.html") if path.name != "index.html")


def vnu_messages(jar: str, pages: list[Path]) -> list[dict]:
    """vnu's errors for the pages, in one Java process (its JSON report comes on stderr)."""
    command = ["java", "-jar", jar, "--errors-only", "--no-langdetect", "--format", "json", "--exit-zero-always"]
    result = subprocess.run([*command, *map(str, pages)], capture_output=True, text=True)
    try:
        return json.loads(result.stderr)["messages"]
    except ValueError:
        sys.exit(f"vnu gave no report (Java 17 or later is needed):\n{result.stderr[-2000:]}")


def page_name(url: str) -> str:
    """`390x844/js-on/05-login-wrong-pin-3` from vnu's file URL."""
    return url.split(str(SHOTS) + "/", 1)[-1].removesuffix(".html")


def main(jar: str) -> int:
    """Check, summarise, fail on any error other than an hx-* attribute."""
    pages = saved_pages()
    if not pages:
        print(f"no page saved in {SHOTS.relative_to(ROOT)}/: run `make screenshots` first")
        return 1
    version = subprocess.run(["java", "-jar", jar, "--version"], capture_output=True, text=True).stdout.strip()
    messages = vnu_messages(jar, pages)
    accepted = [m for m in messages if m.get("type") == "error" and HTMX_ATTRIBUTE.match(m.get("message", ""))]
    others = defaultdict(list)
    for message in messages:
        if message not in accepted:
            text = message.get("message", "?")
            where = f"{page_name(message.get('url', '?'))}:{message.get('lastLine', '?')}"
            others[f"{message.get('type', '?')}: {text}"].append(where)
    js_on = sum("/js-on/" in str(page) for page in pages)
    print(f"Nu Html Checker {version}, --errors-only: {len(pages)} pages ({js_on} with JS on, as swapped;")
    print(f"  {len(pages) - js_on} with JS off, as served) from {SHOTS.relative_to(ROOT)}/")
    print(f"  {len(accepted)} errors on htmx's hx-* attributes, accepted")
    total = sum(len(where) for where in others.values())
    print(f"  {total} other errors" + (":" if total else ""))
    for text, where in sorted(others.items(), key=lambda item: -len(item[1])):
        shown = ", ".join(where[:PAGES_LISTED]) + (
            f" and {len(where) - PAGES_LISTED} more" if len(where) > PAGES_LISTED else ""
        )
        print(f"  {len(where):4d} × {text}\n         {shown}")
    return 1 if total else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
