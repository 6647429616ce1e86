"""Streamed answers: items as soon as they are complete, hanging up when the model loops.

The stream is opened through the plan's adaptation loop (a 400 about thinking or
temperature arrives before the first event, so the next setting can be tried) under the
request's deadline, which also bounds the rest of the stream. A failure part-way through is
not retried (its items were already given out). The Interactions backend answers in one
piece here: its items arrive together at the end.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .backends import read_response, response_text
from .result import Item, Result

if TYPE_CHECKING:  # pragma: no cover
    from .plan import RequestPlan

__all__ = ["DetectStream"]


class DetectStream:
    """Items of one streamed answer, as they complete; ``.result`` holds the full Result after.

    Iterate it once (``for item in stream``); ``close()`` (or leaving a ``with`` block) hangs
    up early. ``result`` is None until the stream has ended.
    """

    def __init__(self, plan: RequestPlan):
        self._plan = plan
        self.result: Result | None = None
        self.stopped_early = False
        self._gen = self._run()

    def __iter__(self) -> Iterator[Item]:
        return self

    def __next__(self) -> Item:
        return next(self._gen)

    def __enter__(self) -> DetectStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop now; closes the HTTP connection if the answer is still streaming."""
        self._gen.close()

    def _run(self) -> Iterator[Item]:
        plan = self._plan
        hit = plan.cached()
        if hit is not None:
            self.result = hit
            yield from hit.items
            return hit
        plan.require_online()
        if plan.backend != "generate_content":
            self.result = plan.client._answer(plan)
            yield from self.result.items
            return self.result
        from .parsing import StreamParser

        sdk = plan.client._sdk()
        parser = StreamParser()

        def open_stream(config: dict[str, Any]) -> tuple[Any, Any]:
            stream = sdk.models.generate_content_stream(
                model=plan.profile.name, contents=plan.contents(), config=plan.sdk_config(config)
            )
            try:
                return stream, next(stream, None)
            except BaseException:
                _close_sdk_stream(stream)
                raise

        sdk_stream, first = plan.send(open_stream)
        responses: list[Any] = []
        error: BaseException | None = None
        try:
            try:
                pending = [first] if first is not None else []
                for response in itertools.chain(pending, sdk_stream):
                    responses.append(response)
                    piece = response_text(response)
                    if piece:
                        yield from parser.feed(piece)
                    if parser.looping:
                        self.stopped_early = True
                        break
            except Exception as exc:  # noqa: BLE001
                error = plan.explain(exc)
        finally:
            _close_sdk_stream(sdk_stream)
        if error is not None:
            raise error  # outside the except block: the SDK's exception is not attached
        answer = read_response(responses)
        result = parser.result()
        finish = answer.finish
        if self.stopped_early:
            result.warnings.insert(
                0,
                f"the model started repeating itself; the stream was stopped after {len(result.items)} "
                "items to save tokens and time (try a higher temperature or a narrower prompt)",
            )
            finish = finish or "LOOPING"
        self.result = plan.finish(result, answer.text, finish, answer.block, answer.usage,
                                  model_version=answer.model_version)
        return self.result


def _close_sdk_stream(sdk_stream: Any) -> None:
    """Close the SDK's response generator and the HTTP response under it.

    Closing the outer generator unwinds the SDK's nested generators; httpx/httpcore close an
    unfinished HTTP/1.1 response (dropping the connection) when their iterator is closed.
    The explicit search below also closes an ``httpx.Response`` held in a generator frame,
    in case a future SDK buffers it somewhere the unwinding does not reach.
    """
    responses = []
    gen = sdk_stream
    seen = 0
    while gen is not None and seen < 8:  # walk the chain of generator frames
        seen += 1
        frame = getattr(gen, "gi_frame", None)
        if frame is None:
            break
        nxt = None
        for value in frame.f_locals.values():
            stream = getattr(value, "response_stream", None)
            if stream is not None and hasattr(stream, "close"):
                responses.append(stream)
            if nxt is None and hasattr(value, "gi_frame") and value is not gen:
                nxt = value
        gen = nxt
    close = getattr(sdk_stream, "close", None)
    if close is not None:
        close()
    for stream in responses:
        try:
            stream.close()
        except Exception:  # noqa: BLE001 - already closed
            pass

