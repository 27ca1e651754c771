"""The catalogue of YANG files: what get-schema hands out and the YANG library lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from k3s_netconf import errors, schema
from k3s_netconf.catalogue import Catalogue

MODEL = """module acme-apps {
  yang-version 1.1;
  namespace "urn:acme:apps";
  prefix aa;
  include acme-apps-types;
  import acme-types { prefix at; }
  revision 2026-01-01;
  container apps { leaf name { type at:name; } }
}
"""

SUBMODULE = """submodule acme-apps-types {
  yang-version 1.1;
  belongs-to acme-apps { prefix aa; }
  revision 2025-06-01;
  typedef size { type uint32; }
}
"""


def types_module(revision: str) -> str:
    return f"""module acme-types {{
  namespace "urn:acme:types";
  prefix at;
  revision {revision};
  typedef name {{ type string; }}
}}
"""


def capability(namespace: str, name: str, revision: str, features: str = "") -> str:
    extra = f"&features={features}" if features else ""
    return f"{namespace}?module={name}&revision={revision}{extra}"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "ietf").mkdir()
    (tmp_path / "acme-apps@2026-01-01.yang").write_text(MODEL)
    (tmp_path / "acme-apps-types@2025-06-01.yang").write_text(SUBMODULE)
    (tmp_path / "ietf" / "acme-types@2020-01-01.yang").write_text(types_module("2020-01-01"))
    return tmp_path


ADVERTISED = [
    "urn:ietf:params:netconf:capability:candidate:1.0",
    capability("urn:acme:apps", "acme-apps", "2026-01-01", "fast,safe"),
    capability("urn:acme:types", "acme-types", "2020-01-01"),
]


def test_the_model_folder_is_implemented_and_a_library_of_types_is_import_only(folder):
    catalogue = Catalogue(folder, ADVERTISED)

    assert [m.name for m in catalogue.modules] == ["acme-apps"]
    assert [m.name for m in catalogue.import_only] == ["acme-types"]
    assert catalogue.modules[0].features == ("fast", "safe")


def test_a_submodule_follows_its_module_with_the_module_namespace(folder):
    catalogue = Catalogue(folder, ADVERTISED)

    [part] = catalogue.submodules_of(catalogue.modules[0])
    assert (part.name, part.revision, part.namespace) == (
        "acme-apps-types",
        "2025-06-01",
        "urn:acme:apps",
    )
    assert catalogue.schema_text("acme-apps-types", None) == SUBMODULE


def test_a_module_file_the_hello_does_not_name_is_not_offered(folder):
    catalogue = Catalogue(folder, ADVERTISED[:2])

    assert [f.name for f in catalogue.files] == ["acme-apps", "acme-apps-types"]
    with pytest.raises(errors.InvalidValue, match="acme-types"):
        catalogue.schema_text("acme-types", None)


def test_a_module_added_to_the_ietf_folder_is_picked_up_and_changes_the_content_id(folder):
    before = Catalogue(folder, ADVERTISED)
    (folder / "ietf" / "acme-state@2026-02-02.yang").write_text(
        'module acme-state { namespace "urn:acme:state"; prefix as; revision 2026-02-02;\n'
        "  container state { config false; leaf up { type boolean; } } }\n"
    )
    after = Catalogue(
        folder, [*ADVERTISED, capability("urn:acme:state", "acme-state", "2026-02-02")]
    )

    assert "acme-state" in [m.name for m in after.modules]
    assert after.content_id != before.content_id
    assert Catalogue(folder, ADVERTISED).content_id == before.content_id


def test_two_revisions_of_one_module_without_a_version_are_data_not_unique(folder):
    (folder / "ietf" / "acme-types@2021-01-01.yang").write_text(types_module("2021-01-01"))
    catalogue = Catalogue(
        folder, [*ADVERTISED, capability("urn:acme:types", "acme-types", "2021-01-01")]
    )

    with pytest.raises(errors.SchemaNotUnique) as raised:
        catalogue.schema_text("acme-types", None)
    assert (raised.value.tag, raised.value.app_tag) == ("operation-failed", "data-not-unique")
    assert "2021-01-01" in catalogue.schema_text("acme-types", "2021-01-01")


def test_a_version_the_server_lacks_is_invalid_value(folder):
    catalogue = Catalogue(folder, ADVERTISED)

    with pytest.raises(errors.InvalidValue) as raised:
        catalogue.schema_text("acme-apps", "1999-09-09")
    assert raised.value.info == {"bad-element": "version"}


def test_the_shipped_folder_offers_the_monitoring_and_library_modules():
    shipped = schema.load()
    advertised = [capability(m.namespace, m.name, m.revision) for m in shipped.modules]
    catalogue = Catalogue(shipped.folder, advertised)

    implemented = {m.name for m in catalogue.modules}
    assert {"ietf-netconf-monitoring", "ietf-yang-library", "ietf-datastores"} <= implemented
    assert {f.name for f in catalogue.files} == {m.name for m in shipped.modules}
