"""Fixtures the unit tests share."""

import pytest

from k3s_netconf import schema


@pytest.fixture(scope="module")
def model() -> schema.Schema:
    """The project's compiled YANG model."""
    return schema.load()
