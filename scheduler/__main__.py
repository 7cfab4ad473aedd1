"""`python -m scheduler` runs the same scheduler as `nu3d scheduler`."""

from scheduler.cli import main

raise SystemExit(main())
