"""The `audience-studio` command line: argparse, printing and exit codes, one module per command group."""
