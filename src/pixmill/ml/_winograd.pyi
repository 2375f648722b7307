from collections.abc import Sequence

import numpy as np

CHUNK_TILES: int

def forward(
    x: np.ndarray,
    out: np.ndarray,
    weights: Sequence[np.ndarray],
    biases: Sequence[np.ndarray],
    threads: int,
    stripe: int,
    /,
) -> None: ...
