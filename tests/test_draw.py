"""Pixel tests for snb.draw: box edges, masks, points, 3D wireframes, EXIF, colours, warnings."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from PIL import Image, ImageDraw

from spatial_nb.colors import item_colors
from spatial_nb.drawing import draw
from spatial_nb.geometry import box_to_pixels
from spatial_nb.projection import box3d_segments
from spatial_nb.result import Item, Result

BG = (0, 0, 0)


def blank(width: int, height: int, color=BG) -> Image.Image:
    return Image.new("RGB", (width, height), color)


@pytest.mark.parametrize(
    "width,height,line_width",
    [
        (64, 48, 1),  # tiny, thinnest line
        (640, 480, 2),  # VGA, default-ish width
        (999, 333, 3),  # odd sizes: rounding of fractions matters
        (1920, 1080, 5),  # HD, thick line
    ],
)
def test_box_edges_at_the_right_pixels(width, height, line_width):
    box = (0.2, 0.25, 0.7, 0.8)
    res = Result([Item("thing", box=box)])
    out = np.asarray(draw(blank(width, height), res, show_labels=False, line_width=line_width))
    color = item_colors(list(res))[0]
    x0, y0, x1, y1 = box_to_pixels(box, width, height)
    ym, xm = (y0 + y1) // 2, (x0 + x1) // 2
    for x, y in [(x0, ym), (x1 - 1, ym), (xm, y0), (xm, y1 - 1), (x0 + line_width - 1, ym)]:
        assert tuple(out[y, x]) == color, (x, y)
    for x, y in [(x0 - 1, ym), (x1, ym), (xm, y0 - 1), (xm, y1), (x0 + line_width, ym), (xm, ym)]:
        assert tuple(out[y, x]) == BG, (x, y)


def test_returns_new_image_and_leaves_input_untouched():
    img = blank(120, 80, (10, 20, 30))
    before = img.tobytes()
    out = draw(img, Result([Item("a", box=(0.1, 0.1, 0.9, 0.9))]))
    assert out is not img and out.size == img.size and out.mode == "RGB"
    assert img.tobytes() == before
    arr = np.full((80, 120, 3), 7, np.uint8)
    draw(arr, Result([Item("a", box=(0.1, 0.1, 0.9, 0.9))]))
    assert (arr == 7).all()


def ellipse_mask(width: int, height: int) -> np.ndarray:
    m = Image.new("L", (width, height), 0)
    ImageDraw.Draw(m).ellipse((0, 0, width - 1, height - 1), fill=255)
    return np.asarray(m)


@pytest.mark.parametrize(
    "box,mask_shape,exact",
    [
        ((0.1, 0.2, 0.4, 0.6), (100, 100), True),  # box 120x120 from 100x100: contract path, exact
        ((0.05, 0.05, 0.95, 0.9), (256, 256), False),  # 360x255 from 256x256 (big upscale): fast path
        ((0.5, 0.5, 0.6, 0.9), (256, 256), True),  # downscale
    ],
)
def test_mask_coverage_matches_decoded_mask(box, mask_shape, exact):
    width, height = 400, 300
    item = Item("blob", box=box, mask=ellipse_mask(*mask_shape[::-1]))
    out = np.asarray(draw(blank(width, height), Result([item]), show_labels=False, mask_alpha=1.0, mask_outline=False))
    color = item_colors([item])[0]
    painted = (out == color).all(axis=2)
    expected = item.mask_full(width, height)
    assert not (painted & ~_box_region(box, width, height)).any()  # nothing outside the box
    if exact:
        assert np.array_equal(painted, expected)
    else:
        iou = (painted & expected).sum() / (painted | expected).sum()
        assert iou > 0.98


def _box_region(box, width, height):
    x0, y0, x1, y1 = box_to_pixels(box, width, height)
    region = np.zeros((height, width), bool)
    region[y0:y1, x0:x1] = True
    return region


def test_mask_is_translucent_and_outlined():
    item = Item("blob", box=(0.1, 0.1, 0.9, 0.9), mask=ellipse_mask(50, 50))
    out = np.asarray(draw(blank(200, 200, (100, 100, 100)), Result([item]), show_labels=False, mask_alpha=0.5, line_width=4))
    color = np.array(item_colors([item])[0])
    centre = out[100, 100].astype(int)
    assert np.abs(centre - np.rint(100 * 0.5 + color * 0.5)).max() <= 1
    assert tuple(out[100, 21]) == tuple(color)  # the outline on the left edge of the ellipse
    assert tuple(out[5, 5]) == (100, 100, 100)


def test_colour_by_index_and_by_label():
    items = [Item("cup", box=(0.0, 0.0, 0.4, 0.4), extra={"index": 0}), Item("cup", box=(0.5, 0.5, 0.9, 0.9), extra={"index": 1})]
    a, b = item_colors(items)
    assert a != b
    a, b = item_colors(items, "label")
    assert a == b
    out = np.asarray(draw(blank(100, 100), Result(items), show_labels=False, color_by="label"))
    assert tuple(out[20, 0]) == tuple(out[70, 50])


def test_point_dot_with_white_ring():
    res = Result([Item("here", point=(0.5, 0.5))])
    out = np.asarray(draw(blank(300, 300), res, show_labels=False, point_radius=10))
    assert tuple(out[150, 150]) == item_colors(list(res))[0]
    assert tuple(out[150, 150 + 12]) == (255, 255, 255)  # ring between r=10 and r=14
    assert tuple(out[150, 150 + 20]) == BG


def test_label_chip_stays_inside_the_image():
    label = "a very long label that would not fit next to the right edge"
    res = Result([Item(label, box=(0.9, 0.0, 1.0, 0.1))])
    out = np.asarray(draw(blank(300, 200), res))
    color = item_colors(list(res))[0]
    chip = (out == color).all(axis=2)
    ys, xs = np.nonzero(chip)
    assert xs.min() < 200  # the chip was moved left so that it fits
    assert chip[:, -1].any() and chip[0, :].any()  # and still touches the borders, not beyond


def test_offframe_items_listed_in_legend_without_warning():
    res = Result([Item("left sock", extra={"in_frame": False}), Item("right sock", point=(0.5, 0.5))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = np.asarray(draw(blank(400, 300), res))
    color = item_colors(list(res))[0]
    assert (out[150:, :200] == color).all(axis=2).any()  # legend chip bottom-left


def test_3d_box_corners_drawn_at_hand_computed_pixels():
    # Centre 5 m ahead, 2 m cube, FOV 90 on 640x480: f = 320; near face at y=4 -> u = 320 +- 80, v = 240 -+ 80.
    res = Result([Item("cube", box3d=(0, 5, 0, 2, 2, 2, 0, 0, 0))])
    out = np.asarray(draw(blank(640, 480), res, fov=90, show_labels=False, line_width=2))
    color = item_colors(list(res))[0]
    for u, v in [(240, 160), (400, 160), (240, 320), (400, 320), (267, 187), (373, 293)]:
        assert tuple(out[v, u]) == color, (u, v)
    assert tuple(out[240, 320]) == BG  # the centre of the cube is empty
    assert tuple(out[240, 100]) == BG


def test_3d_box_partly_behind_camera_draws_no_wild_lines():
    # x in [0, 2], y in [-0.4, 1.6]: four corners are behind the camera. A naive projection
    # flips them to the far left (u = 320 + 320 * 2 / -0.4 = -1280); clipped, nothing is left of u = 320.
    box3d = (1.0, 0.6, 0.0, 2.0, 2.0, 2.0, 0, 0, 0)
    res = Result([Item("close", box3d=box3d)])
    out = np.asarray(draw(blank(640, 480), res, fov=90, show_labels=False, line_width=2))
    painted = (out != 0).any(axis=2)
    assert painted.any()
    assert not painted[:, : 320 - 4].any()
    segments, _ = box3d_segments(box3d, 640, 480, 90)
    assert segments[..., 0].min() >= 320 - 1e-6


def test_3d_box_fully_behind_camera_draws_no_lines_and_is_listed_in_the_legend():
    from spatial_nb.labels import label_boxes

    res = Result([Item("behind", box3d=(0, -5, 0, 1, 1, 1, 0, 0, 0))])
    out = np.asarray(draw(blank(200, 100), res, legend=False))
    assert not out.any()  # no wireframe at all
    # nothing hidden: by default its label is listed in the legend, like an item not in frame
    (entry,) = label_boxes(blank(200, 100), res)
    assert entry.kind == "legend" and entry.lines == ("behind",)


def exif_rotated_jpeg() -> tuple[bytes, tuple[float, float, float, float]]:
    """A portrait photo (100x200 upright, red square at the top) stored landscape + EXIF orientation 6."""
    upright = Image.new("RGB", (100, 200), (0, 0, 255))
    ImageDraw.Draw(upright).rectangle((20, 20, 79, 79), fill=(255, 0, 0))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote: 200x100
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", exif=exif, quality=95)
    return buf.getvalue(), (0.2, 0.1, 0.8, 0.4)  # the red square in upright coordinates


@pytest.mark.parametrize("as_type", ["path", "bytes", "pil"])
def test_exif_rotated_photo_gets_boxes_on_the_right_object(tmp_path, as_type):
    data, red_box = exif_rotated_jpeg()
    path = tmp_path / "photo.jpg"
    path.write_bytes(data)
    image = {"path": str(path), "bytes": data, "pil": Image.open(path)}[as_type]
    res = Result([Item("red square", box=red_box)], image_size=(100, 200))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no aspect warning: the upright picture matches
        out = draw(image, res, show_labels=False, line_width=1)
    assert out.size == (100, 200)
    arr = np.asarray(out).astype(int)
    color = item_colors(list(res))[0]
    assert tuple(arr[50, 20]) == color and tuple(arr[50, 79]) == color  # box edges around the red square
    assert abs(arr[50, 50] - (255, 0, 0)).max() < 40  # inside: the red object itself


def test_aspect_ratio_warning():
    res = Result([Item("a", box=(0.1, 0.1, 0.5, 0.5))], image_size=(640, 480))
    with pytest.warns(UserWarning, match="aspect"):
        draw(blank(640, 640), res)
    with pytest.warns(UserWarning, match="rotated"):
        draw(blank(480, 640), res)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw(blank(1280, 960), res)  # same picture, other size: fine
        draw(blank(1280, 955), res)  # within 2%


def test_unknown_style_option_is_a_clear_error():
    with pytest.raises(TypeError, match="did you mean 'line_width'"):
        draw(blank(10, 10), Result([]), linewidth=3)
    with pytest.raises(ValueError, match="mask_alpha"):
        draw(blank(10, 10), Result([]), mask_alpha=3)


# -- mask painting internals (spatial_nb._maskpaint): threads, stripes, exact-path outline --


def _overlapping_mask_items(n: int = 12, seed: int = 3) -> list[Item]:
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        w, h = rng.uniform(0.1, 0.6, 2)
        x0, y0 = rng.uniform(0, 1 - w), rng.uniform(0, 1 - h)
        soft = rng.integers(0, 256, (int(rng.integers(8, 64)), int(rng.integers(8, 64))), dtype=np.uint8)
        mask = ellipse_mask(64, 48) if i % 2 else soft  # binary and soft (noisy) probability maps
        items.append(Item(f"m{i}", box=(x0, y0, x0 + w, y0 + h), mask=mask, extra={"index": i}))
    return items


@pytest.mark.parametrize("alpha,outline", [(0.45, True), (1.0, False), (0.0, True), (0.3, False)])
def test_threaded_mask_painting_equals_serial(alpha, outline):
    from spatial_nb._maskpaint import MaskJob, paint_masks

    width, height = 640, 400
    items = _overlapping_mask_items()
    colors = item_colors(items)
    jobs = [MaskJob(box_to_pixels(it.box, width, height), it.mask, c) for it, c in zip(items, colors)]
    base = Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    serial, threaded = base.copy(), base.copy()
    paint_masks(serial, jobs, alpha, 3 if outline else 0, parallel=False)
    paint_masks(threaded, jobs, alpha, 3 if outline else 0, parallel=True)  # two row stripes, masks in order
    assert serial.tobytes() == threaded.tobytes()
    assert (serial.tobytes() != base.tobytes()) == (alpha > 0 or outline)


def test_big_frame_draw_uses_threads_and_matches_serial(monkeypatch):
    import spatial_nb._maskpaint as maskpaint

    boxes = [Item(f"box {i} 猫", box=(0.1 * i, 0.45, 0.1 * i + 0.3, 0.55), extra={"index": 10 + i}) for i in range(7)]
    items = _overlapping_mask_items(6) + boxes  # outlines and chips cross the stripe split too
    img = Image.fromarray(np.random.default_rng(1).integers(0, 256, (900, 1600, 3), dtype=np.uint8))
    pool_calls = []
    get_pool = maskpaint._get_pool
    monkeypatch.setattr(maskpaint, "_get_pool", lambda: pool_calls.append(1) or get_pool())
    threaded = draw(img, Result(items))
    assert pool_calls or maskpaint._workers() == 1
    monkeypatch.setattr(maskpaint, "PARALLEL_MIN_PIXELS", 10**12)
    assert draw(img, Result(items)).tobytes() == threaded.tobytes()


def test_thin_boxes_stay_inside_their_half_open_box():
    for box in [(0.1, 0.5, 0.4, 0.51), (0.5, 0.1, 0.505, 0.9)]:  # 1 px tall, 1 px wide at 200x100
        out = np.asarray(draw(blank(200, 100), Result([Item("t", box=box)]), show_labels=False, line_width=3))
        painted = (out != 0).any(axis=2)
        assert painted.any() and not (painted & ~_box_region(box, 200, 100)).any()


def test_points_and_3d_boxes_keep_drawing_order_with_big_masks():
    items = _overlapping_mask_items(4) + [
        Item("dot", point=(0.5, 0.5), extra={"index": 20}),
        Item("", box3d=(0.6, 2.0, 0, 0.3, 0.3, 0.3, 0, 0, 0), extra={"index": 21}),  # wireframe right of the dot
    ]
    img = Image.fromarray(np.random.default_rng(2).integers(0, 256, (900, 1600, 3), dtype=np.uint8))
    out = np.asarray(draw(img, Result(items)))
    color = item_colors(items)[4]
    assert tuple(out[450, 800]) == color  # the dot is drawn over the masks


@pytest.mark.parametrize(
    "size,exact",
    [
        ((120, 110), True),  # small upscale of a 100x100 mask: bilinear contract path
        ((70, 130), True),  # downscale in one axis
        ((400, 300), False),  # big upscale: binarise then nearest
    ],
)
def test_outline_lies_inside_the_fill_and_hugs_its_edge(size, exact):
    from spatial_nb._maskpaint import box_alpha
    from spatial_nb.masks import resize_mask

    width, height = size
    mask = ellipse_mask(100, 100)
    alpha = np.asarray(box_alpha(mask, width, height, 100, 3))
    assert set(np.unique(alpha)) <= {0, 100, 255}
    filled, ring = alpha > 0, alpha == 255
    if exact:
        assert np.array_equal(filled, resize_mask(mask, width, height) > 127)
    # every fill pixel next to the outside (or the box edge) is outline
    padded = np.pad(filled, 1)
    edge = filled & ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
    assert ring[edge].all()
    assert 0 < ring.sum() < filled.sum() / 2


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_threaded_masks_work_in_a_forked_child():
    import multiprocessing

    item = _overlapping_mask_items(8)  # over PARALLEL_MIN_PIXELS: painted with the worker thread
    img = Image.fromarray(np.random.default_rng(4).integers(0, 256, (900, 1600, 3), dtype=np.uint8))
    expected = draw(img, Result(item), show_labels=False).tobytes()  # starts the worker thread here
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:  # the child must not wait for the parent's (absent) worker thread
        got = pool.apply_async(_draw_bytes, (img, item)).get(timeout=60)
    assert got == expected


def _draw_bytes(img, items):
    return draw(img, Result(items), show_labels=False).tobytes()


@pytest.mark.parametrize("point", [(0.99, 0.99), (0.98, 0.5), (0.995, 0.02)])  # near the right edge
def test_point_label_near_the_right_edge_does_not_cover_its_dot(point):
    res = Result([Item("corner label", point=point)])
    width, height = 300, 200
    out = np.asarray(draw(blank(width, height), res, point_radius=4))
    px, py = box_to_pixels((*point, *point), width, height)[:2]
    px, py = min(px, width - 1), min(py, height - 1)
    assert tuple(out[py, px]) == item_colors(list(res))[0]
    assert tuple(out[py, px - 5]) == (255, 255, 255)  # the white ring (radius 4..6) stays visible
    chip = (out == item_colors(list(res))[0]).all(axis=2)
    assert chip[:, : px - 6].any()  # the chip went to the left of the dot


def test_small_mask_inside_a_big_one_stays_visible_whatever_the_order():
    small = Item("crema", box=(0.4, 0.4, 0.6, 0.6), mask=ellipse_mask(32, 32), extra={"index": 0})
    big = Item("saucer", box=(0.1, 0.1, 0.9, 0.9), mask=ellipse_mask(64, 64), extra={"index": 1})
    for items in ([small, big], [big, small]):
        out = np.asarray(draw(blank(200, 200), Result(items), show_labels=False, mask_alpha=1.0, mask_outline=False))
        assert tuple(out[100, 100]) == item_colors([small])[0]  # bigger masks are painted first
        assert tuple(out[30, 100]) == item_colors([small, big])[1]


# -- issue #13 item 6: the fast paths draw exactly what the plain Pillow operations draw -------------


@pytest.mark.parametrize(
    "size, label",
    [
        ((640, 480), "chip {k} Épée 猫"),
        ((2560, 1920), "a long chip {k} with ñ and ü, wrapped or not"),  # big chips: only the rows with ink are
        # converted (found in the pixels)
        ((2560, 1920), "a long plain chip {k}, wrapped or not"),  # ... (known from the glyph cells)
    ],
)
def test_chips_are_their_colour_with_the_text_blended_in_exactly(size, label):
    """A chip is painted as a palette image: the same pixels as filling it and blending the text colour
    through the text's coverage with Pillow (one chip per colour of the palette, black and white text)."""
    from spatial_nb import drawing
    from spatial_nb.colors import text_color_for
    from spatial_nb.labels import label_boxes
    from spatial_nb.text import layout_text, text_alpha

    rng = np.random.default_rng(7)
    picture = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    res = Result([Item(label.format(k=k), box=(0.05 + 0.045 * k, 0.1 + 0.04 * k, 0.1 + 0.045 * k, 0.15 + 0.04 * k))
                  for k in range(19)])
    drawing.clear_label_caches()
    out = draw(picture, res, show_boxes=False)
    if size[0] > 640:  # the test covers chips whose coverage was cut to its inked rows
        assert any(entry[2][1] > 0 for entry in drawing._COVERAGE.values())
    chips = [p for p in label_boxes(picture, res) if p.kind == "label"]
    assert len(chips) == 19
    for p in chips:
        x0, y0, x1, y1 = p.box
        ref = Image.new("RGB", (x1 - x0, y1 - y0), p.color)
        for k, line in enumerate(p.lines):
            lay = layout_text(line, p.font_size)
            alpha, _ = text_alpha(lay)
            top = p.text_y + k * p.line_height + p.ascent - lay.ascent
            ref.paste(text_color_for(p.color), (p.text_x, top, p.text_x + alpha.shape[1], top + alpha.shape[0]), Image.fromarray(alpha))
        assert np.array_equal(np.asarray(out.crop(p.box)), np.asarray(ref)), p


def test_chip_palette_rounds_like_pillows_blend_for_every_opacity():
    from spatial_nb.drawing import _gradient

    coverage = Image.fromarray(np.arange(256, dtype=np.uint8).reshape(16, 16))
    rng = np.random.default_rng(3)
    for _ in range(50):
        chip, ink = (tuple(int(v) for v in rng.integers(0, 256, 3)) for _ in range(2))
        blended = Image.new("RGB", (16, 16), chip)
        blended.paste(ink, (0, 0, 16, 16), coverage)
        tile = coverage.copy()
        tile.putpalette(_gradient(chip, ink))
        assert np.array_equal(np.asarray(tile.convert("RGB")), np.asarray(blended)), (chip, ink)


@pytest.mark.parametrize(
    "box,line_width",
    [
        ((0.1, 0.1, 0.15, 0.13), 3),  # short
        ((0.1, 0.05, 0.9, 0.95), 7),  # tall
        ((0.4, 0.4, 0.41, 0.9), 7),  # narrower than two line widths: filled
    ],
)
def test_box_outline_is_the_imagedraw_rectangle(box, line_width):
    res = Result([Item("thing", box=box)])
    out = draw(blank(1920, 1080), res, show_labels=False, line_width=line_width)
    ref = blank(1920, 1080)
    x0, y0, x1, y1 = box_to_pixels(box, 1920, 1080)
    w = min(line_width, max(1, (min(x1 - x0, y1 - y0) + 1) // 2))
    if min(x1 - x0, y1 - y0) <= 2 * w:
        ImageDraw.Draw(ref).rectangle((x0, y0, x1 - 1, y1 - 1), fill=item_colors(list(res))[0])
    else:
        ImageDraw.Draw(ref).rectangle((x0, y0, x1 - 1, y1 - 1), outline=item_colors(list(res))[0], width=w)
    assert np.array_equal(np.asarray(out), np.asarray(ref))
