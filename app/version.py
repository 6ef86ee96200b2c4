"""Colibri's version: the one place it is written. pyproject.toml reads it (dynamic
version), the installers and the About dialog show it."""

__version__ = "0.1.0"
