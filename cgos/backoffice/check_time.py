"""How long a delegation usually takes to check a registration, in working days, as told to registrants."""

import math
import statistics
from datetime import datetime, timedelta

from sqlalchemy import select

from ..dates import local_day
from ..extensions import db
from ..models import Delegation, Registration, utcnow
from . import workload

# The delay is told only when it rests on enough recent checks.
CHECK_TIME_PERIOD = timedelta(days=90)
CHECK_TIME_MINIMUM = 10


def median_working_days(
    pairs: list[tuple[datetime, datetime]], region_code: str | None = None, minimum: int = CHECK_TIME_MINIMUM
) -> int | None:
    """The median of (received, checked) in working days, rounded up and at least 1; None under `minimum` pairs."""
    if len(pairs) < minimum:
        return None
    years = [local_day(moment).year for pair in pairs for moment in pair]
    holidays_off = workload.days_off(region_code, min(years), max(years))
    days = [
        workload.working_days_between(local_day(received), local_day(checked), holidays_off)
        for received, checked in pairs
    ]
    return max(1, math.ceil(statistics.median(days)))


def usual_check_days(delegation_id: int | None, now: datetime | None = None) -> int | None:
    """The delegation's median check time over the last 90 days, or None when it checked fewer than ten."""
    if delegation_id is None:
        return None
    now = now or utcnow()
    pairs = db.session.execute(
        select(Registration.confirmed_at, Registration.decided_at).where(
            Registration.delegation_id == delegation_id,
            Registration.decided_at >= now - CHECK_TIME_PERIOD,
            Registration.confirmed_at.is_not(None),
        )
    ).all()
    delegation = db.session.get(Delegation, delegation_id)
    return median_working_days([(received, checked) for received, checked in pairs], delegation.region_code)
