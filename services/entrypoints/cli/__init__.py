"""The `followup` command: the root (main.py), its sub-commands (alerts, audit, summary)
and the one runner every command body goes through (runner.py)."""
