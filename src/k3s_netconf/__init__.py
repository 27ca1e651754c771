"""Manage the container apps of a K3s device over NETCONF/YANG."""

__version__ = "0.1.0"
