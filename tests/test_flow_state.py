"""Server-side flow state: a handle in the cookie, the state in the database, single-use take."""

from datetime import timedelta

from cgos import flow_state
from cgos.extensions import db
from cgos.models import FlowState, utcnow


def test_state_is_kept_on_the_server_and_the_cookie_holds_only_a_handle(app):
    """What the session holds is a random handle, not the data."""
    with app.test_request_context():
        from flask import session

        flow_state.save("wizard", {"agent": 42}, timedelta(minutes=5))
        assert "42" not in str(dict(session))
        assert flow_state.load("wizard") == {"agent": 42}


def test_take_gives_the_state_once(app):
    """A state taken is gone: a second take, or a load, finds nothing."""
    with app.test_request_context():
        from flask import session

        flow_state.save("keypad", {"order": "0123456789__"}, timedelta(minutes=5))
        handle = session["state:keypad"]
        assert flow_state.take("keypad") == {"order": "0123456789__"}
        session["state:keypad"] = handle  # a replayed cookie
        assert flow_state.take("keypad") is None
        assert flow_state.load("keypad") is None


def test_expired_state_is_not_found_and_is_purged(app):
    """Past its lifetime a state is neither loaded nor taken, and the purge deletes it."""
    with app.test_request_context():
        flow_state.save("wizard", {"agent": 1}, timedelta(minutes=5))
        db.session.execute(db.update(FlowState).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert flow_state.load("wizard") is None
        assert flow_state.purge_expired(utcnow()) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(FlowState)) == 0


def test_a_new_state_replaces_the_previous_one_of_the_same_purpose(app):
    """Saving again for the same purpose leaves one row, the new one."""
    with app.test_request_context():
        flow_state.save("wizard", {"step": 1}, timedelta(minutes=5))
        flow_state.save("wizard", {"step": 2}, timedelta(minutes=5))
        assert flow_state.load("wizard") == {"step": 2}
        assert db.session.scalar(db.select(db.func.count()).select_from(FlowState)) == 1
