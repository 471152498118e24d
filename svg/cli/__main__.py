"""``python -m svg.cli ...`` is the ``svg`` command."""
from .entry import main

raise SystemExit(main())
