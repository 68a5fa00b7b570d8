"""contracts/ is installed as the data package `plugins.evm.contracts` (pyproject.toml).

No code: this file only makes the folder importable, which an editable install needs to map it.
"""
