"""to_html: self-contained, inert against hostile labels, one element per item, complete without CSS."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from spatial_nb.html import to_html
from spatial_nb.result import Item, Result

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "\" onmouseover=\"alert(1)",
    "' onload='alert(1)",
    "</svg><script>alert(2)</script>",
    "</text></g></svg></div><iframe src=//evil>",
    "a & b < c > d",
]


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.texts: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.texts.append(data)


def parse(fragment: str) -> Collector:
    c = Collector()
    c.feed(fragment)
    c.close()
    return c


def mixed_result() -> Result:
    mask = np.zeros((20, 20), np.uint8)
    mask[5:15, 5:15] = 255
    return Result(
        [
            Item("cat", box=(0.1, 0.1, 0.5, 0.5)),
            Item("blob", box=(0.5, 0.5, 0.9, 0.9), mask=mask),
            Item("dot", point=(0.3, 0.7)),
            Item("cube", box3d=(0, 5, 0, 1, 1, 1, 0, 0, 0)),
            Item("sock", extra={"in_frame": False}),
        ]
    )


def test_hostile_labels_are_inert_and_survive_as_text():
    res = Result([Item(label, box=(0.1 * i, 0.1, 0.1 * i + 0.1, 0.3)) for i, label in enumerate(HOSTILE)])
    fragment = to_html(Image.new("RGB", (400, 300)), res)
    doc = parse(fragment)
    names = [t for t, _ in doc.tags]
    assert "script" not in names and "img" not in names and "iframe" not in names
    for _tag, attrs in doc.tags:
        assert not any(k.startswith("on") for k in attrs), attrs
    assert fragment.count("</svg>") == 1 and fragment.count("</div>") == 1
    texts = "".join(doc.texts)
    for label in HOSTILE:
        assert label in texts  # the exact string reached the page, as text
    titles = [attrs.get("data-label") for t, attrs in doc.tags if t == "g" and "snb-item" in attrs.get("class", "")]
    assert sorted(titles) == sorted(HOSTILE)


def test_one_element_per_item_and_self_contained():
    res = mixed_result()
    fragment = to_html(Image.new("RGB", (640, 480), (50, 60, 70)), res)
    doc = parse(fragment)
    items = [a for t, a in doc.tags if t == "g" and "snb-item" in a.get("class", "").split()]
    assert len(items) == len(res)
    assert sorted(int(a["data-index"]) for a in items) == list(range(len(res)))
    assert "<script" not in fragment.lower()
    urls = re.findall(r'(?:href|src)="([^"]*)"', fragment)
    assert urls and all(u.startswith("data:image/") for u in urls)
    assert "http://www.w3.org/2000/svg" in fragment  # the namespace is the only URL-like text
    assert len(re.findall(r"https?://", fragment)) == 1


def test_overlay_is_complete_without_style():
    fragment = to_html(Image.new("RGB", (640, 480)), mixed_result())
    stripped = re.sub(r"<style>.*?</style>", "", fragment, flags=re.S)
    doc = parse(stripped)
    rects = [a for t, a in doc.tags if t == "rect" and "snb-box" in a.get("class", "")]
    assert rects and all(a["stroke"] for a in rects)
    assert any(t == "line" and a.get("stroke", "").startswith("#") for t, a in doc.tags)
    assert any(t == "circle" for t, _ in doc.tags)
    assert all("fill" in a for t, a in doc.tags if t == "text")


def test_hover_css_is_scoped_by_unique_id():
    with pytest.warns(UserWarning, match="does not fit inside the 64x64"):  # five labels: the legend is cut
        a = to_html(Image.new("RGB", (64, 64)), mixed_result())
        b = to_html(Image.new("RGB", (64, 64)), mixed_result())
    id_a = re.search(r'id="(snb-[0-9a-f]+)"', a).group(1)
    id_b = re.search(r'id="(snb-[0-9a-f]+)"', b).group(1)
    assert id_a != id_b
    css = re.search(r"<style>(.*?)</style>", a, re.S).group(1)
    assert all(rule.strip().startswith(f"#{id_a}") for rule in css.split("}") if rule.strip())
    assert ":hover" in css and "opacity" in css


def test_image_is_a_bounded_jpeg_with_full_resolution_viewbox():
    fragment = to_html(Image.new("RGB", (4000, 3000), (200, 10, 10)), Result([Item("a", box=(0, 0, 1, 1))]))
    assert 'viewBox="0 0 4000 3000"' in fragment
    payload = re.search(r'href="data:image/jpeg;base64,([^"]+)"', fragment).group(1)
    assert Image.open(io.BytesIO(base64.b64decode(payload))).size == (1280, 960)


def test_mask_is_embedded_as_tinted_png_inside_its_box():
    res = mixed_result()
    fragment = to_html(Image.new("RGB", (640, 480)), res)
    m = re.search(r'<image href="data:image/png;base64,([^"]+)" x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"', fragment)
    assert m and tuple(int(v) for v in m.groups()[1:]) == (320, 240, 256, 192)
    png = np.asarray(Image.open(io.BytesIO(base64.b64decode(m.group(1)))))
    assert png.shape == (192, 256, 4)  # the 20x20 mask at its box's size on screen (640 px: no downscale)
    assert png[96, 128, 3] == round(0.45 * 255) and png[0, 0, 3] == 0  # fill inside, nothing outside


def _mask_pngs(fragment: str) -> list[np.ndarray]:
    found = re.findall(r'<image href="data:image/png;base64,([^"]+)"', fragment)
    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(b64)))) for b64 in found]


def test_big_box_local_mask_is_encoded_at_its_displayed_size_with_a_crisp_outline():
    """Issue #13 (speed): a polygon rasterised on a 4K grid arrives as a large box-local map; the page carries
    it at the size it is shown (the overlay is 1280 px wide: a third of 3840), outline one screen pixel."""
    width, height = 3840, 2160
    box = (0.1, 0.4, 0.9, 0.5)  # 3072 x 216 picture pixels
    yy, xx = np.mgrid[0:216, 0:3072]
    ellipse = ((((xx - 1535.5) / 1536) ** 2 + ((yy - 107.5) / 108) ** 2) <= 1).astype(np.uint8) * 255
    fragment = to_html(Image.new("RGB", (width, height)), Result([Item("wide", box=box, mask=ellipse)]))
    (png,) = _mask_pngs(fragment)
    assert png.shape == (72, 1024, 4)  # 3072 x 216 / 3
    alpha = png[..., 3]
    assert alpha[36, 512] == round(0.45 * 255)  # fill in the middle
    assert alpha[36, 0] == 255 and alpha[0, 512] == 255  # the outline, at the ellipse's edge
    assert alpha[36, 1] != 255 and alpha[1, 512] != 255  # one pixel wide
    assert alpha[0, 0] == 0 and alpha[71, 1023] == 0  # corners outside the ellipse


def test_polygon_and_png_answers_for_the_same_shapes_embed_masks_of_the_same_size():
    """The mask bytes depend on the displayed size, not on how finely the model's mask was rasterised."""
    mask_small = np.zeros((64, 64), np.uint8)
    mask_small[8:56, 8:56] = 255
    mask_big = np.asarray(Image.fromarray(mask_small).resize((1536, 864), Image.Resampling.NEAREST))
    picture = Image.new("RGB", (3840, 2160))
    small = to_html(picture, Result([Item("a", box=(0.2, 0.2, 0.6, 0.6), mask=mask_small)]))
    big = to_html(picture, Result([Item("a", box=(0.2, 0.2, 0.6, 0.6), mask=mask_big)]))
    (a,), (b,) = _mask_pngs(small), _mask_pngs(big)
    assert a.shape == b.shape == (288, 512, 4)
    assert (a[..., 3] > 0).sum() == pytest.approx((b[..., 3] > 0).sum(), rel=0.02)
    assert abs(len(small) - len(big)) < 0.05 * len(small)


def test_point_label_near_the_right_edge_goes_left_of_the_dot():
    res = Result([Item("corner label", point=(0.99, 0.5)), Item("free", point=(0.1, 0.5))])
    doc = parse(to_html(Image.new("RGB", (300, 200)), res, point_radius=4))
    circles = [a for t, a in doc.tags if t == "circle" and a.get("fill") != "#ffffff"]
    chips = [a for t, a in doc.tags if t == "rect" and a.get("class") == "snb-chip"]
    (near, far), (chip_near, chip_far) = circles, chips  # smaller-first sorting keeps the item order for points
    assert float(chip_near["x"]) + float(chip_near["width"]) < float(near["cx"]) - 4  # left of the dot
    assert float(chip_far["x"]) > float(far["cx"]) + 4  # room on the right: right of the dot


# -- issue #13: the same layout as draw, CJK fonts, hover cards; issue #14: displays itself --------


def test_to_html_is_a_str_that_displays_itself():
    import json

    frag = to_html(Image.new("RGB", (64, 48)), Result([Item("cat", box=(0.1, 0.1, 0.5, 0.5))]))
    assert isinstance(frag, str)
    assert frag._repr_html_() == str(frag) and str(frag).startswith('<div class="snb-overlay"')
    assert len(repr(frag)) < 100 and "overlay" in repr(frag)  # not 80 kB of escaped markup in text/plain
    assert ("<p>" + frag).endswith("</div>") and json.loads(json.dumps(frag)) == str(frag)


def _font_faces(fragment: str) -> dict[str, bytes]:
    faces = re.findall(r'@font-face\{font-family:"([^"]+)";src:url\(data:font/woff2;base64,([^)]+)\)', fragment)
    return {family: base64.b64decode(data) for family, data in faces}


def test_cjk_labels_carry_a_font_subset_with_only_their_glyphs():
    from fontTools.ttLib import TTFont

    res = Result([Item("猫 ねこ", box=(0.1, 0.1, 0.5, 0.5)), Item("dog", box=(0.6, 0.6, 0.9, 0.9))])
    fragment = to_html(Image.new("RGB", (320, 240)), res)
    faces = _font_faces(fragment)
    assert len(faces) == 1  # one CJK face (kana: the Japanese one); Latin needs no embedding
    (family, data), = faces.items()
    font = TTFont(io.BytesIO(data))
    cmap = set(font.getBestCmap())
    assert {ord(c) for c in "猫ねこ"} <= cmap and len(cmap) <= 8  # the label's glyphs, not 65 000
    assert len(data) < 20_000
    doc = parse(fragment)
    cjk_text = [a for t, a in doc.tags if t == "text" and family in a.get("font-family", "")]
    assert cjk_text and all(a.get("class") == "snb-t" for a in cjk_text)
    latin_only = to_html(Image.new("RGB", (320, 240)), Result([Item("dog", box=(0.1, 0.1, 0.5, 0.5))]))
    assert "@font-face" not in latin_only


def test_where_style_is_stripped_cjk_labels_fall_back_to_glyph_outlines():
    res = Result([Item("猫猫 ねこ", box=(0.1, 0.3, 0.5, 0.7))])
    fragment = to_html(Image.new("RGB", (320, 240)), res)
    css = re.search(r"<style>(.*?)</style>", fragment, re.S).group(1)
    assert ".snb-t{opacity:1}" in css and ".snb-g{display:none}" in css  # with the style: text, outlines hidden
    stripped = re.sub(r"<style>.*?</style>", "", fragment, flags=re.S)
    doc = parse(stripped)
    chip_text = [a for t, a in doc.tags if t == "text" and a.get("class") == "snb-t"]
    assert chip_text and all(a["opacity"] == "0" for a in chip_text)  # without it: the text is transparent ...
    uses = [a for t, a in doc.tags if t == "use"]
    paths = {a["id"]: a["d"] for t, a in doc.tags if t == "path" and "id" in a}
    assert len(paths) == 3  # 猫, ね, こ: each outline defined once
    assert all(a["href"].lstrip("#") in paths for a in uses)  # ... and the outlines are drawn
    assert all(re.fullmatch(r"[MLHVQCTSZ0-9 \-]+", d) for d in paths.values())  # path data: commands and numbers only


def test_hover_card_holds_the_full_label():
    label = "This white marble-patterned countertop needs to be wiped clean of the spill. " * 3
    res = Result([Item(label, box=(0.1, 0.1, 0.3, 0.3)), Item("knife", box=(0.5, 0.5, 0.7, 0.7))])
    fragment = to_html(Image.new("RGB", (640, 480)), res)
    card = re.search(r'<g class="snb-hovercard snb-k0" display="none"[^>]*>(.*?)</g>', fragment, re.S).group(1)
    lines = re.findall(r"<text[^>]*>([^<]*)</text>", card)
    assert " ".join(lines) == " ".join(label.split())  # the whole label, wrapped, nothing cut
    css = re.search(r"<style>(.*?)</style>", fragment, re.S).group(1)
    assert "svg:has(.snb-k0.snb-hov:hover) .snb-hovercard.snb-k0{display:inline}" in css
    assert "…" not in fragment
