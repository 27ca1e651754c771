"""Deciding what to change: pure functions from configurations to ordered actions."""
