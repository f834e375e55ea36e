"""`python -m app` runs the same command line as the `audience-studio` script."""

from app.cli.main import main

raise SystemExit(main())
