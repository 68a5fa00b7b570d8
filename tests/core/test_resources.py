"""app.resources: the one place that finds the files Kassa reads at run time."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.resources import migrations_folder, package_folder, static_folder, templates_folder

REPO = Path(__file__).resolve().parents[2]


def test_an_editable_install_reads_the_repositorys_own_folders() -> None:
    # So the suite tests the committed files, and scripts/make_migrations.py writes new
    # migrations where Kassa reads them.
    assert templates_folder() == REPO / "templates"
    assert static_folder() == REPO / "static"
    assert migrations_folder() == REPO / "migrations"
    assert package_folder("plugins.evm", "static") == REPO / "plugins" / "evm" / "static"


def test_a_missing_folder_says_to_reinstall() -> None:
    with pytest.raises(FileNotFoundError, match="app/resources/nope is missing .* reinstall"):
        package_folder("app.resources", "nope")
    with pytest.raises(FileNotFoundError, match="app/resources/nope is missing .* reinstall"):
        package_folder("app.resources.nope")
