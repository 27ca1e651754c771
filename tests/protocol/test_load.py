"""Many sessions at once: 50 clients, each a bounded mix of reads, edits and locks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from protocol import connecting
from protocol.rawclient import NC
from protocol.xmlcheck import is_ok

pytestmark = pytest.mark.protocol

KA = "urn:k3s-netconf:yang:apps"
SESSIONS = 50
ROUNDS = 8
# Every session must be done by then; a deadlock shows as a session that is not.
LOAD_SECONDS = 240
# What the daemon may grow by between two equal loads: a leak grows with every load.
GROWTH_BYTES = 8 * 1024 * 1024


def _rounds(daemon, index: int) -> list[str]:
    """One session's work; the error-tags it got that the mix does not expect."""
    unexpected: list[str] = []
    with connecting.hello(daemon, timeout=60) as client:
        for round_ in range(ROUNDS):
            for body, may_be_refused in _mix(index, round_):
                reply = client.rpc(body, message_id=f"{index}-{round_}")
                tag = reply.findtext(f".//{{{NC}}}error-tag")
                answered = is_ok(reply) or reply.find(f"{{{NC}}}data") is not None
                if not answered and tag not in may_be_refused:
                    unexpected.append(f"session {index}: {tag}")
            # Whatever lock this session got is released before its next round.
            client.rpc("<unlock><target><running/></target></unlock>")
    return unexpected


def _mix(index: int, round_: int) -> list[tuple[str, set[str]]]:
    app = (
        f'<apps xmlns="{KA}"><app><name>load-{index}</name><image>docker.io/library/busybox:1.36</image>'
        f"<replicas>{round_ % 3}</replicas></app></apps>"
    )
    return [
        (f'<get><filter><apps xmlns="{KA}"/></filter></get>', set()),
        ("<get-config><source><candidate/></source></get-config>", set()),
        (f"<edit-config><target><candidate/></target><config>{app}</config></edit-config>", set()),
        # Fifty sessions want one lock: all but one are refused, as RFC 6241 7.5 says.
        ("<lock><target><running/></target></lock>", {"lock-denied"}),
    ]


def _load(daemon) -> list[str]:
    with ThreadPoolExecutor(max_workers=SESSIONS) as pool:
        futures = [pool.submit(_rounds, daemon, i) for i in range(SESSIONS)]
        return [tag for f in futures for tag in f.result(timeout=LOAD_SECONDS)]


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc")


def test_fifty_sessions_at_once_get_only_the_answers_the_protocol_allows(start_daemon):
    daemon = start_daemon()

    assert _load(daemon) == []

    # The daemon still serves, and every edit of every session reached the candidate.
    with connecting.ncclient(daemon) as session:
        names = session.get_config("candidate").data.xpath(
            "//ka:app/ka:name/text()", namespaces={"ka": KA}
        )
    assert sorted(names) == sorted(f"load-{i}" for i in range(SESSIONS))


def test_memory_stays_flat_when_the_same_load_comes_again(start_daemon):
    daemon = start_daemon()
    _load(daemon)
    after_first = _rss(daemon.process.pid)

    _load(daemon)
    after_second = _rss(daemon.process.pid)

    assert after_second - after_first < GROWTH_BYTES, (after_first, after_second)
