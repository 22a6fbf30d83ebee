"""Public views, thin: each parses the request, calls one service in its domain package and
answers. Above every domain package (the import contract in pyproject.toml)."""
