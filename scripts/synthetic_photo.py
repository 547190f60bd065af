"""A deterministic photo-like test image (smooth colour waves, hard edges, noise), shared by the golden writers."""
import numpy as np


def photo(w, h, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([128 + 100 * np.sin(x / 7 + c) * np.cos(y / 11 - c) for c in range(3)], -1)
    edges = ((x // 13 + y // 9) % 2)[..., None] * 60
    img = base + edges + rng.normal(0, 12, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)
