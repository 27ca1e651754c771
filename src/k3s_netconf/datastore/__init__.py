"""Configuration datastores: XML trees checked against the YANG model."""
