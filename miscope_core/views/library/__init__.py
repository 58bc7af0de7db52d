"""Built-in views, one module per instrument; each module registers its views on import."""
