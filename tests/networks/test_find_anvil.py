"""`find_anvil`: the npm package's binary in the nearest node_modules, else PATH, else a message
that says how to install it (what `kassa dev` prints instead of a traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.evm import anvil
from plugins.evm.anvil import AnvilNotFound, find_anvil


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def outside_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory and PATH, and no checkout next to the installed code."""
    monkeypatch.setattr(anvil, "SOURCE_TREE", tmp_path / "site-packages")
    monkeypatch.setenv("PATH", "")
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    return workdir


def test_missing_anvil_says_how_to_install_it(outside_the_checkout: Path) -> None:
    with pytest.raises(AnvilNotFound) as caught:
        find_anvil()
    assert "npm install -g @foundry-rs/anvil" in str(caught.value)
    assert "npm ci" in str(caught.value)


def test_nearest_node_modules_first_then_path(
    outside_the_checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path = executable(outside_the_checkout.parent / "bin" / "anvil")
    monkeypatch.setenv("PATH", str(on_path.parent))
    assert find_anvil() == str(on_path)

    # `npm install @foundry-rs/anvil` in a project: its platform package holds the binary.
    npm = executable(outside_the_checkout / "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
    nested = outside_the_checkout / "shop" / "deploy"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_anvil() == str(npm)


def test_the_checkouts_pinned_anvil_from_any_directory(
    outside_the_checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(anvil, "SOURCE_TREE", outside_the_checkout.parent / "checkout")
    pinned = executable(
        outside_the_checkout.parent
        / "checkout/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    )
    assert find_anvil() == str(pinned)
