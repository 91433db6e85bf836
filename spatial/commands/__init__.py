"""CLI commands, one module each (``spatial.cli.COMMANDS`` lists them; imported when they run)."""
