"""The frozen app's entry point: the same command line as `audience-studio`.

freeze_support() lets the import's worker processes (multiprocessing, spawn) start from the frozen
executable: a child started by the bundle runs its worker instead of the command line.
"""

import multiprocessing

from app.cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    raise SystemExit(main())
