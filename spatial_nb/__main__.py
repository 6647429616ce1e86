"""``python -m spatial_nb`` runs the command-line interface (see :mod:`spatial_nb.cli`)."""

from .cli import main

raise SystemExit(main())
