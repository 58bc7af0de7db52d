"""Reusable layout pieces: badges, tables, forms, explore panels."""
