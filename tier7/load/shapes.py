"""Key and value shapes for the recorded load (catalogue in ``shapes.toml``): every shape the contract
allows — '/', '%', spaces, URL and JSON specials, NUL, 2-4 byte UTF-8, combining marks, RTL, invisible
characters, the longest key, empty / big / maximum values — so a bug limited to one shape is reachable.

Which key of the shared keyspace gets which shape depends only on the run's seed and the key's index
(``Shapes.key``); values draw their shape from the writer's seeded RNG. Sizes are in bytes of UTF-8.
"""

from __future__ import annotations

import math
import random
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CATALOGUE = Path(__file__).with_name("shapes.toml")
PAD_KEY = "x"
PAD_VALUE = "\U0001F600"  # 4 bytes of UTF-8: big and maximum values end on 4-byte characters
BIG_MIN_BYTES = 1024


def catalogue() -> dict[str, Any]:
    """The parsed ``shapes.toml``."""
    with CATALOGUE.open("rb") as handle:
        return tomllib.load(handle)


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def pad_to(text: str, size: int, filler: str, last: str, most: int | None = None) -> str:
    """``text`` + ASCII ``filler`` + ``last`` repeated (at most ``most`` times), exactly ``size`` bytes when
    ``text`` fits: the final character is a multi-byte one ending on the boundary."""
    room = size - utf8_len(text)
    width = utf8_len(last)
    count = max(0, room // width)
    if most is not None:
        count = min(count, most)
    return text + filler * (room - count * width) + last * count


@dataclass
class Shapes:
    """Shape choices for one run. ``ratio`` is the share of keys and values that get a non-plain shape
    (0: the classic ``k<i>`` keys and ``<process>:<n>`` values only)."""

    seed: int
    ratio: float
    key_max_bytes: int = 256
    value_max_bytes: int = 65536
    data: dict[str, Any] = field(default_factory=catalogue)

    @classmethod
    def for_target(cls, seed: int, ratio: float, published: dict[str, Any] | None) -> Shapes:
        """Limits from the contract catalogue, lowered to what the target publishes in ``/v1/config`` (a
        target may configure smaller limits; larger ones are not promised by the contract)."""
        data = catalogue()
        limits = data["limits"]
        published = published or {}
        key_max = min(int(limits["key_max_bytes"]), int(published.get("max_key_bytes") or limits["key_max_bytes"]))
        value_max = min(int(limits["value_max_bytes"]),
                        int(published.get("max_value_bytes") or limits["value_max_bytes"]))
        return cls(seed, ratio, key_max, value_max, data)

    def describe(self) -> dict[str, Any]:
        """What run.json records about the shapes."""
        return {"ratio": self.ratio, "key_max_bytes": self.key_max_bytes, "value_max_bytes": self.value_max_bytes,
                "key_shapes": [k["name"] for k in self.data["key"]] + ["exact"],
                "value_shapes": [v["name"] for v in self.data["value"]]}

    # -- keys --

    def key_shape(self, index: int) -> str:
        """The shape name of shared key ``index`` (seeded, stable for the run)."""
        rng = random.Random(f"{self.seed}/key/{index}")
        if rng.random() >= self.ratio:
            return "plain"
        names = [k["name"] for k in self.data["key"] if k["name"] != "plain"] + ["exact"]
        return rng.choice(names)

    def key(self, index: int) -> str:
        """Shared key ``index`` of the keyspace. "exact" keys (``.``, ``..``, ``%2F`` ...) are taken by the
        index modulo their count, so two indices may share one: still one key, just hotter."""
        shape = self.key_shape(index)
        if shape == "exact":
            exact = self.data["exact"]["keys"]
            return exact[random.Random(f"{self.seed}/exact/{index}").randrange(len(exact))]
        return self.named_key(shape, str(index))

    def named_key(self, shape: str, stem: str) -> str:
        """Key of shape ``shape`` around ``stem`` (which keeps it unique), within ``key_max_bytes``."""
        spec = next(k for k in self.data["key"] if k["name"] == shape)
        if spec.get("pad"):
            return pad_to(spec["prefix"] + stem + "-", self.key_max_bytes, PAD_KEY, spec["suffix"])[: self.key_max_bytes]
        key = spec["prefix"] + stem + spec["suffix"]
        while utf8_len(key) > self.key_max_bytes:  # a target with tiny limits: drop decoration, keep the stem
            key = key[1:] if len(key) > len(stem) else key[:-1]
        return key

    def write_once_key(self, rng: random.Random, process: str, number: int) -> tuple[str, str]:
        """A key no other operation of the run writes: ``once/<process>/<number>`` in a drawn shape."""
        shape = "plain"
        if rng.random() < self.ratio:
            shape = rng.choice([k["name"] for k in self.data["key"] if k["name"] != "plain"])
        stem = f"once/{process}/{number}"
        if shape == "plain":
            return stem, shape
        return self.named_key(shape, stem), shape

    # -- values --

    def value(self, rng: random.Random, tag: str, allow_empty: bool = False) -> tuple[str, str]:
        """A value starting with the unique ``tag`` (or "" for the "empty" shape when ``allow_empty``),
        and its shape name. The tag keeps every written value of a key traceable to its write."""
        shape = "plain"
        if rng.random() < self.ratio:
            specs = [v for v in self.data["value"] if v["name"] != "plain" and (allow_empty or v["name"] != "empty")]
            shape = rng.choices([v["name"] for v in specs], [float(v.get("weight", 1.0)) for v in specs])[0]
        if shape == "empty":
            return "", shape
        if shape == "max":
            # ASCII up to a few 4-byte characters at the very end: the exact limit, without tripling the
            # history (which records values with \u escapes: 12 characters per 4-byte character)
            return pad_to(tag + "|é中", self.value_max_bytes, "-", PAD_VALUE, 4), shape
        if shape == "big":
            low = min(BIG_MIN_BYTES, self.value_max_bytes)  # log-uniform: mostly a few KiB, sometimes ~64 KiB
            size = min(self.value_max_bytes, int(math.exp(rng.uniform(math.log(low), math.log(self.value_max_bytes)))))
            return pad_to(tag + "|é中", size, "+", PAD_VALUE, 2), shape
        suffix = next(v["suffix"] for v in self.data["value"] if v["name"] == shape)
        text = tag + suffix
        if utf8_len(text) > self.value_max_bytes:
            text = tag
        return text, shape
