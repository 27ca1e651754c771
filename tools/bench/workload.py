"""The operations both servers are given: the same XML, built once per size."""

from __future__ import annotations

NS = "urn:k3s-netconf:yang:apps"
IMAGE = "localhost/bench/busybox:1"
ARCHIVE = "busybox.tar"
XC = 'xmlns:xc="urn:ietf:params:xml:ns:netconf:base:1.0"'


def app(name: str, port: int) -> str:
    # Shaped like a real app (args, two env entries, a port, limits), but never started:
    # enabled false keeps its Deployment at zero replicas, so no Pod is scheduled. Each app
    # has a port number of its own: yuma123 checks the port list's `unique` across all apps.
    return (
        f"<app><name>{name}</name><image>{IMAGE}</image><enabled>false</enabled>"
        "<command>sh</command><args>-c</args><args>exec httpd -f -p 8080</args>"
        "<env><name>GREETING</name><value>hello</value></env>"
        "<env><name>MODE</name><value>bench</value></env>"
        f"<port><name>http</name><container-port>{port}</container-port></port>"
        "<resources><cpu-limit>250</cpu-limit><memory-limit>67108864</memory-limit></resources>"
        "</app>"
    )


def names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(count)]


def _edit(config: str, target: str = "running") -> str:
    return f"<edit-config><target><{target}/></target><config {XC}>{config}</config></edit-config>"


def add_image() -> str:
    return _edit(
        f'<images xmlns="{NS}"><image><name>{IMAGE}</name><archive>{ARCHIVE}</archive>'
        "</image></images>"
    )


def create_apps(app_names: list[str], target: str = "running", first_port: int = 1024) -> str:
    body = "".join(
        app(name, first_port + index).replace("<app>", '<app xc:operation="create">', 1)
        for index, name in enumerate(app_names)
    )
    return _edit(f'<apps xmlns="{NS}">{body}</apps>', target)


def change_app(name: str, mode: str, target: str = "running") -> str:
    # One env value of one app changed: the edit touches one entry of a large list.
    body = f"<app><name>{name}</name><env><name>MODE</name><value>{mode}</value></env></app>"
    return _edit(f'<apps xmlns="{NS}">{body}</apps>', target)


def delete_apps(app_names: list[str], target: str = "running") -> str:
    body = "".join(f'<app xc:operation="delete"><name>{name}</name></app>' for name in app_names)
    return _edit(f'<apps xmlns="{NS}">{body}</apps>', target)


def commit() -> str:
    return "<commit/>"


def get_config() -> str:
    return "<get-config><source><running/></source></get-config>"


def get_apps() -> str:
    # Filtered to the apps: netconfd's unfiltered get also lists its own monitoring state.
    return f'<get><filter type="subtree"><apps xmlns="{NS}"/></filter></get>'
