"""Flask extensions, created once and bound to the app in the factory."""

from datetime import datetime, timezone

from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mail import Mail
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A UTC instant: stored naive (SQLite has no time zones), read back aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        """Store every instant as naive UTC."""
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given where a UTC instant is expected")
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        """Give back an aware UTC datetime."""
        if value is not None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    """Declarative base shared by every model: every datetime column is a UTC instant."""

    registry = registry(type_annotation_map={datetime: UTCDateTime})


db = SQLAlchemy(model_class=Base)
mail = Mail()
csrf = CSRFProtect()
compress = Compress()
# No default limits: each limit is counted where it means something (sensitive forms,
# failed logins, see credentials/limits.py), never on plain page views.
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def commit_or_roll_back() -> None:
    """Commit the request's transaction; on failure leave nothing half-written behind."""
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


@event.listens_for(Engine, "connect")
def _sqlite_enforces_foreign_keys(dbapi_connection, connection_record) -> None:
    """SQLite ignores foreign keys unless asked: ask, so it behaves like PostgreSQL."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
