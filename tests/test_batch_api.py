"""Gemini Batch API mode against the fake server's batch and file routes (real SDK calls)."""

from __future__ import annotations

import json

import pytest

from spatial_nb.batch import load_results, read_records, run_batch_api, run_folder
from spatial_nb.errors import GeminiRequestError, SpatialNBError

from .fake_batch import FakeBatchAPI
from .fake_gemini import Reply
from .test_batch import Script, client, comparable, image_index, make_images


@pytest.fixture
def batch_api(fake_gemini):
    return FakeBatchAPI(fake_gemini, polls_before_done=2)


def batch(folder, out, **kw):
    kw.setdefault("client", client())
    kw.setdefault("progress", False)
    kw.setdefault("poll_interval", 0.01)
    return run_batch_api(folder, "Detect things", out=out, **kw)


def test_batch_api_matches_the_concurrent_run(tmp_path, fake_gemini, batch_api, monkeypatch):
    make_images(tmp_path / "imgs", 12)
    fake_gemini.default = Script(throttled=(), bad={5})
    batch_api.row_order = "shuffled"  # answers come back in any order; keys place them
    summary = batch(tmp_path / "imgs", tmp_path / "out")
    assert summary.done == 11 and summary.errors == 1
    assert fake_gemini.generate_requests() == []  # nothing went through generateContent
    (job,) = batch_api.jobs.values()
    # always a JSONL file with one key per row (inline answers cannot be matched reliably)
    assert job["from_file"] is not None and len(job["requests"]) == 12
    assert sorted(key for key, _ in job["requests"]) == sorted(p["path"] for p in read_records(tmp_path / "out"))
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
    summary = batch(tmp_path / "imgs", tmp_path / "out")
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
        batch(tmp_path / "imgs", tmp_path / "out")
    message = str(err.value)
    assert f"google-genai {version.__version__}" in message and "without the Batch API" in message
    assert "\n" not in message and batch_api.jobs == {}  # nothing submitted


# -- answers matched by key only (python-genai #1909: inline answers out of order; #2008: no metadata) --


def inline_job(folder, out):
    """An inline-request job for ``folder``, saved in ``out`` the way an earlier version did."""
    import time

    from spatial_nb.batch.batch_api import JOB_FILENAME, build_requests
    from spatial_nb.batch.runner import image_names, plan_request

    c = client()
    root, names = image_names(folder)
    plans = {n: plan_request(c, root / n, "Detect things", "boxes", {}) for n in names}
    model = next(iter(plans.values())).profile.name
    job = c._sdk().batches.create(model=model, src=build_requests(plans))
    out.mkdir(parents=True, exist_ok=True)
    (out / JOB_FILENAME).write_text(json.dumps(
        {"name": job.name, "model": model, "keys": list(plans), "submitted": time.time(), "inline": True}))
    return job.name


def expected_label(path: str) -> str:
    return f"thing {int(path.rsplit('img', 1)[1][:3])}"


def test_inline_answers_without_keys_are_never_matched_by_order(tmp_path, fake_gemini, batch_api):
    """Before the fix: the answers, reversed and keyless, were recorded "ok" on the wrong images."""
    make_images(tmp_path / "imgs", 6)
    fake_gemini.default = Script(throttled=())
    batch_api.row_order, batch_api.drop_keys = "reversed", True
    name = inline_job(tmp_path / "imgs", tmp_path / "out")
    summary = batch(tmp_path / "imgs", tmp_path / "out")
    assert [r for r in read_records(tmp_path / "out") if r["status"] == "ok"] == []  # nothing guessed
    assert summary.unmatched == 6 and summary.held == 6 and "unmatched.jsonl" in summary.notes[0]
    rows = [json.loads(line) for line in (tmp_path / "out" / "unmatched.jsonl").read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(6)) and {r["batch_job"] for r in rows} == {name}
    assert all(r["response"]["candidates"] for r in rows)  # the paid answers are kept
    # a re-run does not pay for them again unasked...
    again = batch(tmp_path / "imgs", tmp_path / "out")
    assert len(batch_api.jobs) == 1 and again.held == 6 and again.done == 0
    # ...only when asked to (this time the answers carry their keys)
    batch_api.drop_keys = False
    fresh = batch(tmp_path / "imgs", tmp_path / "out", resubmit_unmatched=True)
    assert len(batch_api.jobs) == 2 and fresh.done == 6
    assert all(r["result"]["items"][0]["label"] == expected_label(r["path"])
               for r in read_records(tmp_path / "out") if r["status"] == "ok")


def test_inline_answers_with_keys_in_any_order_are_accepted(tmp_path, fake_gemini, batch_api):
    make_images(tmp_path / "imgs", 6)
    fake_gemini.default = Script(throttled=())
    batch_api.row_order = "reversed"
    inline_job(tmp_path / "imgs", tmp_path / "out")
    summary = batch(tmp_path / "imgs", tmp_path / "out")
    records = list(read_records(tmp_path / "out"))
    assert summary.done == 6 and summary.unmatched == 0
    assert all(r["result"]["items"][0]["label"] == expected_label(r["path"]) for r in records)


def test_result_file_rows_without_keys_go_to_unmatched(tmp_path, fake_gemini, batch_api):
    """Before the fix: keyless rows were dropped silently (no record, nothing kept)."""
    make_images(tmp_path / "imgs", 4)
    fake_gemini.default = Script(throttled=())
    batch_api.drop_keys = True
    summary = batch(tmp_path / "imgs", tmp_path / "out")
    assert summary.unmatched == 4 and summary.held == 4 and summary.done == 0
    assert len((tmp_path / "out" / "unmatched.jsonl").read_text().splitlines()) == 4


@pytest.mark.parametrize("state", ["BATCH_STATE_PARTIALLY_SUCCEEDED", "JOB_STATE_PARTIALLY_SUCCEEDED"])
def test_partial_success_is_a_final_state(tmp_path, fake_gemini, batch_api, state):
    """Before the fix: partial success was polled until the timeout (forever without one)."""
    make_images(tmp_path / "imgs", 5)
    fake_gemini.default = Script(throttled=(), bad={2})
    batch_api.final_state = state
    polls = []
    summary = batch(tmp_path / "imgs", tmp_path / "out", timeout=5, on_poll=lambda s, w: polls.append(s))
    assert summary.done == 4 and summary.errors == 1
    assert polls[-1] == "JOB_STATE_PARTIALLY_SUCCEEDED" and len(polls) == batch_api.polls_before_done + 1


def test_an_unknown_state_does_not_poll_forever(tmp_path, fake_gemini, batch_api):
    """Before the fix: polled until the timeout (forever without one)."""
    from spatial_nb.batch.batch_wait import UNKNOWN_STATE_CHECKS

    make_images(tmp_path / "imgs", 3)
    fake_gemini.default = Script(throttled=())
    batch_api.final_state, batch_api.end_time = "BATCH_STATE_SOMETHING_NEW", False
    polls = []
    with pytest.raises(GeminiRequestError, match="does not know") as err:
        batch(tmp_path / "imgs", tmp_path / "out", timeout=30, on_poll=lambda s, w: polls.append(s))
    assert "'JOB_STATE_SOMETHING_NEW'" in str(err.value) and "\n" not in str(err.value)
    assert len(polls) == batch_api.polls_before_done + UNKNOWN_STATE_CHECKS
    assert (tmp_path / "out" / "batch_job.json").exists()  # a later run can still collect it


def test_an_unknown_state_with_an_end_time_has_ended(tmp_path, fake_gemini, batch_api):
    make_images(tmp_path / "imgs", 3)
    fake_gemini.default = Script(throttled=())
    batch_api.final_state = "BATCH_STATE_SOMETHING_NEW"  # finished jobs report endTime
    with pytest.raises(GeminiRequestError, match="ended as SOMETHING_NEW; 3 images were not answered"):
        batch(tmp_path / "imgs", tmp_path / "out", timeout=30)
    batch_api.final_state = "BATCH_STATE_SUCCEEDED"
    assert batch(tmp_path / "imgs", tmp_path / "out").done == 3 and len(batch_api.jobs) == 2


def test_a_failed_job_is_not_resumed_again(tmp_path, fake_gemini, batch_api):
    """Before the fix: every re-run polled the same failed job and failed again."""
    make_images(tmp_path / "imgs", 3)
    fake_gemini.default = Script(throttled=())
    batch_api.final_state = "BATCH_STATE_FAILED"
    with pytest.raises(GeminiRequestError, match="ended as FAILED"):
        batch(tmp_path / "imgs", tmp_path / "out")
    batch_api.final_state = "BATCH_STATE_SUCCEEDED"
    summary = batch(tmp_path / "imgs", tmp_path / "out")
    assert summary.done == 3 and len(batch_api.jobs) == 2


def test_an_empty_batch_answer_is_an_error_and_not_cached(tmp_path, fake_gemini, batch_api):
    from spatial_nb.batch.runner import plan_request

    make_images(tmp_path / "imgs", 3)
    script = Script(throttled=())
    fake_gemini.default = lambda req: Reply("") if image_index(req) == 2 else script(req)
    summary = batch(tmp_path / "imgs", tmp_path / "out")
    records = {r["path"]: r for r in read_records(tmp_path / "out")}
    assert summary.done == 2 and summary.errors == 1 and summary.empty_answers == 1
    assert records["img002.png"]["status"] == "error" and "empty answer" in records["img002.png"]["error"]
    c = client()
    assert plan_request(c, tmp_path / "imgs" / "img002.png", "Detect things", "boxes", {}).cached() is None
    assert plan_request(c, tmp_path / "imgs" / "img001.png", "Detect things", "boxes", {}).cached() is not None


def test_vertex_ai_is_refused_in_one_line(tmp_path, fake_gemini, batch_api):
    """Before the fix: the SDK failed deep inside (credentials / unsupported source)."""
    make_images(tmp_path / "imgs", 2)
    c = client(vertexai=True, project="my-project", location="us-central1")
    with pytest.raises(SpatialNBError, match="Vertex AI") as err:
        batch(tmp_path / "imgs", tmp_path / "out", client=c)
    assert "\n" not in str(err.value) and "--batch-api" in str(err.value)
    assert not (tmp_path / "out").exists() and fake_gemini.requests == []


def test_cli_vertex_and_deadline(tmp_path, fake_gemini, batch_api, monkeypatch, capsys):
    from spatial_nb.cli import main

    make_images(tmp_path / "imgs", 3)
    fake_gemini.default = Script(throttled=())
    argv = ["batch", str(tmp_path / "imgs"), "Detect things", "--out", str(tmp_path / "out"), "--batch-api",
            "--no-progress", "--poll", "0.01"]
    with monkeypatch.context() as m:
        m.setenv("GOOGLE_GENAI_USE_VERTEXAI", "1")
        m.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Vertex AI" in err and batch_api.jobs == {}
    batch_api.polls_before_done = 10**6
    assert main(argv + ["--deadline", "0.3"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "still RUNNING" in err and "run the same command again" in err
    assert (tmp_path / "out" / "batch_job.json").exists()
    batch_api.polls_before_done = 0
    assert main(argv + ["--deadline", "1h"]) == 0 and len(batch_api.jobs) == 1
    without_batch_api = [a for a in argv if a != "--batch-api"]
    assert main(without_batch_api + ["--deadline", "2h"]) == 1 and "add --batch-api" in capsys.readouterr().err
