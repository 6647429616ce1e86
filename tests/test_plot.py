"""matplotlib views: plot draws every item, CJK labels find glyphs, plot_grid compares results."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from spatial_nb.plotting import plot, plot_grid  # noqa: E402
from spatial_nb.result import Item, Result  # noqa: E402


def result() -> Result:
    mask = np.zeros((10, 10), np.uint8)
    mask[2:8, 2:8] = 255
    return Result(
        [
            Item("猫 cat", box=(0.1, 0.1, 0.4, 0.4)),
            Item("ねこ", box=(0.5, 0.1, 0.9, 0.4)),
            Item("고양이", box=(0.1, 0.5, 0.4, 0.9), mask=mask),
            Item("dot", point=(0.7, 0.7)),
            Item("cube", box3d=(0, 5, 0, 1, 1, 1, 0, 0, 0)),
            Item("sock", extra={"in_frame": False}),
        ]
    )


def test_plot_draws_every_item_and_cjk_labels_have_glyphs():
    import matplotlib.pyplot as plt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ax = plot(Image.new("RGB", (320, 240), (90, 90, 90)), result())
        ax.figure.canvas.draw()
    missing = [str(w.message) for w in caught if "missing" in str(w.message).lower()]
    assert missing == []
    assert [p.get_gid() for p in ax.patches].count("snb-box") == 2  # the two plain boxes
    assert len(ax.images) == 2  # the photo + one box-local mask
    # labels are vector glyph outlines (so they scale with the Axes like their chips), one patch per line
    texts = {p.get_label() for p in ax.patches if (p.get_gid() or "").endswith("-text")}
    assert {"猫 cat", "ねこ", "고양이", "dot", "cube", "sock"} <= texts
    plt.close(ax.figure)


def test_plot_grid_compares_results():
    import matplotlib.pyplot as plt

    img = Image.new("RGB", (200, 100))
    a = Result([Item("a", box=(0.1, 0.1, 0.5, 0.5))])
    b = Result([Item("b", box=(0.2, 0.2, 0.6, 0.6)), Item("c", point=(0.5, 0.5))])
    fig = plot_grid(img, [a, b, a], titles=["t=0", "t=0.5", "t=1"], ncols=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["t=0 (1)", "t=0.5 (2)", "t=1 (1)"]
    assert len(fig.axes) == 4
    plt.close(fig)
    with pytest.raises(ValueError, match="titles"):
        plot_grid(img, [a, b], titles=["only one"])


@pytest.mark.parametrize("width,height", [(600, 400), (400, 600)])
def test_labels_near_the_edges_stay_inside_the_image(width, height):
    import matplotlib.pyplot as plt

    res = Result(
        [
            Item("top-left box label", box=(0.0, 0.0, 0.2, 0.2)),  # no room above the box
            Item("a long label on a box at the top right", box=(0.85, 0.0, 1.0, 0.1)),
            Item("bottom box", box=(0.0, 0.9, 0.1, 1.0)),
            Item("corner point", point=(0.99, 0.99)),
            Item("top point", point=(0.5, 0.0)),
            Item("cube far right", box3d=(3, 5, 0, 1, 1, 1, 0, 0, 0)),  # centre projects off the frame
        ]
    )
    ax = plot(Image.new("RGB", (width, height)), res)
    fig = ax.figure
    fig.canvas.draw()
    frame = ax.get_window_extent()
    chips = [p for p in ax.patches if p.get_gid() == "snb-chip"]
    texts = [p for p in ax.patches if p.get_gid() == "snb-label-text"]
    assert len(chips) == len(res) and len(texts) >= len(res)
    for patch in chips + texts:
        box = patch.get_window_extent()
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, patch.get_label()
        assert frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, patch.get_label()
    plt.close(fig)


def test_figure_size_is_capped_whatever_the_picture_shape():
    # Regression: a 3x2000 picture asked matplotlib for a 10 x 6667 inch figure (11.8 GiB at 100 dpi).
    import matplotlib.pyplot as plt

    from spatial_nb.plotting import figure_size

    with pytest.warns(UserWarning, match="does not fit inside"):  # no room for a chip 3 pixels wide
        ax = plot(Image.new("RGB", (3, 2000)), Result([Item("pole", box=(0.0, 0.1, 1.0, 0.9))]))
    width, height = ax.figure.get_size_inches()
    assert width <= 10 and height <= 10 and width >= 1.5
    ax.figure.canvas.draw()
    plt.close(ax.figure)
    assert figure_size(640, 480) == (10.0, 7.5) and figure_size(2000, 3) == (10.0, 1.5)


def test_one_pixel_wide_mask_is_drawn_without_contouring():
    # Regression: contour needs a 2x2 grid; a mask one pixel wide raised TypeError.
    import matplotlib.pyplot as plt

    thin = Item("wire", box=(0.5, 0.1, 0.51, 0.9), mask=np.full((40, 1), 255, np.uint8))
    flat = Item("line", box=(0.1, 0.5, 0.9, 0.51), mask=np.full((1, 30), 255, np.uint8))
    ax = plot(Image.new("RGB", (200, 100)), Result([thin, flat]))
    ax.figure.canvas.draw()
    assert len(ax.images) == 3  # the photo and both masks
    plt.close(ax.figure)
