"""Dashboard pages; each module has `layout(**query)` and `register_callbacks(app, data_dir)`."""
