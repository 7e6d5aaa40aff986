"""The ``gigjax`` subcommands (see gigjax/cli.py)."""
