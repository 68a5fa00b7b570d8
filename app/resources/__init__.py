"""Where the files Kassa reads at run time are: templates, static files, migrations, catalogs.

The repository keeps them at its top level (templates/, static/, migrations/; the EVM plugin's
contract artifacts in contracts/). pyproject.toml maps each folder into the package as a data
package (`app.resources.templates` is templates/ ...), so `importlib.resources` finds them the
same way in an installed wheel and in an editable install (where they stay the repository's
own folders). Nothing else locates these files: every reader, plugins included, asks here.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path


def package_folder(package: str, *parts: str) -> Path:
    """The folder `parts` inside `package` (a data package, or a folder a code package ships).

    A real directory, not just a `Traversable`: Quart, Jinja and aerich open paths. Kassa is
    installed unzipped (pip, pipx, an image), so its packages are directories.
    """
    try:
        folder = files(package).joinpath(*parts)
    except ModuleNotFoundError:  # the data package itself is missing
        folder = None
    if not isinstance(folder, Path) or not folder.is_dir():
        where = "/".join((package.replace(".", "/"), *parts))
        raise FileNotFoundError(
            f"{where} is missing from this Kassa installation ({folder}): reinstall Kassa "
            "(from a checkout: pip install -e .)"
        )
    return folder


@functools.cache
def templates_folder() -> Path:
    """Jinja pages and `_fragment.html` partials (templates/)."""
    return package_folder(f"{__name__}.templates")


@functools.cache
def static_folder() -> Path:
    """CSS, scripts and vendored htmx served under /static (static/)."""
    return package_folder(f"{__name__}.static")


@functools.cache
def migrations_folder() -> Path:
    """aerich migrations, one folder per SQL dialect (migrations/)."""
    return package_folder(f"{__name__}.migrations")


@functools.cache
def translations_folder() -> Path:
    """The checkout's Babel catalogs, one folder per locale (app/translations/)."""
    return package_folder("app", "translations")
