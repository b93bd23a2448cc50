"""Where the tests' databases and rate-limit counters live: SQLite and memory by default,
a real PostgreSQL and Redis when CGOS_TEST_DATABASE_URL and CGOS_TEST_REDIS_URL are set
(`.ci/run` runs the whole suite both ways)."""

import itertools
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# The configuration every test app starts from.
BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "PASSWORD_PEPPER": "test-pepper",
    "BCRYPT_COST": 4,
    "SESSION_COOKIE_SECURE": False,
    "RATELIMIT_STORAGE_URI": "memory://",
    "MAIL_SERVER": None,
    "SERVER_NAME": "localhost",
}

DATABASE_URL = os.environ.get("CGOS_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("CGOS_TEST_REDIS_URL")


class SQLiteBackend:
    """A prepared SQLite file, copied for every app."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.prepared = folder / "prepared.sqlite3"
        self.counter = itertools.count()

    def prepared_url(self) -> str:
        """Where `setup --demo` writes once."""
        return f"sqlite:///{self.prepared}"

    def fresh_url(self, folder: Path) -> str:
        """A copy of the prepared database for one app."""
        path = folder / f"cgos-{next(self.counter)}.sqlite3"
        shutil.copy(self.prepared, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        """Files go with the test's temporary folder."""

    def close(self) -> None:
        """Nothing to clean up."""


class PostgresBackend:
    """A prepared PostgreSQL database, used as the template of one database per app."""

    def __init__(self, url: str):
        self.url = make_url(url)
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.prefix = f"cgos_test_{os.getpid()}"
        self.template = f"{self.prefix}_prepared"
        self.counter = itertools.count()
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{self.template}"')

    def _execute(self, statement: str) -> None:
        """Run one administrative statement."""
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def prepared_url(self) -> str:
        """The template database, where `setup --demo` writes once."""
        return self.url.set(database=self.template).render_as_string(hide_password=False)

    def fresh_url(self, folder: Path) -> str:
        """A new database copied from the template."""
        name = f"{self.prefix}_{next(self.counter)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Remove one app's database."""
        self._execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        """Remove the template too."""
        self._execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.admin.dispose()


def database_backend(folder: Path):
    """The backend the environment asks for."""
    return PostgresBackend(DATABASE_URL) if DATABASE_URL else SQLiteBackend(folder)


def worker_redis_url() -> str:
    """This test process's own Redis database: pytest-xdist workers (gw0, gw1…) must not
    empty each other's counters."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    return urlsplit(REDIS_URL)._replace(path=f"/{index}").geturl()


def ratelimit_storage() -> str:
    """Flask-Limiter's storage for a new app, emptied (each test starts with no attempt counted)."""
    if not REDIS_URL:
        return "memory://"
    import redis

    url = worker_redis_url()
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url
