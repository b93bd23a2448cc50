"""The tests' one clock (the `clock` fixture): every way the code reads the time sees it."""

import time
from datetime import date, datetime, timedelta, timezone

from cgos import dates, models

# 23:30 UTC on 31 December: already 1 January in Paris.
NEW_YEARS_EVE = datetime(2028, 12, 31, 23, 30, tzinfo=timezone.utc)


def test_the_clock_stops_every_module_that_reads_the_time(clock):
    """models.utcnow, dates.paris_today (its own datetime.now) and time.time (the session cookie's
    signature, the rate-limit memory storage) all read the one frozen clock, and move with it."""
    clock.move_to(NEW_YEARS_EVE)
    assert models.utcnow() == NEW_YEARS_EVE
    assert dates.paris_today() == date(2029, 1, 1)
    assert time.time() == NEW_YEARS_EVE.timestamp()
    clock.shift(timedelta(hours=48))
    assert models.utcnow() == NEW_YEARS_EVE + timedelta(hours=48)
    assert dates.paris_today() == date(2029, 1, 3)
    assert time.time() == NEW_YEARS_EVE.timestamp() + 48 * 3600
