"""The forwarding table is rendered whole from rules and Pod addresses, and read back."""

import json

from k3s_netconf.desired import Forward
from k3s_netconf.network.tables import (
    Counter,
    Entry,
    Listing,
    Target,
    listing,
    render,
    replacement,
)
from k3s_netconf.network.targets import entries
from k3s_netconf.observed import AppState, PodState

WEB = Forward("tcp", 8080, "web", "http", 80)
DNS = Forward("udp", 5353, "dns", "query", 53)


def pod(name: str, app: str, ip: str | None, **kwargs) -> PodState:
    values = {"phase": "Running", "ready": True, **kwargs}
    return PodState(name=name, app=app, pod_ip=ip, **values)


def test_two_rules_render_as_one_table_with_dnat_counters_and_masquerade():
    table = render(
        "k3s_netconf",
        "192.0.2.10",
        [Entry(WEB, Target("10.42.0.15", 80)), Entry(DNS, Target("10.42.0.16", 53))],
    )

    assert table == (
        "table ip k3s_netconf {\n"
        "\tcounter tcp_8080 {\n"
        "\t\tpackets 0 bytes 0\n"
        "\t}\n"
        "\tcounter udp_5353 {\n"
        "\t\tpackets 0 bytes 0\n"
        "\t}\n"
        "\tchain prerouting {\n"
        "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
        '\t\tip daddr 192.0.2.10 tcp dport 8080 dnat to 10.42.0.15:80 comment "web/http"\n'
        '\t\tip daddr 192.0.2.10 udp dport 5353 dnat to 10.42.0.16:53 comment "dns/query"\n'
        "\t}\n"
        "\tchain forward {\n"
        "\t\ttype filter hook forward priority filter; policy accept;\n"
        "\t\tct status dnat ct original ip daddr 192.0.2.10 ct protocol tcp"
        ' ct original proto-dst 8080 counter name "tcp_8080"\n'
        "\t\tct status dnat ct original ip daddr 192.0.2.10 ct protocol udp"
        ' ct original proto-dst 5353 counter name "udp_5353"\n'
        "\t}\n"
        "\tchain postrouting {\n"
        "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
        "\t\tct status dnat ct original ip daddr 192.0.2.10 ct protocol tcp"
        " ct original proto-dst 8080 masquerade\n"
        "\t\tct status dnat ct original ip daddr 192.0.2.10 ct protocol udp"
        " ct original proto-dst 5353 masquerade\n"
        "\t}\n"
        "}\n"
    )


def test_a_rule_without_a_target_keeps_its_counter_but_installs_no_rule():
    table = render("t", "192.0.2.10", [Entry(WEB, None)])

    assert "counter tcp_8080 {" in table
    assert "dnat to" not in table
    assert "masquerade" not in table
    assert "# tcp 8080 to web/http: no Pod to forward to" in table


def test_counts_are_handed_to_the_new_table():
    table = render("t", "192.0.2.10", [Entry(WEB, None)], {"tcp_8080": Counter(7, 420)})
    assert "packets 7 bytes 420" in table


def test_no_rules_render_no_table_and_the_script_then_only_deletes():
    assert render("t", "192.0.2.10", []) == ""
    assert replacement("t", "") == "table ip t {}\ndelete table ip t\n"


def test_the_script_replaces_the_table_in_one_transaction_even_when_it_is_absent():
    table = render("t", "192.0.2.10", [Entry(WEB, None)])
    script = replacement("t", table)
    # Creating the table first makes the delete succeed when there was none.
    assert script.startswith("table ip t {}\ndelete table ip t\ntable ip t {\n")


def test_a_listing_gives_counters_by_name_and_targets_by_rule_key():
    text = json.dumps(
        {
            "nftables": [
                {"metainfo": {"version": "1.0.6"}},
                {"table": {"family": "ip", "name": "t", "handle": 2}},
                {
                    "counter": {
                        "family": "ip",
                        "name": "tcp_8080",
                        "table": "t",
                        "packets": 5,
                        "bytes": 300,
                    }
                },
                {
                    "counter": {
                        "family": "ip",
                        "name": "udp_5353",
                        "table": "t",
                        "packets": 0,
                        "bytes": 0,
                    }
                },
                {
                    "rule": {
                        "family": "ip",
                        "table": "t",
                        "chain": "prerouting",
                        "expr": [
                            {
                                "match": {
                                    "op": "==",
                                    "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                                    "right": "192.0.2.10",
                                }
                            },
                            {
                                "match": {
                                    "op": "==",
                                    "left": {"payload": {"protocol": "tcp", "field": "dport"}},
                                    "right": 8080,
                                }
                            },
                            {"dnat": {"addr": "10.42.0.15", "port": 80}},
                        ],
                    }
                },
                {
                    "rule": {
                        "family": "ip",
                        "table": "t",
                        "chain": "postrouting",
                        "expr": [
                            {"masquerade": None},
                        ],
                    }
                },
            ]
        }
    )

    assert listing(text) == Listing(
        counters={"tcp_8080": Counter(5, 300), "udp_5353": Counter(0, 0)},
        targets={("tcp", 8080): Target("10.42.0.15", 80)},
    )


def test_a_rule_forwards_to_the_first_ready_running_pod_by_name():
    apps = {
        "web": AppState(
            "web",
            pods=(
                pod("web-b", "web", "10.42.0.9"),
                pod("web-a", "web", "10.42.0.7"),
            ),
        )
    }
    assert entries([WEB], apps) == (Entry(WEB, Target("10.42.0.7", 80)),)


def test_pods_that_cannot_serve_leave_the_rule_without_a_target():
    unfit = (
        pod("a", "web", "10.42.0.2", ready=False),
        pod("b", "web", "10.42.0.3", phase="Pending"),
        pod("c", "web", "10.42.0.4", deleting=True),
        pod("d", "web", None),
        pod("e", "web", "fd00::5"),
    )
    assert entries([WEB], {"web": AppState("web", pods=unfit)}) == (Entry(WEB, None),)
    assert entries([WEB], {}) == (Entry(WEB, None),)
