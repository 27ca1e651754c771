"""The forwarding table as nftables text, and what a listing of it says.

Everything here is pure. The table is rendered whole from the rules, their current targets
and the management address: a DNAT rule per active forwarding rule, a named counter per rule
(kept while the rule waits for a Pod, so its counts survive a restart of the Pod), and a
masquerade of exactly the connections the table redirected. The masquerade is what makes the
return path work whatever routes the Pods have: they answer the management side's own
address, and conntrack takes the reply back to the client.

The script that installs a table creates it empty, deletes it and adds the new one, in one
``nft -f`` transaction: the kernel either takes all of it or none, and a missing table is no
error. Counters are handed over in the script, so replacing the table keeps their counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from k3s_netconf import desired

FAMILY = "ip"


@dataclass(frozen=True)
class Target:
    """Where a rule's traffic goes now: a Pod's address and the container port."""

    address: str
    port: int


@dataclass(frozen=True)
class Entry:
    """A rule of the configuration and its current target; None keeps it out of the table."""

    forward: desired.Forward
    target: Target | None

    @property
    def counter(self) -> str:
        return counter_name(self.forward.protocol, self.forward.external_port)


@dataclass(frozen=True)
class Counter:
    packets: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Listing:
    """What an installed table holds: counters by name, DNAT targets by rule key."""

    counters: dict[str, Counter]
    targets: dict[tuple[str, int], Target]


def counter_name(protocol: str, external_port: int) -> str:
    return f"{protocol}_{external_port}"


def render(
    name: str,
    address: str,
    entries: Sequence[Entry],
    counters: Mapping[str, Counter] | None = None,
) -> str:
    """The whole table; an empty string when there are no rules, as then it should not exist."""
    if not entries:
        return ""

    counts = counters or {}
    lines = [f"table {FAMILY} {name} {{"]
    for entry in entries:
        count = counts.get(entry.counter, Counter())
        lines += [
            f"\tcounter {entry.counter} {{",
            f"\t\tpackets {count.packets} bytes {count.bytes}",
            "\t}",
        ]

    lines += _chain(
        "prerouting", "nat", "prerouting", "dstnat", [_dnat(address, e) for e in entries]
    )
    active = [e for e in entries if e.target is not None]
    lines += _chain(
        "forward",
        "filter",
        "forward",
        "filter",
        [f"{_redirected(address, e)} counter name {json.dumps(e.counter)}" for e in active],
    )
    lines += _chain(
        "postrouting",
        "nat",
        "postrouting",
        "srcnat",
        [f"{_redirected(address, e)} masquerade" for e in active],
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


def replacement(name: str, table: str) -> str:
    """The nft script that puts ``table`` in place of whatever table of that name exists."""
    return f"table {FAMILY} {name} {{}}\ndelete table {FAMILY} {name}\n{table}"


def listing(text: str) -> Listing:
    """Counters and DNAT targets from the JSON of ``nft -j list table``."""
    counters: dict[str, Counter] = {}
    targets: dict[tuple[str, int], Target] = {}
    for item in json.loads(text).get("nftables", []):
        if "counter" in item:
            counter = item["counter"]
            counters[counter["name"]] = Counter(counter["packets"], counter["bytes"])
        elif "rule" in item and item["rule"].get("chain") == "prerouting":
            found = _rule_target(item["rule"].get("expr", []))
            if found is not None:
                targets[found[0]] = found[1]
    return Listing(counters, targets)


def _chain(name: str, kind: str, hook: str, priority: str, rules: list[str]) -> list[str]:
    return [
        f"\tchain {name} {{",
        f"\t\ttype {kind} hook {hook} priority {priority}; policy accept;",
        *(f"\t\t{rule}" for rule in rules),
        "\t}",
    ]


def _dnat(address: str, entry: Entry) -> str:
    forward = entry.forward
    about = f"{forward.app}/{forward.port}"
    if entry.target is None:
        # Kept in the text so that a reader of the rendered table sees the waiting rule.
        return f"# {forward.protocol} {forward.external_port} to {about}: no Pod to forward to"
    return (
        f"ip daddr {address} {forward.protocol} dport {forward.external_port} "
        f"dnat to {entry.target.address}:{entry.target.port} comment {json.dumps(about)}"
    )


def _redirected(address: str, entry: Entry) -> str:
    # The connections this rule redirected, in both directions, told apart by their original
    # destination; another table's DNAT of other ports is left alone.
    forward = entry.forward
    return (
        f"ct status dnat ct original ip daddr {address} ct protocol {forward.protocol} "
        f"ct original proto-dst {forward.external_port}"
    )


def _rule_target(expressions: list[dict[str, Any]]) -> tuple[tuple[str, int], Target] | None:
    key: tuple[str, int] | None = None
    target: Target | None = None
    for expression in expressions:
        match = expression.get("match", {})
        payload = match.get("left", {}).get("payload", {}) if match else {}
        if payload.get("field") == "dport" and payload.get("protocol") in ("tcp", "udp"):
            key = (payload["protocol"], int(match["right"]))
        if "dnat" in expression:
            dnat = expression["dnat"]
            target = Target(str(dnat["addr"]), int(dnat["port"]))
    if key is None or target is None:
        return None
    return key, target
