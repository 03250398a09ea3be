"""Toxics: the faults a proxy applies to the data of its links, in Toxiproxy's model and JSON.

A toxic acts on one direction of every link of its proxy: ``upstream`` (client -> server) or
``downstream`` (server -> client; Toxiproxy's default). Units are Toxiproxy's:

- ``latency``: ``latency`` and ``jitter`` in milliseconds; each chunk is delayed by latency +- jitter
  (uniform), order preserved.
- ``bandwidth``: ``rate`` in KB/s (1 KB = 1000 bytes); 0 means unlimited.
- ``timeout``: no data passes; the link is closed after ``timeout`` ms (0 = held open forever).
- ``reset_peer``: on the first data, wait ``timeout`` ms, then reset the link (TCP RST).
- ``slicer``: each chunk is cut into slices of about ``average_size`` bytes (+- ``size_variation``, which
  must stay below ``average_size``), handed on one by one ``delay`` **microseconds** apart (Toxiproxy's
  toxics/slicer.go, same halving algorithm).
- ``limit_data``: the link is closed once ``bytes`` bytes passed in this direction (the chunk that crosses
  the limit is cut at it); the count lives as long as the link, across updates of the toxic
  (toxics/limit_data.go). chaostoolkit-toxiproxy calls it the "limiter" (``create_limiter_toxic``).
- ``slow_close``: the end of the stream (the source closing) is passed on ``delay`` ms late
  (toxics/slow_close.go).
- ``loss`` (not in Toxiproxy; for the WAN model of issue 13): ``percent`` (0..100) of the chunks are lost.
  On a UDP relay a lost datagram is dropped; on a TCP stream, which cannot lose bytes, a lost segment is
  modelled by the sender's retransmission: it (and, order kept, what follows it) arrives ``retransmit`` ms late.

``toxicity`` (0..1) is the probability that the toxic applies to a given link, drawn once per link (and
again when the toxic is updated), as Toxiproxy does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from random import Random
from typing import Any

from .errors import bad_request

# type -> attribute defaults (milliseconds, or KB/s for rate)
TOXIC_TYPES: dict[str, dict[str, float]] = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
    "limit_data": {"bytes": 0},
    "slow_close": {"delay": 0},
    "loss": {"percent": 0, "retransmit": 200},
}
STREAMS = ("upstream", "downstream")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


@dataclass
class Toxic:
    name: str
    type: str
    stream: str
    toxicity: float
    attributes: dict[str, float]
    revision: int = field(default=0, compare=False)  # bumped on update: links draw toxicity again

    def attr(self, key: str) -> float:
        return float(self.attributes.get(key, 0))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "stream": self.stream, "toxicity": self.toxicity,
                "attributes": dict(self.attributes)}


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise bad_request(f"bad request body: {what} must be a number")
    return value


def _attributes(kind: str, given: Any, base: dict[str, float]) -> dict[str, float]:
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise bad_request("bad request body: attributes must be an object")
    unknown = sorted(set(given) - set(TOXIC_TYPES[kind]))
    if unknown:
        raise bad_request(f"bad request body: unknown attribute(s) for {kind}: {', '.join(unknown)}")
    merged = dict(base)
    for key, value in given.items():
        number = _number(value, f"attributes.{key}")
        if number < 0:
            raise bad_request(f"bad request body: attributes.{key} must be >= 0")
        merged[key] = number
    return merged


def _toxicity(value: Any) -> float:
    number = float(_number(value, "toxicity"))
    if not 0.0 <= number <= 1.0:
        raise bad_request("bad request body: toxicity must be between 0 and 1")
    return number


def parse_toxic(body: Any) -> Toxic:
    """A new toxic from the JSON body of ``POST /proxies/{proxy}/toxics`` (Toxiproxy's defaults)."""
    if not isinstance(body, dict):
        raise bad_request("bad request body: expected a JSON object")
    kind = body.get("type")
    if kind not in TOXIC_TYPES:
        raise bad_request(f"invalid toxic type: {kind!r}; supported: {', '.join(TOXIC_TYPES)}")
    stream = body.get("stream") or "downstream"
    if stream not in STREAMS:
        raise bad_request("stream was invalid, can be either upstream or downstream")
    name = body.get("name") or f"{kind}_{stream}"
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise bad_request("bad request body: name must be 1-128 characters of [A-Za-z0-9_.:-]")
    toxicity = _toxicity(body["toxicity"]) if body.get("toxicity") is not None else 1.0
    attributes = _attributes(kind, body.get("attributes"), TOXIC_TYPES[kind])
    return Toxic(name, kind, stream, toxicity, attributes)


def slice_offsets(size: int, average: int, variation: int, rng: Random) -> list[tuple[int, int]]:
    """``(start, end)`` byte ranges cutting ``size`` bytes as Toxiproxy's slicer does: halve (moved by up to
    +- ``variation``) until a piece is within ``variation`` of ``average``. ``average`` below 1 counts as 1
    and ``variation`` is kept below ``average`` (Toxiproxy requires it; without it the halving never ends)."""
    average = max(1, int(average))
    variation = max(0, min(int(variation), average - 1))
    pieces: list[tuple[int, int]] = []
    pending = [(0, size)]
    while pending:
        start, end = pending.pop()
        if (end - start) - average <= variation:
            if end > start:
                pieces.append((start, end))
            continue
        mid = start + (end - start) // 2
        if variation > 0:
            mid += rng.randrange(variation * 2) - variation
        pending.append((mid, end))  # right half popped after the left: pieces come out in order
        pending.append((start, mid))
    return pieces


def updated_toxic(toxic: Toxic, body: Any) -> Toxic:
    """``toxic`` with the attributes / toxicity of an update body merged in (type and stream stay)."""
    if not isinstance(body, dict):
        raise bad_request("bad request body: expected a JSON object")
    attributes = _attributes(toxic.type, body.get("attributes"), toxic.attributes)
    toxicity = _toxicity(body["toxicity"]) if body.get("toxicity") is not None else toxic.toxicity
    return Toxic(toxic.name, toxic.type, toxic.stream, toxicity, attributes, toxic.revision + 1)
