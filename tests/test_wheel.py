"""The built wheel: photos small and clean, licence files and data present, demo runs from it.

Builds with ``pip wheel . --no-deps --no-build-isolation`` (hatchling from the dev extras, so
no download), inspects the archive, then installs it into a private folder and runs
``spatial-nb demo`` from there, with the source tree out of the import path.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from spatial_nb import samples

REPO = Path(__file__).resolve().parents[1]
BUNDLED = "spatial_nb/_bundled_images/"

pytest.importorskip("hatchling", reason="the dev extras build the wheel offline with hatchling")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-w", str(out), "-q"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = out.glob("spatial_nb-*.whl")
    return path


def test_wheel_photos_are_small_upright_and_without_metadata(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        photos = sorted(n for n in names if n.startswith(BUNDLED) and n.endswith(".jpg"))
        assert [n[len(BUNDLED):] for n in photos] == sorted(samples.sample_names())
        for name in photos:
            data = zf.read(name)
            assert len(data) < 400 * 1024, name
            with Image.open(io.BytesIO(data)) as im:
                assert max(im.size) <= 1600 and im.mode == "RGB", name
                assert not im.getexif(), f"{name} has EXIF"
                assert not {"icc_profile", "exif", "xmp", "mp", "comment"} & set(im.info), name
            assert b"Exif\x00\x00" not in data[:65536] and b"http://ns.adobe.com/xap" not in data, name


def test_wheel_carries_licences_notice_and_data(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for required in ("LICENSES.md", "NOTICE", "LICENSE-Apache-2.0.txt"):
            assert BUNDLED + required in names, required
        assert "Apache License" in zf.read(BUNDLED + "LICENSE-Apache-2.0.txt").decode()
        licences = zf.read(BUNDLED + "LICENSES.md").decode()
        for name in samples.sample_names():
            assert f"`{name}`" in licences, name
        assert {"spatial_nb/data/recorded_answers.json", "spatial_nb/data/sample_prompts.json"} <= names
        assert "spatial_nb/commands/demo.py" in names and "spatial_nb/demo.py" in names
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_demo_runs_from_the_installed_wheel(wheel, tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(site), str(wheel), "-q"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)  # the wheel's copy first; the dependencies come from this environment
    env["SPATIAL_NB_CACHE_DIR"] = str(tmp_path / "cache")
    code = (
        "import spatial_nb, spatial_nb.samples as s, sys\n"
        "print(spatial_nb.__file__)\nprint(s.images_dir())\n"
        "from spatial_nb.cli import main\nsys.exit(main(['demo', '--out', sys.argv[1]]))"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "demo")], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(str(site)) and lines[1] == str(site / "spatial_nb" / "_bundled_images")
    assert (tmp_path / "demo" / "socks-with-face.png").is_file() and (tmp_path / "demo" / "index.html").is_file()
    assert "spatial-nb detect socks.jpg " in proc.stdout  # the live command names the photo by its sample name
    # ... which detect finds among the wheel's bundled photos from any folder
    find = "from spatial_nb.paths import find_image\nprint(find_image('socks.jpg').path)"
    proc = subprocess.run([sys.executable, "-c", find], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert proc.stdout.strip() == str(site / "spatial_nb" / "_bundled_images" / "socks.jpg"), proc.stdout + proc.stderr
