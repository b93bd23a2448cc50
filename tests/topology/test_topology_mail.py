"""Check 6: a mail worker on each app host, one queue in PostgreSQL, each mail sent once."""

import collections
import time
import uuid

import pytest
from cluster import APP_ADDRESSES, wait_until

pytestmark = pytest.mark.topology

BURST = 200
CLAIM_TIMEOUT_MINUTES = 5  # cgos/mail/queue.py: a mail claimed by a sender that died is tried again after this


def queued(portal, tag: str) -> dict:
    """The burst's rows: not claimed yet, claimed and not sent (a sender has them in hand), sent."""
    rows = portal.sql(
        "SELECT count(*) FILTER (WHERE sent_at IS NULL AND last_attempt_at IS NULL),"
        " count(*) FILTER (WHERE sent_at IS NULL AND last_attempt_at IS NOT NULL),"
        " count(*) FILTER (WHERE sent_at IS NOT NULL) FROM outbound_mail WHERE subject LIKE %s",
        f"Rafale {tag} %",
    )[0]
    return dict(zip(("waiting", "in_hand", "sent"), rows, strict=True))


def test_a_burst_of_mails_is_sent_once_by_the_two_workers_and_the_survivor_sends_a_dead_ones_share(portal, figures):
    tag = uuid.uuid4().hex[:8]
    wait_until(
        lambda: portal.sql("SELECT count(*) FROM outbound_mail WHERE sent_at IS NULL")[0][0] == 0, 20, "queue empty"
    )
    portal.sink.delay = 0.01  # 10 ms a mail: the burst takes a few seconds, both workers take part
    # app1's 11th mail waits, unanswered: app1's worker dies with it (and the rest of its batch) in hand.
    portal.sink.hold_from(APP_ADDRESSES[1], after=10)
    try:
        portal.sql(
            "INSERT INTO outbound_mail (recipient, subject, text_body, created_at, attempts)"
            " SELECT 'rafale-' || i || '@example.org', 'Rafale ' || %s || ' ' || i, 'Message ' || i,"
            " now() AT TIME ZONE 'utc', 0 FROM generate_series(1, %s) AS i",
            tag,
            BURST,
        )
        assert portal.sink.holding.wait(15), "app1's mail worker sent nothing"
        portal.hosts[1].kill_mail_worker()
        portal.sink.release()  # the held mail is refused: it was never accepted
        # app2 sends every mail nobody holds; those app1 had claimed wait for the claim timeout.
        stuck = wait_until(lambda: settled(portal, tag), 30, "app2 sent the mails nobody holds", interval=0.1)
        sent_before_timeout = len(burst_mails(portal, tag))
        portal.sql(
            "UPDATE outbound_mail SET last_attempt_at = last_attempt_at - make_interval(mins => %s)"
            " WHERE subject LIKE %s AND sent_at IS NULL",
            CLAIM_TIMEOUT_MINUTES + 1,
            f"Rafale {tag} %",
        )  # the claim timeout passes
        wait_until(lambda: queued(portal, tag)["sent"] == BURST, 30, "every mail sent", interval=0.2)
        time.sleep(1.5)  # room for a second copy, should one be sent
    finally:
        portal.sink.delay = 0.0
        portal.sink.release()
        portal.hosts[1].start_mail_worker()
    mails = burst_mails(portal, tag)
    copies = collections.Counter(mail["to"] for mail in mails)
    by_host = collections.Counter(mail["peer"] for mail in mails)
    figures(
        burst=BURST,
        received=len(mails),
        sent_twice=sum(count > 1 for count in copies.values()),
        sent_by=dict(by_host),
        in_hand_of_the_killed_worker=stuck["in_hand"],
        sent_before_the_claim_timeout=sent_before_timeout,
    )
    assert sorted(copies) == sorted(f"rafale-{i}@example.org" for i in range(1, BURST + 1))
    assert set(copies.values()) == {1}
    assert stuck["in_hand"] > 0 and sent_before_timeout == BURST - stuck["in_hand"]
    assert set(by_host) <= set(APP_ADDRESSES.values())


def settled(portal, tag: str) -> dict | None:
    """The burst's rows once none is waiting and none was sent for 1.5 s; None before."""
    before = queued(portal, tag)
    if before["waiting"]:
        return None
    time.sleep(1.5)
    after = queued(portal, tag)
    return after if after == before else None


def burst_mails(portal, tag: str) -> list[dict]:
    """The messages of the burst the sink accepted."""
    with portal.sink.lock:
        return [mail for mail in portal.sink.messages if mail["subject"].startswith(f"Rafale {tag} ")]
