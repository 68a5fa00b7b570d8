"""templates/ is installed as the data package `app.resources.templates` (pyproject.toml).

No code: this file only makes the folder importable, which an editable install needs to map it.
"""
