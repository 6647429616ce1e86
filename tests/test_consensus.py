"""Agreement-based confidence: each box's score = fraction of samples that agree on it."""

from __future__ import annotations

import pytest

from spatial_nb.consensus import agreement
from spatial_nb.result import Item, Result


def box(label, x0, y0, x1, y1, **extra):
    return Item(label, box=(x0, y0, x1, y1), extra=extra)


SAMPLES = [
    Result([box("cat", 0, 0, 0.5, 0.5), box("dog", 0.5, 0.5, 1, 1), box("cup", 0.0, 0.8, 0.1, 0.9)],
           usage={"total_tokens": 10}, model="m"),
    Result([box("CAT", 0.02, 0, 0.5, 0.5), box("dog", 0.5, 0.5, 0.9, 0.9)], usage={"total_tokens": 12}),
    Result([box("cat", 0, 0, 0.5, 0.48), box("dog", 0.0, 0.5, 0.2, 0.7), box("bird", 0.6, 0, 0.9, 0.3)],
           usage={"total_tokens": 11}),
    Result([box("cat", 0.5, 0.5, 1, 1)], usage={"total_tokens": 9}),  # a cat where the dog is: no vote
]


def test_scores_are_agreeing_fractions():
    res = agreement(SAMPLES)
    scores = [(it.label, it.extra["score"], it.extra["votes"]) for it in res]
    assert scores == [
        ("cat", 0.75, 3),  # samples 1-3 (case-insensitive labels)
        ("dog", 0.5, 2),  # sample 2's dog overlaps at 0.64; sample 3's is elsewhere
        ("cup", 0.25, 1),
        ("dog", 0.25, 1),  # merged: boxes only later samples found are kept
        ("bird", 0.25, 1),
        ("cat", 0.25, 1),
    ]
    assert res.usage == {"total_tokens": 42} and res.model == "m" and res.request["samples"] == 4


def test_reference_only_and_one_vote_per_sample():
    res = agreement(SAMPLES, merge=False)
    assert [it.label for it in res] == ["cat", "dog", "cup"]
    # two near-identical boxes in ONE sample cannot both vote for the same cluster
    twice = Result([box("a", 0, 0, 1, 1), box("a", 0, 0, 1, 0.99)])
    res = agreement([Result([box("a", 0, 0, 1, 1)]), twice], merge=False)
    assert [it.extra["votes"] for it in res] == [2]


def test_scores_feed_the_accuracy_card_ranking():
    from spatial_nb.export import to_coco

    coco = to_coco({"x.png": agreement(SAMPLES)}, image_sizes={"x.png": (100, 100)})
    assert [a["score"] for a in coco["annotations"]] == [0.75, 0.5, 0.25, 0.25, 0.25, 0.25]


def test_needs_samples():
    with pytest.raises(ValueError):
        agreement([])


def test_sample_consensus_through_the_client(tmp_path, fake_gemini):
    """N samples = N requests with seeds 0..N-1 (N cache entries); the answers vary by seed."""
    import json

    from PIL import Image

    from spatial_nb.client import Client
    from spatial_nb.consensus import sample_consensus

    from .fake_gemini import Reply

    def by_seed(req):
        seed = req.generation_config.get("seed", 0)
        items = [{"box_2d": [100, 100, 500, 500], "label": "cup"}]  # every sample
        if seed % 2 == 0:
            items.append({"box_2d": [600, 600, 900, 900], "label": "plate"})  # samples 0 and 2
        return Reply(json.dumps(items))

    fake_gemini.default = by_seed
    Image.new("RGB", (64, 64)).save(tmp_path / "a.png")
    client = Client(retry_attempts=1)
    res = sample_consensus(client, tmp_path / "a.png", "Detect", n=3, temperature=0.9)
    assert [(it.label, it.extra["score"]) for it in res] == [("cup", 1.0), ("plate", pytest.approx(2 / 3))]
    assert sorted(r.generation_config["seed"] for r in fake_gemini.generate_requests()) == [0, 1, 2]
    again = sample_consensus(client, tmp_path / "a.png", "Detect", n=3, temperature=0.9)
    assert again.cached and len(fake_gemini.generate_requests()) == 3  # replayed from the cache
    with pytest.raises(ValueError, match="temperature > 0"):
        sample_consensus(client, tmp_path / "a.png", "Detect", n=3, temperature=0)
