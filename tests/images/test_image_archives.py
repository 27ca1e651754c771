"""Archive paths confined to the images folder, and the names an archive carries."""

from __future__ import annotations

from pathlib import Path

import pytest
from oci_archives import MkImage, as_docker_archive, manifest_digest, with_index_entries

from k3s_netconf import errors
from k3s_netconf.images import resolve_archive
from k3s_netconf.images.archive import archive_names, normalize_reference

pytestmark = pytest.mark.images

REF = "docker.io/library/busybox:1.36"
ERROR_PATH = "/images/image[name='docker.io/library/busybox:1.36']/archive"


def test_relative_archive_paths_resolve_inside_the_images_folder(images_dir: Path) -> None:
    (images_dir / "apps").mkdir()

    assert resolve_archive("a.tar", images_dir) == images_dir.resolve() / "a.tar"
    assert resolve_archive("apps/b.tar", images_dir) == images_dir.resolve() / "apps" / "b.tar"
    assert resolve_archive("apps/../c.tar", images_dir) == images_dir.resolve() / "c.tar"


def test_absolute_archive_paths_inside_the_images_folder_are_accepted(images_dir: Path) -> None:
    inside = images_dir / "a.tar"

    assert resolve_archive(str(inside), images_dir) == inside.resolve()


def test_symlinks_that_stay_inside_the_images_folder_are_followed(images_dir: Path) -> None:
    (images_dir / "v2.tar").write_bytes(b"archive")
    (images_dir / "current.tar").symlink_to("v2.tar")

    assert resolve_archive("current.tar", images_dir) == images_dir.resolve() / "v2.tar"


@pytest.mark.parametrize(
    "path",
    ["../outside.tar", "apps/../../outside.tar", "/etc/passwd", "..", "/"],
)
def test_archive_paths_outside_the_images_folder_are_refused(images_dir: Path, path: str) -> None:
    with pytest.raises(errors.InvalidValue, match="outside the images folder") as raised:
        resolve_archive(path, images_dir, error_path=ERROR_PATH)

    assert raised.value.path == ERROR_PATH


def test_archive_paths_next_to_the_images_folder_are_refused(images_dir: Path) -> None:
    # "/x/images-old" starts with the text "/x/images" but is not inside "/x/images".
    sibling = images_dir.parent / (images_dir.name + "-old") / "a.tar"

    with pytest.raises(errors.InvalidValue, match="outside the images folder"):
        resolve_archive(str(sibling), images_dir)


def test_symlinks_out_of_the_images_folder_are_refused(images_dir: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.tar"
    secret.write_bytes(b"not for clients")
    (images_dir / "escape.tar").symlink_to(secret)
    (images_dir / "linked-dir").symlink_to(tmp_path)

    for path in ("escape.tar", str(images_dir / "escape.tar"), "linked-dir/secret.tar"):
        with pytest.raises(errors.InvalidValue, match="outside the images folder"):
            resolve_archive(path, images_dir)


def test_an_images_folder_reached_through_a_symlink_still_confines(tmp_path: Path) -> None:
    real = tmp_path / "real-images"
    real.mkdir()
    link = tmp_path / "images"
    link.symlink_to(real)

    assert resolve_archive(str(link / "a.tar"), link) == real / "a.tar"
    with pytest.raises(errors.InvalidValue):
        resolve_archive(str(tmp_path / "a.tar"), link)


@pytest.mark.parametrize("path", ["", "a\0b.tar"])
def test_empty_or_malformed_archive_paths_are_refused(images_dir: Path, path: str) -> None:
    with pytest.raises(errors.InvalidValue, match="empty or not a path"):
        resolve_archive(path, images_dir)


def test_the_names_of_an_oci_archive_are_its_containerd_annotations(mkimage: MkImage) -> None:
    archive = mkimage(REF)

    with archive.open("rb") as file:
        names = archive_names(file)

    assert names is not None
    assert list(names) == [REF]


def test_a_bare_oci_tag_gives_no_name_but_a_full_oci_ref_name_does(
    mkimage: MkImage, tmp_path: Path
) -> None:
    source = mkimage(REF)
    archive = with_index_entries(
        source,
        tmp_path / "oci-names.tar",
        [{"org.opencontainers.image.ref.name": "1.36"}, {"org.opencontainers.image.ref.name": REF}],
    )

    with archive.open("rb") as file:
        names = archive_names(file)

    assert names == {REF: manifest_digest(source)}


def test_the_names_of_a_docker_archive_are_its_normalised_repo_tags(
    mkimage: MkImage, tmp_path: Path
) -> None:
    archive = as_docker_archive(
        mkimage(REF), tmp_path / "docker.tar", ["busybox:1.36", "registry.local:5000/app"]
    )

    with archive.open("rb") as file:
        names = archive_names(file)

    assert names == {REF: None, "registry.local:5000/app:latest": None}


def test_a_file_that_is_no_archive_has_no_known_names(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"junk" * 1000)

    with junk.open("rb") as file:
        assert archive_names(file) is None


@pytest.mark.parametrize(
    ("short", "full"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("docker.io/busybox:1.36", "docker.io/library/busybox:1.36"),
        ("acme/app:2", "docker.io/acme/app:2"),
        ("localhost/app:2", "localhost/app:2"),
        ("registry.local:5000/team/app:2", "registry.local:5000/team/app:2"),
        ("ghcr.io/acme/app", "ghcr.io/acme/app:latest"),
    ],
)
def test_short_docker_references_are_normalised_like_containerd_does(short: str, full: str) -> None:
    assert normalize_reference(short) == full
