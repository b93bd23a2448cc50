"""Build the administrative reference data shipped in ``cgos/data``.

This script is run by a developer, never at application setup (setup has no
network access). It reads the npm package ``@etalab/decoupage-administratif``
(data under Licence Ouverte / Etalab, code under MIT) and writes:

* ``cgos/data/communes.csv.gz``: ``insee,name,postal_codes,department,region``
  for every current commune (type ``commune-actuelle``), mainland France,
  Corsica and overseas; ``postal_codes`` is space-separated;
* ``cgos/data/regions.csv``: ``code,name``;
* ``cgos/data/departments.csv``: ``code,name,region``.

Output is deterministic (rows sorted by code, gzip header with mtime=0 and no
file name), so rerunning it on the same package version gives identical bytes.

How to get the package (no need to install it, ``npm pack`` only downloads
the tarball into the current directory)::

    npm pack @etalab/decoupage-administratif@6.0.0
    python scripts/build_reference_data.py etalab-decoupage-administratif-6.0.0.tgz

The argument may be either that ``.tgz`` or an unpacked package directory
(the one holding ``package.json`` and ``data/``).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import sys
import tarfile
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "cgos" / "data"

COMMUNE_TYPE = "commune-actuelle"


class PackageSource:
    """Read JSON files from an unpacked npm package dir or its ``.tgz``."""

    def __init__(self, path: Path) -> None:
        """Remember where the package lives."""
        self.path = path

    def load(self, relative: str):
        """Return the parsed JSON of ``relative`` (e.g. ``data/regions.json``)."""
        if self.path.is_dir():
            with open(self.path / relative, encoding="utf-8") as handle:
                return json.load(handle)
        with tarfile.open(self.path, "r:gz") as archive:
            # npm tarballs put everything under a top-level "package/" folder.
            member = archive.getmember(f"package/{relative}")
            extracted = archive.extractfile(member)
            if extracted is None:
                raise FileNotFoundError(relative)
            with extracted:
                return json.loads(extracted.read().decode("utf-8"))


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    """Render rows as CSV text with ``\\n`` line endings."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _sort_key(code: str) -> tuple[int, str]:
    """Sort codes by length first so ``2A`` ranks between ``19`` and ``21``."""
    return (len(code), code)


def build_communes(source: PackageSource) -> list[list[str]]:
    """Return the current communes as CSV rows sorted by INSEE code."""
    rows = []
    seen = set()
    for commune in source.load("data/communes.json"):
        if commune.get("type") != COMMUNE_TYPE:
            continue
        code = commune["code"]
        if code in seen:
            raise ValueError(f"duplicate commune code {code}")
        seen.add(code)
        postal_codes = sorted(set(commune.get("codesPostaux") or []))
        rows.append(
            [
                code,
                commune["nom"],
                " ".join(postal_codes),
                commune["departement"],
                commune["region"],
            ]
        )
    rows.sort(key=lambda row: row[0])
    return rows


def build_regions(source: PackageSource) -> list[list[str]]:
    """Return the regions as CSV rows sorted by code."""
    rows = [[region["code"], region["nom"]] for region in source.load("data/regions.json")]
    rows.sort(key=lambda row: row[0])
    return rows


def build_departments(source: PackageSource) -> list[list[str]]:
    """Return the departments as CSV rows sorted by code."""
    rows = [
        [department["code"], department["nom"], department["region"]]
        for department in source.load("data/departements.json")
    ]
    rows.sort(key=lambda row: _sort_key(row[0]))
    return rows


def write_gzip_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write a reproducible gzip CSV (mtime=0, no embedded file name)."""
    payload = _csv_text(header, rows).encode("utf-8")
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as archive:
            archive.write(payload)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """Write a plain UTF-8 CSV file."""
    path.write_bytes(_csv_text(header, rows).encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, build the three files and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", type=Path, help="unpacked package directory or .tgz from npm pack")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output directory (default: cgos/data)")
    args = parser.parse_args(argv)

    source = PackageSource(args.package)
    args.out.mkdir(parents=True, exist_ok=True)

    communes = build_communes(source)
    regions = build_regions(source)
    departments = build_departments(source)

    write_gzip_csv(args.out / "communes.csv.gz", ["insee", "name", "postal_codes", "department", "region"], communes)
    write_csv(args.out / "regions.csv", ["code", "name"], regions)
    write_csv(args.out / "departments.csv", ["code", "name", "region"], departments)

    print(f"communes: {len(communes)}, regions: {len(regions)}, departments: {len(departments)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
