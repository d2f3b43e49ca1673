"""Broadsheet: a static-site news reader generator."""

__version__ = "0.1.0"
