"""Bundled sample photos and prompts, and fetching the cookbook's photos from a local server."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spatial_nb import SpatialNBError, samples

REPO = Path(__file__).resolve().parents[1]


# -- bundled samples ----------------------------------------------------------------------


# The AI Studio app's gallery (spatial/src/consts.tsx imageOptions, without the missing pumpkins.jpg).
GALLERY = ["origami.jpg", "clock.jpg", "socks.jpg", "breakfast.jpg", "cat.jpg", "spill.jpg", "fruit.jpg", "baklava.jpg"]


def test_bundled_samples_load_and_have_prompts_for_every_kind():
    found = samples.list_samples()
    assert 6 <= len(found) <= 12
    for s in found:
        with Image.open(s.path) as im:
            im.load()
            assert im.mode == "RGB" and max(im.size) <= 1600, s.name  # issue #15: gallery at 1600 px
        assert s.path.stat().st_size < 400 * 1024, s.name
        assert s.title and s.description and s.licence, s.name
        for kind in samples.KINDS:
            assert samples.prompts_for(s.name, kind), f"{s.name} has no {kind} prompt"
            assert all(p.strip() for p in s.prompts[kind])


def test_gallery_comes_first_in_the_apps_order():
    names = samples.sample_names()
    assert names[: len(GALLERY)] == GALLERY
    for name in GALLERY:
        s = samples.sample(name)
        assert s.source == "ai_studio_gallery" and s.licence.startswith("Apache-2.0"), name
        with Image.open(s.path) as im:
            assert max(im.size) == 1600, name  # the originals are larger: downscaled to exactly 1600
    # the CJK scene and the photo other tests use stay; the old cat is now chelsea.jpg
    assert {"coffee.jpg", "china_palace.jpg", "chelsea.jpg"} <= set(names)
    assert samples.sample("chelsea").title == "Chelsea the cat"


@pytest.mark.parametrize(
    "name, prompt",
    [
        ("socks.jpg", "Show me the positions of the socks with the face"),  # the cookbook's search example
        ("socks.jpg", "Find all socks and label them with emojis "),  # verbatim, trailing space included
        ("spill.jpg", "Tell me how to clean my table with an explanation as label. Do not just label the items"),
        ("spill.jpg", "Give me what product(s) I should use to clean up this stain, based on the type of stain."),
        ("origami.jpg", "Draw a square around the fox' shadow"),
        ("origami.jpg", "Based on the shape of the origamis, can you guess the skill level needed and what the base paper size could have been?"),
    ],
)
def test_cookbook_prompts_are_offered_for_their_photo_with_their_source(name, prompt):
    assert prompt in samples.prompts_for(name, "boxes")
    src = samples.prompt_source(name, prompt)
    assert src["key"] == "cookbook" and src["path"] == "quickstarts/Spatial_understanding.ipynb"
    assert len(src["commit"]) == 40 and src["date"] and src["licence"] == "Apache-2.0"
    assert prompt in samples.cookbook_prompts({"origami.jpg": "origamis.jpg"}.get(name, name))


def test_every_gallery_photo_offers_the_apps_default_prompts():
    from spatial_nb import prompts

    for name in GALLERY:
        for kind in ("boxes", "points", "boxes3d"):  # the app's copy has no masks mode
            default = prompts.template(kind, "items")
            assert default in samples.prompts_for(name, kind), (name, kind)
            assert samples.prompt_source(name, default)["repository"] == "google-gemini/starter-applets"


def test_prompt_sources_name_real_prompts_and_sources():
    data = json.loads((REPO / "spatial_nb" / "data" / "sample_prompts.json").read_text(encoding="utf-8"))
    for s in samples.list_samples():
        offered = {p for kind in samples.KINDS for p in s.prompts[kind]}
        for prompt, key in s.prompt_sources.items():
            assert prompt in offered, (s.name, prompt)
            assert key in data["sources"], (s.name, key)
        assert s.source in data["sources"], s.name
    assert samples.prompt_source("socks.jpg", samples.prompts_for("socks.jpg", "masks")[0]) is None  # ours


def test_every_photo_in_images_dir_is_described_and_vice_versa():
    on_disk = {p.name for p in samples.images_dir().glob("*.jpg")}
    assert on_disk == set(samples.sample_names())


def test_no_exif_or_metadata_in_photos():
    for s in samples.list_samples():
        with Image.open(s.path) as im:
            assert not im.getexif(), f"{s.name} still has EXIF"
            assert not {"icc_profile", "exif", "xmp", "mp", "comment"} & set(im.info), s.name


def test_licence_texts_ship_beside_the_photos():
    folder = samples.images_dir()
    assert "Apache License" in (folder / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8")
    notice = (folder / "NOTICE").read_text(encoding="utf-8")
    assert "google-gemini/starter-applets" in notice and "Apache License, Version 2.0" in notice
    text = (folder / "LICENSES.md").read_text(encoding="utf-8")
    for name in GALLERY:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        assert "Apache-2.0" in row, name


ORIGINALS = Path("/work/shared/photos/ai-studio")


@pytest.mark.skipif(not ORIGINALS.is_dir(), reason="the gallery originals are not on this machine")
def test_make_sample_images_reproduces_the_gallery_from_the_originals(monkeypatch):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("make_sample_images", REPO / "scripts" / "make_sample_images.py")
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, script)  # dataclasses look their module up there
    spec.loader.exec_module(script)
    for name in GALLERY:
        recipe = script.RECIPES[name]
        original = (ORIGINALS / name).read_bytes()
        assert script.git_blob_sha1(original) == recipe.git_blob_sha1, name  # the published file
        made = Image.open(io.BytesIO(script.encode(original, recipe.max_side_px, recipe.jpeg_quality)))
        with Image.open(samples.sample_path(name)) as shipped:
            assert made.size == shipped.size, name
            # same picture (bytes may differ with another Pillow/libjpeg; `--check` compares bytes)
            diff = np.abs(np.asarray(made, dtype=np.int16) - np.asarray(shipped.convert("RGB"), dtype=np.int16))
            assert diff.mean() < 1.0, (name, diff.mean())
        with Image.open(ORIGINALS / name) as im:  # upright already, so the shapes must agree
            ratio = im.size[0] / im.size[1]
            assert abs(made.size[0] / made.size[1] - ratio) < 0.002, name


def test_licences_file_names_every_photo():
    text = (REPO / "images" / "LICENSES.md").read_text(encoding="utf-8")
    for name in samples.sample_names():
        assert f"`{name}`" in text, f"images/LICENSES.md does not mention {name}"


def test_readme_command_image_exists():
    assert samples.sample_path("coffee.jpg").is_file()
    assert samples.sample_path("Coffee") == samples.sample_path("coffee.jpg")  # forgiving lookup


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: samples.sample("nope.jpg"), "coffee.jpg"),  # lists valid names
        (lambda: samples.prompts_for("coffee.jpg", "polygons"), "boxes3d"),  # lists valid kinds
        (lambda: samples.example("intro"), "multilingual"),
        (lambda: samples.fetch("Socks.jpg"), "socks.jpg"),  # case-sensitive, suggests the right one
        (lambda: samples.fetch("dog.jpg"), "Cupcakes.jpg"),
    ],
)
def test_bad_names_give_clear_errors(call, message):
    with pytest.raises(SpatialNBError, match=message):
        call()


def test_tour_examples_are_sample_prompts():
    # The notebook's prompts must come from the same lists the panel offers.
    data = json.loads((REPO / "spatial_nb" / "data" / "sample_prompts.json").read_text(encoding="utf-8"))
    for section in data["tour"]:
        ex = samples.example(section)
        assert ex.prompt in samples.prompts_for(ex.name, ex.kind), section
        assert ex.path.is_file()
    assert {"overlay", "search", "multilingual", "reasoning", "masks", "points", "boxes3d"} <= set(data["tour"])


def test_multilingual_and_reasoning_prompts_exist():
    boxes = [p for s in samples.list_samples() for p in s.prompts["boxes"]]
    for language in ("Japanese", "Chinese", "Korean"):
        assert any(language in p for p in boxes), language
    assert sum("label" in p.lower() and ("advice" in p or "reason" in p or "explain" in p.lower()) for p in boxes) >= 3


def test_cookbook_prompts_cover_known_names():
    data = json.loads((REPO / "spatial_nb" / "data" / "sample_prompts.json").read_text(encoding="utf-8"))
    assert set(data["cookbook"]["images"]) == set(samples.COOKBOOK_NAMES)
    assert samples.cookbook_prompts("socks.jpg")[0] == "Show me the positions of the socks with the face"


# -- fetch against a local HTTP server ------------------------------------------------------


class _Server:
    """Serves files from a folder on 127.0.0.1 and counts GET requests per path."""

    def __init__(self, root: Path):
        self.hits: dict[str, int] = {}
        hits = self.hits

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                hits[self.path] = hits.get(self.path, 0) + 1
                super().do_GET()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/images/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def photo_server(tmp_path):
    root = tmp_path / "served"
    (root / "images").mkdir(parents=True)
    (root / "images" / "Cupcakes.jpg").write_bytes(b"\xff\xd8 first version of the cupcakes")
    (root / "images" / "Japanese_Bento.png").write_bytes(b"\x89PNG bento")
    server = _Server(root)
    server.root = root / "images"
    yield server
    server.close()


def test_fetch_downloads_once_then_reuses_cache(photo_server, tmp_path):
    cache = tmp_path / "samples"
    path = samples.fetch("Cupcakes.jpg", cache_dir=cache, base_url=photo_server.url)
    assert path == cache / "Cupcakes.jpg"
    assert path.read_bytes() == b"\xff\xd8 first version of the cupcakes"
    recorded = json.loads((cache / "checksums.json").read_text())
    assert recorded == {"Cupcakes.jpg": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert photo_server.hits == {"/images/Cupcakes.jpg": 1}

    again = samples.fetch("Cupcakes.jpg", cache_dir=cache, base_url=photo_server.url)
    assert again == path
    assert photo_server.hits == {"/images/Cupcakes.jpg": 1}  # no second request
    assert not list(cache.glob(".*tmp"))  # no temp files left behind


def test_fetch_uses_env_cache_dir_and_exact_names(photo_server, tmp_path, monkeypatch):
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(tmp_path / "envcache"))
    path = samples.fetch("Japanese_Bento.png", base_url=photo_server.url.rstrip("/"))
    assert path == tmp_path / "envcache" / "samples" / "Japanese_Bento.png"
    assert photo_server.hits == {"/images/Japanese_Bento.png": 1}


def test_fetch_detects_tampered_cache(photo_server, tmp_path):
    cache = tmp_path / "samples"
    path = samples.fetch("Cupcakes.jpg", cache_dir=cache, base_url=photo_server.url)
    path.write_bytes(b"something else")
    with pytest.raises(SpatialNBError, match=r"does not match.*refresh=True"):
        samples.fetch("Cupcakes.jpg", cache_dir=cache, base_url=photo_server.url)
    # refresh re-downloads the genuine bytes, which match the record again
    fixed = samples.fetch("Cupcakes.jpg", cache_dir=cache, base_url=photo_server.url, refresh=True)
    assert fixed.read_bytes() == b"\xff\xd8 first version of the cupcakes"
    assert samples.fetch("Cupcakes.jpg", cache_dir=cache, base_url=photo_server.url) == fixed


def test_fetch_detects_upstream_change(photo_server, tmp_path):
    cache = tmp_path / "samples"
    samples.fetch("Cupcakes.jpg", cache_dir=cache, base_url=photo_server.url)
    (photo_server.root / "Cupcakes.jpg").write_bytes(b"\xff\xd8 a different photo")
    with pytest.raises(SpatialNBError, match="changed upstream"):
        samples.fetch("Cupcakes.jpg", cache_dir=cache, base_url=photo_server.url, refresh=True)
    # the verified copy is kept, not overwritten by the mismatching download
    assert (cache / "Cupcakes.jpg").read_bytes() == b"\xff\xd8 first version of the cupcakes"
    assert not list(cache.glob(".*tmp"))


def test_fetch_http_error_is_clear(photo_server, tmp_path):
    with pytest.raises(SpatialNBError, match=r"HTTP 404"):
        samples.fetch("spill.jpg", cache_dir=tmp_path / "samples", base_url=photo_server.url)
    assert not (tmp_path / "samples" / "spill.jpg").exists()


def test_fetch_offline_error_names_url_and_internet(tmp_path):
    with socket.socket() as s:  # find a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/images/"
    with pytest.raises(SpatialNBError) as info:
        samples.fetch("socks.jpg", cache_dir=tmp_path / "samples", base_url=base, timeout=5)
    message = str(info.value)
    assert base + "socks.jpg" in message and "internet" in message
    assert not list((tmp_path / "samples").iterdir())  # nothing half-written


def test_unknown_names_are_lookup_errors():
    # The panel treats LookupError as "no sample prompts" instead of crashing.
    with pytest.raises(LookupError):
        samples.prompts_for("my_upload.png", "boxes")
