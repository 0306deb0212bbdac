"""``python -m router.cli``: the ``switchboard`` command."""

from router.cli.parser import main

raise SystemExit(main())
