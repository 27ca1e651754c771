"""Host-path confinement, on real folders and symlinks made in a temporary folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from k3s_netconf import errors
from k3s_netconf.desired import App, Volume
from k3s_netconf.kube.hostpaths import check_host_paths


def app_mounting(host_path: str) -> App:
    return App(name="x", image="x:1", volumes=(Volume("v", host_path, "/data"),))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    allowed = tmp_path / "cfg"
    (allowed / "app").mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    return allowed


def test_a_folder_under_an_allowed_root_is_accepted(root: Path):
    check_host_paths(app_mounting(f"{root}/app"), [root])


def test_a_folder_that_does_not_exist_yet_under_a_root_is_accepted(root: Path):
    check_host_paths(app_mounting(f"{root}/new/deeper"), [root])


def test_the_root_itself_is_accepted(root: Path):
    check_host_paths(app_mounting(f"{root}/"), [root])


def test_host_path_outside_the_allowed_roots_is_refused(root: Path):
    with pytest.raises(errors.InvalidValue) as caught:
        check_host_paths(app_mounting("/etc"), [root])

    assert caught.value.path == "/ka:apps/ka:app[ka:name='x']/ka:volume[ka:name='v']/ka:host-path"
    assert "outside the allowed roots" in caught.value.message


def test_a_sibling_whose_name_starts_like_the_root_is_refused(root: Path):
    with pytest.raises(errors.InvalidValue):
        check_host_paths(app_mounting(f"{root}-other/app"), [root])


def test_a_backstep_is_refused_even_when_it_stays_inside(root: Path):
    with pytest.raises(errors.InvalidValue) as caught:
        check_host_paths(app_mounting(f"{root}/app/../app"), [root])

    assert "'..'" in caught.value.message


def test_a_relative_host_path_is_refused(root: Path):
    with pytest.raises(errors.InvalidValue):
        check_host_paths(app_mounting("cfg/app"), [root])


def test_symlink_escaping_an_allowed_root_is_refused(root: Path):
    (root / "escape").symlink_to(root.parent / "etc")

    with pytest.raises(errors.InvalidValue) as caught:
        check_host_paths(app_mounting(f"{root}/escape/sub"), [root])

    assert "resolves to" in caught.value.message


def test_symlink_from_outside_into_a_root_is_refused(root: Path):
    # The link could be re-pointed later by whoever controls the folder outside the roots.
    link = root.parent / "link"
    link.symlink_to(root / "app")

    with pytest.raises(errors.InvalidValue):
        check_host_paths(app_mounting(str(link)), [root])


def test_symlink_that_stays_inside_the_root_is_accepted(root: Path):
    (root / "current").symlink_to(root / "app")

    check_host_paths(app_mounting(f"{root}/current"), [root])


def test_a_root_that_is_itself_a_symlink_accepts_paths_written_either_way(tmp_path: Path):
    flash = tmp_path / "flash" / "cfg"
    (flash / "app").mkdir(parents=True)
    alias = tmp_path / "cfg"
    alias.symlink_to(flash)

    check_host_paths(app_mounting(f"{alias}/app"), [alias])
    check_host_paths(app_mounting(f"{flash}/app"), [alias])


def test_the_first_offending_volume_is_named(root: Path):
    app = App(
        name="x",
        image="x:1",
        volumes=(Volume("good", f"{root}/app", "/a"), Volume("bad", "/etc", "/b")),
    )

    with pytest.raises(errors.InvalidValue) as caught:
        check_host_paths(app, [root])

    assert caught.value.path.endswith("ka:volume[ka:name='bad']/ka:host-path")


def test_no_allowed_roots_refuses_every_host_path(root: Path):
    with pytest.raises(errors.InvalidValue) as caught:
        check_host_paths(app_mounting(f"{root}/app"), [])

    assert "none configured" in caught.value.message
