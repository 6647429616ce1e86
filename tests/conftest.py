"""Shared fixtures: the fake Gemini server and a clean, isolated environment per test."""

from __future__ import annotations

import pytest

from .fake_gemini import FakeGemini

TEST_KEY = "test-key-DO-NOT-LEAK-1234"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test sees the developer's key, cache or model choice."""
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL", "SPATIAL_NB_MODEL",
                 "SPATIAL_NB_OFFLINE", "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPATIAL_NB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.fixture
def fake_gemini(monkeypatch):
    """A running fake Gemini server with the real SDK pointed at it and a test key set."""
    with FakeGemini() as server:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
        monkeypatch.setenv("GOOGLE_API_KEY", TEST_KEY)
        yield server
