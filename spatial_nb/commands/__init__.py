"""Subcommands of the ``spatial-nb`` CLI; each module has ``register(subparsers)``."""
