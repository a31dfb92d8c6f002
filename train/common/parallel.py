"""Generated data made in chunks, each with its own seed, in worker processes if asked.

Every chunk's seed is spawned from one: the result is the same whatever ``workers`` is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


def map_chunks(fn: Callable[..., T], chunks: Sequence[Any], seed: int | None, workers: int,
               *shared: Any) -> list[T]:
    """``fn(chunk, seed_sequence, *shared)`` for each chunk, in order (``None`` for the seed
    sequence when ``seed`` is None)."""
    seeds: list[np.random.SeedSequence | None] = (
        list(np.random.SeedSequence(seed).spawn(len(chunks))) if seed is not None
        else [None] * len(chunks)
    )
    columns = [list(chunks), seeds, *([value] * len(chunks) for value in shared)]
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            return list(pool.map(fn, *columns))
    return [fn(*args) for args in zip(*columns, strict=True)]
