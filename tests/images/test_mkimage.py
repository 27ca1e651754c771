"""tools/mkimage: deterministic archives that containerd imports under their reference and runs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from containerd_daemon import Containerd
from oci_archives import MKIMAGE, MkImage, blob, manifest_digest, read_index, read_member

pytestmark = pytest.mark.images

REF = "docker.io/library/busybox:1.36"


def layer_members(archive: Path) -> dict[str, tarfile.TarInfo]:
    manifest = json.loads(blob(archive, manifest_digest(archive)))
    layer = blob(archive, manifest["layers"][0]["digest"])
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        return {member.name: member for member in tar.getmembers()}


def image_config(archive: Path) -> dict:
    manifest = json.loads(blob(archive, manifest_digest(archive)))
    return json.loads(blob(archive, manifest["config"]["digest"]))


def run_container(containerd: Containerd, ref: str, name: str, *command: str) -> str:
    # Keep runc's state and the IO fifos under the test daemon's folder, not in /run.
    private = (
        "--fifo-dir",
        str(containerd.base / "fifo"),
        "--runc-root",
        str(containerd.base / "runc"),
    )
    done = containerd.ctr("run", "--rm", *private, ref, name, *command)
    return done.stdout


@pytest.fixture
def clean_k8s_namespace(containerd: Containerd) -> Iterator[Containerd]:
    yield containerd
    for ref in containerd.image_refs():
        containerd.ctr("images", "rm", "--sync", ref)


def test_mkimage_output_is_deterministic(mkimage: MkImage, tmp_path: Path) -> None:
    script = tmp_path / "hello.sh"
    script.write_text("#!/bin/sh\necho hello\n")
    options = ("--busybox", "--add", f"{script}:/usr/local/bin/hello", "--cmd", "hello")

    first = mkimage(REF, *options).read_bytes()
    # A newer modification time of an input must not change the archive.
    os.utime(script, (1_900_000_000, 1_900_000_000))
    second = mkimage(REF, *options).read_bytes()

    assert first == second
    assert mkimage(REF, *options, "--env", "A=1").read_bytes() != first


def test_mkimage_archive_entries_have_fixed_times_and_owners(mkimage: MkImage) -> None:
    archive = mkimage(REF, "--busybox")

    with tarfile.open(archive) as tar:
        outer = tar.getmembers()
    members = [*outer, *layer_members(archive).values()]

    assert {(m.mtime, m.uid, m.gid) for m in members} == {(0, 0, 0)}


def test_mkimage_names_the_image_for_containerd_and_oci(mkimage: MkImage) -> None:
    archive = mkimage(REF)

    (entry,) = read_index(archive)["manifests"]

    assert entry["annotations"]["io.containerd.image.name"] == REF
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "1.36"
    assert json.loads(read_member(archive, "oci-layout")) == {"imageLayoutVersion": "1.0.0"}


def test_mkimage_config_carries_the_linux_amd64_platform(mkimage: MkImage) -> None:
    archive = mkimage(REF, "--busybox", "--entrypoint", "sh", "-c", "--cmd", "echo hi")

    config = image_config(archive)
    (entry,) = read_index(archive)["manifests"]

    assert (config["os"], config["architecture"]) == ("linux", "amd64")
    assert entry["platform"] == {"os": "linux", "architecture": "amd64"}
    # Words that look like options belong to --entrypoint until the next option of mkimage.
    assert config["config"]["Entrypoint"] == ["sh", "-c"]
    assert config["config"]["Cmd"] == ["echo hi"]
    assert config["config"]["Env"][0].startswith("PATH=")


def test_mkimage_busybox_links_the_common_applets(mkimage: MkImage) -> None:
    members = layer_members(mkimage(REF, "--busybox"))

    assert members["bin/busybox"].isfile()
    assert members["bin/busybox"].mode == 0o755
    for applet in ("sh", "sleep", "nc", "httpd", "echo", "cat", "ls", "dd", "head", "yes"):
        assert members[f"bin/{applet}"].issym()
        assert members[f"bin/{applet}"].linkname == "busybox"
    assert members["tmp"].mode == 0o1777


def test_mkimage_keeps_the_mode_of_added_files(mkimage: MkImage, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)

    members = layer_members(mkimage(REF, "--add", f"{secret}:/etc/app/secret"))

    assert members["etc/app/secret"].mode == 0o600
    assert members["etc/app"].isdir()


def test_mkimage_archive_imports_under_the_exact_ref(
    clean_k8s_namespace: Containerd, mkimage: MkImage
) -> None:
    containerd = clean_k8s_namespace
    archive = mkimage(REF, "--busybox")

    containerd.ctr("images", "import", str(archive))

    listing = containerd.ctr("images", "ls").stdout
    assert containerd.image_refs() == {REF}
    assert manifest_digest(archive) in listing
    assert "linux/amd64" in listing


def test_a_container_from_a_mkimage_busybox_image_runs(
    clean_k8s_namespace: Containerd, mkimage: MkImage
) -> None:
    containerd = clean_k8s_namespace
    containerd.ctr("images", "import", str(mkimage(REF, "--busybox")))

    assert run_container(containerd, REF, "echo-hello", "echo", "hello") == "hello\n"


def test_a_container_runs_the_image_command_and_added_files(
    clean_k8s_namespace: Containerd, mkimage: MkImage, tmp_path: Path
) -> None:
    containerd = clean_k8s_namespace
    script = tmp_path / "greet"
    script.write_text('#!/bin/sh\necho "greetings from $WHO"\n')
    script.chmod(0o755)
    archive = mkimage(
        REF,
        "--busybox",
        "--add",
        f"{script}:/usr/local/bin/greet",
        "--env",
        "WHO=mkimage",
        "--cmd",
        "sh",
        "-c",
        "greet",
    )
    containerd.ctr("images", "import", str(archive))

    assert run_container(containerd, REF, "greet") == "greetings from mkimage\n"


@pytest.mark.parametrize(
    "ref",
    ["busybox:1.36", "docker.io/library/busybox", "library/busybox:1.36", "Docker.io/x:1"],
)
def test_mkimage_refuses_a_reference_that_is_not_fully_qualified(ref: str, tmp_path: Path) -> None:
    out = tmp_path / "image.tar"
    command = [sys.executable, str(MKIMAGE), "--ref", ref, "--out", str(out)]

    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode != 0
    assert "fully qualified" in done.stderr
    assert not out.exists()


def test_mkimage_refuses_an_added_file_that_does_not_exist(tmp_path: Path) -> None:
    out = tmp_path / "image.tar"
    command = [
        sys.executable,
        str(MKIMAGE),
        "--ref",
        REF,
        "--out",
        str(out),
        "--add",
        f"{tmp_path / 'absent'}:/absent",
    ]

    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 1
    assert "not a regular file" in done.stderr
    assert not out.exists()
