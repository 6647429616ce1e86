"""Labels in every script render real glyphs (not the missing-glyph box), with per-character fallback."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from spatial_nb import fonts
from spatial_nb.drawing import draw
from spatial_nb.fonts import MissingGlyphWarning, cjk_face, emoji_font_path, latin_font_path, split_runs
from spatial_nb.result import Item, Result
from spatial_nb.text import measure_text, render_text

MISSING = "\U0010fffd"  # private-use plane 16: no font has it
SIZE = 40


def ink(text: str, **kw) -> np.ndarray:
    """Alpha coverage of ``text`` rendered at SIZE, on a fixed canvas so bitmaps compare."""
    tile = render_text(text, SIZE, (0, 0, 0), warn=False, **kw)
    canvas = Image.new("RGBA", (SIZE * 4, SIZE * 2), (0, 0, 0, 0))
    canvas.alpha_composite(tile, (0, 0))
    return np.asarray(canvas)


def tofu() -> np.ndarray:
    return ink(MISSING)


@pytest.mark.parametrize(
    "label,face_index",
    [
        ("ねこ", 0),  # Japanese kana -> JP face
        ("猫", 2),  # Han only -> Simplified Chinese face by default
        ("고양이", 1),  # Korean hangul -> KR face
    ],
)
def test_cjk_labels_render_real_glyphs_from_the_matching_face(label, face_index):
    runs, missing = split_runs(label)
    assert missing == []
    assert [(f.path, f.index) for _, f in runs] == [(fonts.cjk_font_path(), face_index)]
    glyphs = ink(label)[..., 3]
    assert (glyphs > 128).sum() > 50  # real ink
    assert not np.array_equal(glyphs, tofu()[..., 3])


def test_each_character_differs_from_the_missing_glyph_box():
    box = tofu()[..., 3]
    for ch in "猫ねこ고":
        assert not np.array_equal(ink(ch)[..., 3], box), ch


@pytest.mark.parametrize("char", ["直", "骨"])
def test_japanese_and_chinese_forms_differ(char):
    jp, sc = ink(char, lang="jp")[..., 3], ink(char, lang="sc")[..., 3]
    assert (jp > 128).sum() > 50 and (sc > 128).sum() > 50
    assert np.abs(jp.astype(int) - sc.astype(int)).sum() > 255 * 20  # visibly different glyph forms


@pytest.mark.skipif(emoji_font_path() is None, reason="no colour emoji font installed")
def test_emoji_render_in_colour():
    rgba = ink("🐱")
    visible = rgba[..., 3] > 200
    assert visible.sum() > 100
    rgb = rgba[..., :3][visible].astype(int)
    assert (rgb.max(axis=1) - rgb.min(axis=1) > 60).mean() > 0.3  # coloured, not black text
    assert not np.array_equal(rgba[..., 3], tofu()[..., 3])
    width, height = measure_text("🐱", SIZE)
    assert SIZE * 0.8 < width < SIZE * 1.6 and height < SIZE * 1.6  # scaled from 109 px to the label size


def test_mixed_string_uses_several_fonts():
    runs, missing = split_runs("猫 cat 🐱")
    assert missing == []
    faces = [f for _, f in runs]
    assert fonts.Face(latin_font_path()) in faces
    assert any(f.path == fonts.cjk_font_path() for f in faces)
    if emoji_font_path():
        assert any(f.color for f in faces)


def test_lang_option_picks_the_traditional_face():
    assert cjk_face("骨", "tc").index == 3
    assert cjk_face("ひらがな", "tc").index == 0  # kana is Japanese whatever lang says
    with pytest.raises(ValueError, match="lang"):
        cjk_face("骨", "xx")


def test_user_font_wins(tmp_path):
    serif = latin_font_path().replace("DejaVuSans.ttf", "DejaVuSerif.ttf")
    runs, _ = split_runs("abc", font=serif)
    assert runs[0][1].path == serif
    assert not np.array_equal(ink("abc", font=serif)[..., 3], ink("abc")[..., 3])
    with pytest.raises(ValueError, match="font file not found"):
        split_runs("abc", font=str(tmp_path / "nope.ttf"))


def test_missing_glyphs_give_one_clear_warning():
    res = Result([Item(f"a{MISSING}", box=(0, 0, 0.5, 0.5)), Item(f"b{MISSING}\U0010fffc", box=(0.5, 0.5, 1, 1))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw(Image.new("RGB", (200, 200)), res)
    relevant = [w for w in caught if issubclass(w.category, MissingGlyphWarning)]
    assert len(relevant) == 1
    assert "U+10FFFD" in str(relevant[0].message) and "font=" in str(relevant[0].message)


def test_labels_are_drawn_with_cjk_glyphs_in_draw():
    img = Image.new("RGB", (300, 120), (255, 255, 255))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = np.asarray(draw(img, Result([Item("猫 cat", box=(0.1, 0.5, 0.9, 0.9))]), font_size=30))
    chip = out[20:60, 30:120]
    assert len({tuple(p) for p in chip.reshape(-1, 3)}) > 5  # anti-aliased glyph edges on the chip


@pytest.mark.skipif(emoji_font_path() is None, reason="no colour emoji font installed")
@pytest.mark.parametrize(
    "text,colour",
    [
        ("☕", True),  # U+2615 has emoji presentation by default
        ("⚡", True),  # U+26A1 too
        ("☕\ufe0e", False),  # the text-style selector asks for the monochrome glyph
        ("☺", False),  # U+263A is text presentation unless followed by U+FE0F
        ("☺\ufe0f", True),
    ],
)
def test_bmp_emoji_follow_their_default_presentation(text, colour):
    runs, missing = split_runs(text)
    assert missing == []
    assert runs[0][1].color is colour


def _glyph_by_glyph(text: str, size: int, path: str) -> np.ndarray:
    """Reference: every glyph rendered alone by Pillow, max-composited at the rounded sum of the advances."""
    from PIL import ImageFont

    font = ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)
    ascent, descent = font.getmetrics()
    width = int(round(sum(font.getlength(ch) for ch in text)))
    canvas = np.zeros((ascent + descent, max(1, width)), np.uint8)
    pen = 0.0
    for ch in text:
        core, (left, top) = font.getmask2(ch, "L", anchor="ls")
        if core.size[0] and core.size[1]:
            glyph = np.asarray(Image.Image()._new(core))
            x, y = int(pen + 0.5) + left, ascent + top
            x0, y0 = max(x, 0), max(y, 0)
            x1, y1 = min(x + glyph.shape[1], canvas.shape[1]), min(y + glyph.shape[0], canvas.shape[0])
            if x1 > x0 and y1 > y0:
                region = canvas[y0:y1, x0:x1]
                np.maximum(region, glyph[y0 - y : y1 - y, x0 - x : x1 - x], out=region)
        pen += font.getlength(ch)
    return canvas


@pytest.mark.parametrize("size", [9, 11, 14, 22, 43, 86])
def test_lines_composed_from_glyph_blocks_equal_glyph_by_glyph_rendering(size):
    """Issue #13 item 6: a line is composed from advance-wide glyph blocks in one copy (plus the ink that
    reaches past an advance); the pixels are those of rendering and compositing every glyph alone."""
    from spatial_nb.fonts import cjk_font_path, latin_font_path
    from spatial_nb.text import layout_text, text_alpha

    rng = np.random.default_rng(size)
    latin = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-'fjyVAWT()/_"
    cases = [("".join(rng.choice(list(latin), 30)), None) for _ in range(12)]
    cases += [("white frosting with googly eyes 12", None), ("jiffy fjord / (T,V,A)", None)]
    if cjk_font_path():
        cases.append(("猫のカップケーキ、砂糖入れ", cjk_font_path()))
    for text, font in cases:
        text = " ".join(text.split())
        lay = layout_text(text, size, font)
        assert len(lay.runs) == 1
        ours, _ = text_alpha(lay)
        ref = _glyph_by_glyph(text, size, font or latin_font_path())
        assert ours.shape == ref.shape and np.array_equal(ours, ref), (size, text)
