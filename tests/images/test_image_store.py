"""The image store against a real containerd: import, list, remove and their failures."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from containerd_daemon import Containerd
from oci_archives import (
    MkImage,
    as_docker_archive,
    blob,
    blob_digests,
    manifest_digest,
    with_index_entries,
)

from k3s_netconf import errors
from k3s_netconf.images import ImageStore

pytestmark = pytest.mark.images

REF = "docker.io/library/busybox:1.36"
OTHER = "docker.io/library/other:1.0"
CONTAINERD_NAME = "io.containerd.image.name"
OCI_REF_NAME = "org.opencontainers.image.ref.name"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content_size(archive: Path) -> int:
    """Bytes of manifest, config and layers: what containerd stores for the image."""
    manifest = blob(archive, manifest_digest(archive))
    document = json.loads(manifest)
    return len(manifest) + document["config"]["size"] + sum(x["size"] for x in document["layers"])


def test_import_makes_the_image_present_with_its_digest(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    archive = mkimage(REF, "--busybox")
    started = datetime.now(UTC).replace(microsecond=0)

    info = store.import_archive(REF, archive)

    assert info.ref == REF
    assert info.digest == manifest_digest(archive)
    assert info.size == content_size(archive)
    assert "linux/amd64" in info.platforms
    assert info.imported_at is not None
    assert started <= info.imported_at <= datetime.now(UTC)
    assert containerd.image_refs() == {REF}
    assert store.list() == {REF: info}


def test_import_accepts_an_archive_whose_sha256_matches(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    archive = mkimage(REF)

    store.import_archive(REF, archive, sha256_of(archive))
    store.import_archive(REF, archive, "sha256:" + sha256_of(archive).upper())

    assert containerd.image_refs() == {REF}


def test_import_refuses_an_archive_whose_sha256_differs_and_imports_nothing(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    archive = mkimage(REF)
    wrong = hashlib.sha256(b"another archive").hexdigest()

    with pytest.raises(errors.InvalidValue, match="SHA-256") as raised:
        store.import_archive(REF, archive, wrong, error_path="/images/image[name='x']/sha256")

    assert raised.value.path == "/images/image[name='x']/sha256"
    assert wrong in raised.value.message
    assert containerd.image_refs() == set()
    assert not blob_digests(archive) & containerd.content_digests()


def test_import_refuses_a_sha256_that_is_not_64_hex_digits(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    with pytest.raises(errors.InvalidValue, match="64 hexadecimal"):
        store.import_archive(REF, mkimage(REF), "abc123")

    assert containerd.image_refs() == set()


def test_import_of_an_archive_without_the_ref_leaves_nothing_behind(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    archive = mkimage(OTHER, "--busybox")

    with pytest.raises(
        errors.InvalidValue, match=re.escape(f"does not carry image '{REF}'; it carries {OTHER}")
    ):
        store.import_archive(REF, archive)

    assert containerd.image_refs() == set()
    assert not blob_digests(archive) & containerd.content_digests()


def test_import_removes_what_containerd_named_when_the_ref_is_not_among_it(
    store: ImageStore, containerd: Containerd, mkimage: MkImage, tmp_path: Path
) -> None:
    # Only containerd knows what a bare OCI tag becomes ("import-<date>:1.36"), so this archive
    # passes the check before the import and must be undone after it.
    archive = with_index_entries(mkimage(REF), tmp_path / "bare-tag.tar", [{OCI_REF_NAME: "1.36"}])

    with pytest.raises(errors.InvalidValue, match=r"gave no image.*removed again") as raised:
        store.import_archive(REF, archive)

    assert "import-" in raised.value.message
    assert containerd.image_refs() == set()


def test_import_without_the_ref_keeps_the_image_already_there_unchanged(
    store: ImageStore, containerd: Containerd, mkimage: MkImage, tmp_path: Path
) -> None:
    first = store.import_archive(REF, mkimage(REF))
    other_content = mkimage(REF, "--env", "VERSION=2")
    archive = with_index_entries(other_content, tmp_path / "bare.tar", [{OCI_REF_NAME: "1.36"}])

    with pytest.raises(errors.InvalidValue, match="unchanged"):
        store.import_archive(REF, archive)

    assert store.list() == {REF: first}


def test_import_refuses_an_archive_that_would_replace_another_image(
    store: ImageStore, containerd: Containerd, mkimage: MkImage, tmp_path: Path
) -> None:
    other = store.import_archive(OTHER, mkimage(OTHER, "--env", "APP=other"))
    both = with_index_entries(
        mkimage(REF), tmp_path / "both.tar", [{CONTAINERD_NAME: REF}, {CONTAINERD_NAME: OTHER}]
    )

    with pytest.raises(errors.InvalidValue, match=re.escape(f"also carries image '{OTHER}'")):
        store.import_archive(REF, both)

    assert store.list() == {OTHER: other}


def test_import_keeps_only_the_ref_of_an_archive_that_carries_several_names(
    store: ImageStore, containerd: Containerd, mkimage: MkImage, tmp_path: Path
) -> None:
    both = with_index_entries(
        mkimage(REF), tmp_path / "both.tar", [{CONTAINERD_NAME: REF}, {CONTAINERD_NAME: OTHER}]
    )

    store.import_archive(REF, both)

    assert containerd.image_refs() == {REF}


def test_import_of_a_docker_archive_finds_the_ref_by_its_short_repo_tag(
    store: ImageStore, containerd: Containerd, mkimage: MkImage, tmp_path: Path
) -> None:
    archive = as_docker_archive(
        mkimage(REF, "--busybox"), tmp_path / "docker.tar", ["busybox:1.36"]
    )

    info = store.import_archive(REF, archive)

    assert containerd.image_refs() == {REF}
    assert info.size > 0


def test_import_of_a_new_archive_replaces_the_image_content(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    first = store.import_archive(REF, mkimage(REF, "--env", "VERSION=1"))
    second_archive = mkimage(REF, "--env", "VERSION=2")

    second = store.import_archive(REF, second_archive)

    assert second.digest != first.digest
    assert second.digest == manifest_digest(second_archive)
    assert store.list()[REF].digest == second.digest


def test_import_of_a_missing_archive_is_an_invalid_value(
    store: ImageStore, containerd: Containerd, tmp_path: Path
) -> None:
    with pytest.raises(errors.InvalidValue, match="does not exist") as raised:
        store.import_archive(REF, tmp_path / "absent.tar", error_path="/images/image/archive")

    assert raised.value.path == "/images/image/archive"
    assert containerd.image_refs() == set()


def test_import_of_a_file_that_is_no_image_archive_is_an_operation_failed_error(
    store: ImageStore, containerd: Containerd, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar archive\n" * 100)

    with pytest.raises(
        errors.OperationFailed, match=re.escape(f"importing archive '{junk}' failed")
    ):
        store.import_archive(REF, junk)

    assert containerd.image_refs() == set()


def test_list_shows_images_imported_without_the_store(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    archive = mkimage(REF)
    containerd.ctr("images", "import", str(archive))

    info = store.list()[REF]

    assert info.digest == manifest_digest(archive)
    assert info.size == content_size(archive)
    assert info.imported_at is None


def test_list_still_shows_an_image_whose_manifest_is_gone_without_a_size(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    damaged = mkimage(REF)
    store.import_archive(REF, damaged)
    healthy = store.import_archive(OTHER, mkimage(OTHER, "--env", "APP=other"))
    containerd.ctr("content", "rm", manifest_digest(damaged))

    listing = ImageStore(containerd.socket).list()

    assert listing[REF].digest == manifest_digest(damaged)
    assert listing[REF].size is None
    assert listing[OTHER] == healthy


def test_list_is_empty_for_a_namespace_without_images(containerd: Containerd) -> None:
    assert ImageStore(containerd.socket, namespace="k3s-netconf-empty").list() == {}


def test_remove_deletes_the_image(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    archive = mkimage(REF, "--busybox")
    store.import_archive(REF, archive)

    store.remove(REF)

    assert REF not in store.list()
    assert containerd.image_refs() == set()
    # Removal waits for garbage collection, so the layers no longer take space.
    assert not blob_digests(archive) & containerd.content_digests()


def test_remove_keeps_other_images(
    store: ImageStore, containerd: Containerd, mkimage: MkImage
) -> None:
    store.import_archive(REF, mkimage(REF))
    other = store.import_archive(OTHER, mkimage(OTHER))

    store.remove(REF)

    assert store.list() == {OTHER: other}


def test_remove_of_an_absent_image_is_no_error(store: ImageStore, containerd: Containerd) -> None:
    store.remove(REF)

    assert containerd.image_refs() == set()


def test_image_changes_are_logged_at_info(
    store: ImageStore, mkimage: MkImage, caplog: pytest.LogCaptureFixture
) -> None:
    archive = mkimage(REF)

    with caplog.at_level(logging.INFO, logger="k3s_netconf.images"):
        store.import_archive(REF, archive)
        store.remove(REF)

    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert any(m.startswith(f"Imported image '{REF}' from archive '{archive}'") for m in messages)
    assert any(m.startswith(f"Removed image '{REF}'") for m in messages)


def test_unreachable_containerd_gives_an_operation_failed_error(
    tmp_path: Path, mkimage: MkImage
) -> None:
    absent = str(tmp_path / "absent.sock")

    with pytest.raises(
        errors.OperationFailed, match=re.escape(f"containerd at {absent} is not reachable")
    ):
        ImageStore(absent).list()
    with pytest.raises(errors.OperationFailed, match="is not reachable"):
        ImageStore(absent).import_archive(REF, mkimage(REF))
    with pytest.raises(errors.OperationFailed, match="is not reachable"):
        ImageStore(absent).remove(REF)


def test_a_socket_nobody_listens_on_gives_an_operation_failed_error_with_ctrs_words(
    tmp_path: Path,
) -> None:
    # A socket file left by a stopped daemon: ctr itself gets "connection refused".
    path = str(tmp_path / "stale.sock")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)

    with pytest.raises(errors.OperationFailed, match=r"not reachable.*connection refused"):
        ImageStore(path, timeout=30).list()


def test_a_missing_ctr_command_gives_an_operation_failed_error(containerd: Containerd) -> None:
    store = ImageStore(containerd.socket, ctr=["no-such-ctr-command"])

    with pytest.raises(errors.OperationFailed, match="'no-such-ctr-command' is not installed"):
        store.list()


def test_import_time_is_reported_in_utc(store: ImageStore, mkimage: MkImage) -> None:
    info = store.import_archive(REF, mkimage(REF))

    assert info.imported_at is not None
    assert info.imported_at.utcoffset() == timedelta(0)
