"""Gemini Batch API mode against the fake server's batch and file routes (real SDK calls)."""

from __future__ import annotations

import json

import pytest

from spatial_nb.batch import load_results, read_records, run_batch_api, run_folder
from spatial_nb.errors import GeminiRequestError, SpatialNBError

from .fake_batch import FakeBatchAPI
from .fake_gemini import Reply
from .test_batch import Script, client, comparable, make_images


@pytest.fixture
def batch_api(fake_gemini):
    return FakeBatchAPI(fake_gemini, polls_before_done=2)


def batch(folder, out, **kw):
    kw.setdefault("client", client())
    kw.setdefault("progress", False)
    kw.setdefault("poll_interval", 0.01)
    return run_batch_api(folder, "Detect things", out=out, **kw)


@pytest.mark.parametrize("use_file", [False, True])
def test_batch_api_matches_the_concurrent_run(tmp_path, fake_gemini, batch_api, monkeypatch, use_file):
    make_images(tmp_path / "imgs", 12)
    fake_gemini.default = Script(throttled=(), bad={5})
    summary = batch(tmp_path / "imgs", tmp_path / "out", use_file=use_file)
    assert summary.done == 11 and summary.errors == 1
    assert fake_gemini.generate_requests() == []  # nothing went through generateContent
    (job,) = batch_api.jobs.values()
    assert len(job["requests"]) == 12 and (job["from_file"] is not None) == use_file
    # the batch requests carry what Client.detect sends: image inline, system instruction, config
    inner = batch_api.inner_requests[0]
    assert inner.images and inner.images[0][0] == "image/png"
    assert inner.system_instruction and "bounding boxes" in inner.system_instruction.lower()
    assert inner.generation_config["temperature"] == 0.5 and inner.safety_settings
    assert inner.prompt == "Detect things"
    errors = [r for r in read_records(tmp_path / "out") if r["status"] == "error"]
    assert [e["path"] for e in errors] == ["img005.png"] and "image rejected" in errors[0]["error"]
    # same records as the concurrent run, except the batch job field
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(tmp_path / "cache2"))
    fake_gemini.default = Script(throttled=(), bad={5})
    run_folder(tmp_path / "imgs", "Detect things", out=tmp_path / "direct", client=client(), progress=False)
    via_batch = comparable(tmp_path / "out")
    for r in via_batch:
        r.pop("batch_job", None)
    direct = comparable(tmp_path / "direct")
    assert [r for r in via_batch if r["status"] == "ok"] == [r for r in direct if r["status"] == "ok"]
    # batch answers went to the answer cache: a concurrent run over the same images sends nothing
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(tmp_path / "cache"))
    before = len(fake_gemini.generate_requests())
    again = run_folder(tmp_path / "imgs", "Detect things", out=tmp_path / "again", client=client(), progress=False)
    assert again.cached == 11 and len(fake_gemini.generate_requests()) - before == 1  # only the 400 one


def test_batch_api_resumes_by_job_name(tmp_path, fake_gemini, batch_api):
    make_images(tmp_path / "imgs", 6)
    fake_gemini.default = Script(throttled=())
    batch_api.polls_before_done = 10**6  # never finishes while we wait
    with pytest.raises(GeminiRequestError, match="still RUNNING"):
        batch(tmp_path / "imgs", tmp_path / "out", timeout=0.05)
    saved = json.loads((tmp_path / "out" / "batch_job.json").read_text())
    assert saved["name"] in batch_api.jobs and len(saved["keys"]) == 6
    assert list(read_records(tmp_path / "out")) == []
    batch_api.polls_before_done = 0
    summary = batch(tmp_path / "imgs", tmp_path / "out")  # resumes polling, submits nothing new
    assert len(batch_api.jobs) == 1 and summary.done == 6
    assert not (tmp_path / "out" / "batch_job.json").exists()
    # explicit job name works too, and already-recorded images are not written twice
    again = batch(tmp_path / "imgs", tmp_path / "out", job=saved["name"])
    assert again.skipped == 6 and again.done == 0 and len(list(read_records(tmp_path / "out"))) == 6


def test_batch_api_failed_job_and_cache_skip(tmp_path, fake_gemini, batch_api):
    make_images(tmp_path / "imgs", 4)
    fake_gemini.default = Script(throttled=())
    run_folder([tmp_path / "imgs" / "img001.png"], "Detect things", out=tmp_path / "warm", client=client(),
               progress=False)  # img001 is now in the answer cache
    batch_api.final_state = "BATCH_STATE_FAILED"
    with pytest.raises(GeminiRequestError, match="ended as FAILED"):
        batch(tmp_path / "imgs", tmp_path / "out")
    (job,) = batch_api.jobs.values()
    assert [k for k, _ in job["requests"]] == ["img002.png", "img003.png", "sub/img000.png"]
    records = list(read_records(tmp_path / "out"))
    assert [(r["path"], r["result"]["cached"]) for r in records] == [("img001.png", True)]


def test_file_mode_reads_answers_with_fields_this_sdk_does_not_know(tmp_path, fake_gemini, batch_api):
    make_images(tmp_path / "imgs", 3)
    fake_gemini.default = Script(throttled=())
    batch_api.extra_response_fields = {"fieldFromTheFuture": {"x": 1}}  # strict SDK types refuse it
    summary = batch(tmp_path / "imgs", tmp_path / "out", use_file=True)
    assert summary.done == 3 and summary.errors == 0
    res = load_results(tmp_path / "out")["img002.png"]
    assert res.labels == ["thing 2", "corner"] and res.finish_reason == "STOP"
    assert res.usage["total_tokens"] > 0


def test_file_mode_names_the_sdk_version_when_its_converter_is_gone(tmp_path, fake_gemini, batch_api, monkeypatch):
    from google.genai import batches, version

    make_images(tmp_path / "imgs", 2)
    fake_gemini.default = Script(throttled=())
    monkeypatch.delattr(batches, "_InlinedRequest_to_mldev")
    with pytest.raises(SpatialNBError) as err:
        batch(tmp_path / "imgs", tmp_path / "out", use_file=True)
    message = str(err.value)
    assert f"google-genai {version.__version__}" in message and "use_file=False" in message
    assert "\n" not in message and batch_api.jobs == {}  # nothing submitted
