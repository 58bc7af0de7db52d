"""Command-line front end: `miscope <command>`."""
