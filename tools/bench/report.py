"""Prints the two benchmarks side by side, then what only our daemon reports."""

from __future__ import annotations

import re
from collections import Counter

from measuring import Bench, Figure
from servers import Ours, Theirs


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _row(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"


def print_all(ours: Bench, theirs: Bench, our_server: Ours, their_server: Theirs) -> None:
    _print_times(ours, theirs)
    _print_api(ours, our_server)
    _print_growth(ours, theirs)
    _print_footprint(ours, theirs, our_server, their_server)
    if their_server.removed:
        print("\nnetconfd was given our module without what yuma123 cannot load:")
        for removed in their_server.removed:
            print(f"  {removed}")


def _print_times(ours: Bench, theirs: Bench) -> None:
    header = [
        "figure (ms)",
        "ours p50",
        "ours p99",
        "netconfd p50",
        "netconfd p99",
        "ratio p50",
        "runs",
        "reply KB ours/theirs",
    ]
    rows = []
    for name, mine in ours.figures.items():
        other = theirs.figures.get(name, Figure())
        ratio = mine.p(0.5) / other.p(0.5) if other.seconds else float("nan")
        size = f"{mine.reply_bytes / 1000:.0f}/{other.reply_bytes / 1000:.0f}"
        rows.append(
            [
                name,
                _ms(mine.p(0.5)),
                _ms(mine.p(0.99)),
                _ms(other.p(0.5)),
                _ms(other.p(0.99)),
                f"{ratio:.1f}x",
                f"{len(mine.seconds)}/{len(other.seconds)}",
                size if name.startswith("get") else "",
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(_row(header, widths))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(_row(row, widths))


def _print_api(ours: Bench, our_server: Ours) -> None:
    print("\nk3s-netconfd: Kubernetes API requests made for the rpcs (counted in its client)")
    for name, figure in ours.figures.items():
        if not figure.api_calls or not (name.startswith(("get", "edit", "commit"))):
            continue
        own = sorted(figure.own_seconds())
        api_ms = sum(figure.api_seconds) / len(figure.api_seconds) * 1000
        work = sorted(figure.own_work)
        told = (
            f"; checking, planning, saving p50 {_ms(work[len(work) // 2])} ms" if any(work) else ""
        )
        print(
            f"  {name}: {figure.calls_per_run():.1f} calls per operation, "
            f"{api_ms:.1f} ms waiting on them; outside the API server p50 {_ms(own[len(own) // 2])} ms"
            + told
        )
    background = Counter(
        call.thread.split(" ")[0].rstrip("-")
        for call in our_server.api_calls()
        if call.in_background
    )
    made = ", ".join(f"{count} by {loop}" for loop, count in background.most_common())
    print(f"  not counted above, the daemon's own loops over the whole run: {made or 'none'}")


# Figures measured at several sizes: the cost per app at each size shows how the cost grows.
_SIZED = re.compile(r"^(?P<family>.*?)(?P<count>\d+) apps$")


def _print_growth(ours: Bench, theirs: Bench) -> None:
    print("\ngrowth with the number of apps: p50 per app in microseconds, ours / netconfd")
    families: dict[str, dict[int, str]] = {}
    for name in ours.figures:
        match = _SIZED.match(name)
        if match is None or int(match["count"]) < 10 or "concurrent" in name:
            continue
        count = int(match["count"])
        # A change of one app among N: the cost per app of the list, so the growth shows too.
        mine = ours.figures[name].p(0.5) / count
        other = theirs.figures.get(name, Figure())
        theirs_per_app = f"{other.p(0.5) / count * 1e6:.0f}" if other.seconds else "-"
        families.setdefault(match["family"].strip(" ,"), {})[count] = (
            f"{mine * 1e6:.0f} / {theirs_per_app}"
        )
    for family, sizes in families.items():
        cells = ", ".join(f"{count}: {cell}" for count, cell in sorted(sizes.items()))
        print(f"  {family}: {cells}")


def _print_footprint(ours: Bench, theirs: Bench, our_server: Ours, their_server: Theirs) -> None:
    print("\nresident memory (VmRSS, MB): ours / netconfd")
    for when, kib in ours.memory.items():
        print(f"  {when}: {kib / 1024:.1f} / {theirs.memory.get(when, 0) / 1024:.1f}")
    print(
        f"start to accepting sessions: ours {our_server.start_seconds:.2f} s, "
        f"netconfd {their_server.start_seconds:.2f} s"
    )
    print("(netconfd's figures leave out the sshd and netconf-subsystem processes per session)")
