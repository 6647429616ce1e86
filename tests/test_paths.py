"""Image paths typed by users: the notebooks/ working directory and bundled samples by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from spatial_nb.cli import main
from spatial_nb.errors import ImageLoadError
from spatial_nb.paths import find_image
from spatial_nb.samples import images_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path):
    """tmp/notebooks (the working directory) and tmp/pictures/own.png next to it."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "pictures").mkdir()
    Image.new("RGB", (8, 6)).save(tmp_path / "pictures" / "own.png")
    return tmp_path


def test_a_path_that_exists_is_used_as_given(project):
    found = find_image("../pictures/own.png", cwd=project / "notebooks")
    assert found.path == project / "notebooks" / "../pictures/own.png" and not found.fallback and found.note is None


def test_from_notebooks_the_parent_is_tried(project):
    found = find_image("pictures/own.png", cwd=project / "notebooks")
    assert found.path == project / "pictures" / "own.png" and found.fallback
    assert found.note == f"pictures/own.png is not in {project / 'notebooks'}, so {project / 'pictures' / 'own.png'} was loaded instead."


def test_the_parent_is_only_tried_from_a_notebooks_folder(project):
    (project / "other").mkdir()
    with pytest.raises(ImageLoadError) as err:
        find_image("pictures/own.png", cwd=project / "other")
    message = str(err.value)
    assert f"working directory {project / 'other'}" in message
    assert str(project / "other" / "pictures" / "own.png") in message and "bundled sample photos" in message
    assert str(project / "pictures") not in message  # the parent was not tried


def test_bundled_samples_are_found_by_file_name(project):
    found = find_image("images/coffee.jpg", cwd=project / "notebooks")  # no images/ in this project
    assert found.path == images_dir() / "coffee.jpg" and "was loaded instead" in found.note
    assert found.tried == (project / "notebooks" / "images/coffee.jpg", project / "images/coffee.jpg", found.path)


def test_absolute_paths_are_never_guessed(tmp_path):
    with pytest.raises(ImageLoadError, match="image file not found") as err:
        find_image(str(tmp_path / "coffee.jpg"), cwd=tmp_path)
    assert "bundled" not in str(err.value)


def test_cli_detect_from_the_notebooks_folder(fake_gemini, monkeypatch, capsys):
    monkeypatch.chdir(REPO / "notebooks")
    assert main(["detect", "images/coffee.jpg", "Detect the cup"]) == 0
    out, err = capsys.readouterr()
    assert "3 items from" in out
    assert err.strip() == f"spatial-nb: images/coffee.jpg is not in {REPO / 'notebooks'}, so {REPO / 'images' / 'coffee.jpg'} was loaded instead."
