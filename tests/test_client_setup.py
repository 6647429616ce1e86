"""The one-off work of a process's first request: TLS setup and the SDK client, done once and early.

Counted on real work: ``ssl.SSLContext.load_verify_locations`` (loading the CA certificates,
~20 ms each) is wrapped by a spy that calls through, and requests are counted by the fake server.
"""

from __future__ import annotations

import shutil
import ssl

import numpy as np
import pytest
from PIL import Image

from spatial_nb.cache import Cache
from spatial_nb.client import Client

from .test_batch import run


@pytest.fixture
def ca_loads(monkeypatch, tmp_path):
    """Counts CA certificate loads; SSL_CERT_FILE points at a fresh copy of a CA bundle, so
    the process-wide TLS context is made anew for this test."""
    import certifi

    bundle = tmp_path / "ca.pem"
    shutil.copy(certifi.where(), bundle)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    calls: list[tuple] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        calls.append(args or tuple(kwargs.values()))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    return calls


def test_ca_certificates_load_once_per_process(fake_gemini, ca_loads):
    # Before: each SDK client loaded them three times (our HTTP client, the SDK's async
    # client, the SDK's websocket context), and a client copy with other retries did it again.
    client = Client(cache=False, retry_attempts=1)
    client.warm_up()
    client.copy(retry_attempts=2).warm_up()  # another SDK client: same TLS context
    assert len(ca_loads) == 1
    res = client.detect(Image.new("RGB", (32, 24)), "Detect things")  # the SDK took our settings
    assert res.items and len(fake_gemini.requests) == 1


def test_warm_up_sends_nothing(fake_gemini):
    client = Client(cache=False, retry_attempts=1)
    client.warm_up()
    client.warm_up()
    assert fake_gemini.requests == []
    assert len(client._sdk_clients) == 1
    client.detect(np.zeros((16, 16, 3), np.uint8), "Detect things")
    assert len(fake_gemini.requests) == 1 and len(client._sdk_clients) == 1


def test_warm_up_offline_is_a_no_op(tmp_path, monkeypatch):
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    client = Client(offline=True, cache=Cache(tmp_path / "cache"))
    client.warm_up()
    assert client._sdk_clients == {}


def test_folder_run_from_the_cache_builds_no_sdk_client(fake_gemini, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.new("RGB", (20, 10), (i * 40, 0, 0)).save(folder / f"img{i}.png")
    cache = Cache(tmp_path / "cache")
    first = Client(cache=cache, retry_attempts=1)
    assert run(folder, tmp_path / "out1", client=first).done == 3
    assert len(first._sdk_clients) == 1  # built for the misses (warm-up, then reused)
    sent = len(fake_gemini.requests)

    again = Client(cache=cache, retry_attempts=1)
    summary = run(folder, tmp_path / "out2", client=again)
    assert summary.done == 3 and summary.cached == 3
    assert len(fake_gemini.requests) == sent
    assert again._sdk_clients == {}  # copies share this dict: no SDK client, no TLS setup
