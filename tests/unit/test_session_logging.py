"""Lines logged while a session's rpc is carried out name that session, in text and JSON."""

from __future__ import annotations

import io
import json
import logging

from k3s_netconf import logs


def capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(logs.SessionFilter())
    logger = logging.getLogger(f"test-session-logging-{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_a_change_logged_for_a_session_carries_its_id_in_json():
    logger, stream = capture(logs.JsonFormatter())

    with logs.acting_for(7):
        logger.info("Applied the Deployment %r with %d replica(s).", "web", 1)
    logger.info("Replaced the forwarding table %r.", "k3s_netconf")

    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["session_id"] == 7
    assert inside["message"] == "Applied the Deployment 'web' with 1 replica(s)."
    assert "session_id" not in outside


def test_a_change_logged_for_a_session_names_it_in_text():
    logger, stream = capture(logs.TextFormatter())

    with logs.acting_for(3):
        logger.info("Imported image %r.", "busybox")

    assert "[session 3] Imported image 'busybox'." in stream.getvalue()


def test_an_adapters_own_session_wins_over_the_one_being_served():
    logger, stream = capture(logs.JsonFormatter())

    with logs.acting_for(3):
        logs.session_log(logger, 9, "admin").warning("Killed by session 3.")

    assert json.loads(stream.getvalue())["session_id"] == 9
