"""URL converters shared by the blueprints."""

from werkzeug.routing import IntegerConverter

# The largest value of the database's INTEGER primary keys (32 bits on PostgreSQL).
LARGEST_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id the database can hold; any larger number is a 404, never a 500."""

    def __init__(self, map, *args, **kwargs) -> None:
        super().__init__(map, min=1, max=LARGEST_ID)
