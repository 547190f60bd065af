#!/usr/bin/python3
"""Writes the reference maps of the paper's ablations of rollout and attr (developer tool).

The ablations of docs/definitions.md §5c (the paper's App. D, Tables 5 and 6) written here in float64 from their
definitions, over the reference Vim of scripts/make_reference.py (its weights, image, traces and block gradients):
per layer l >= start, each channel's matrix (exact: the full two-direction L x L matrix; official: the released
code's cls row, whose result is repeated as every row) is, for attr, clamped (relu | none | abs) and min-maxed over
all channels at once; then its entries below the channel's f-quantile (numpy's linear quantile) become 0; then
the channels are aggregated entry by entry (mean | max | min | prod). rollout rolls the aggregates out; attr
multiplies each column j by s_l[j] first.
Writes tests/data/vim_ref/xai/ablation_<method>_<variant>_<aggregate>_<discard>_<clamp>.npy, (G, G) float32.
Usage: /usr/bin/python3 scripts/make_ablation_reference.py
"""
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference as vim  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
# (method, aggregate, discard, clamp): Table 5's rows for rollout, Table 6's for attr, and mixed cases
# (prod is not among them: over the reference model's 128 channels its maps vanish; the C++ tests check it against
# its definition on chosen values)
CASES = [("rollout", "max", 0.0, "relu"), ("rollout", "min", 0.0, "relu"), ("rollout", "mean", 0.4, "relu"),
         ("attr", "mean", 0.0, "none"), ("attr", "mean", 0.0, "abs"), ("attr", "max", 0.2, "relu"),
         ("attr", "min", 0.4, "none")]


def discard(x, f):
    """Entries of each channel (dim 0) below that channel's f-quantile become 0."""
    if f == 0:
        return x
    flat = x.reshape(x.shape[0], -1)
    q = torch.quantile(flat, f, dim=1, interpolation="linear")
    return torch.where(flat < q[:, None], torch.zeros_like(flat), flat).reshape(x.shape)


def aggregate(x, how):
    if how == "mean":
        return x.mean(0)
    if how == "max":
        return x.max(0).values
    if how == "min":
        return x.min(0).values
    return x.prod(0)


def clamp(x, how):
    return x.clamp(min=0) if how == "relu" else x.abs() if how == "abs" else x


def main():
    D, depth, patch, stride, img_size = 64, 4, 16, 16, 64
    sd = OrderedDict((k, v.float().double()) for k, v in vim.vim_state_dict(D, depth, patch, stride, img_size).items())
    img = torch.from_numpy(np.load(os.path.join(ROOT, "tests/data/vim_ref/image.npy"))).double().requires_grad_()
    traces = []
    logits, blocks = vim.vim_forward(img, sd, depth, stride, traces)
    top = int(logits[0].argmax())
    logits[0, top].backward()
    L = traces[0]["fwd"]["delta"].shape[1]
    G = int(round((L - 1) ** 0.5))
    cls = (L - 1) // 2
    start = 15 * depth // 24
    s = [vim.minmax(torch.clamp(b.grad[0], min=0).max(-1).values) for b in blocks]
    to_grid = lambda v: torch.clamp(torch.cat([v[:cls], v[cls + 1:]]).reshape(G, G), min=0)
    layers = {
        "official": [vim.layer_vectors(traces[l], cls, "official") for l in range(start, depth)],  # (E, L)
        "exact": [vim.alpha_matrix(traces[l]["fwd"]) + vim.alpha_matrix(traces[l]["bwd"]).flip(-1, -2)
                  for l in range(start, depth)],  # (E, L, L)
    }
    out = os.path.join(ROOT, "tests/data/vim_ref/xai")
    for variant, mats in layers.items():
        for method, agg, f, cl in CASES:
            X = []
            for k, m in enumerate(mats):
                if method == "attr":
                    m = vim.minmax(clamp(m, cl))
                a = aggregate(discard(m, f), agg)
                if variant == "official":
                    a = a[None, :].expand(L, L)
                X.append(a * s[start + k][None, :] if method == "attr" else a)
            name = f"ablation_{method}_{variant}_{agg}_{f:g}_{cl}.npy"
            np.save(os.path.join(out, name), to_grid(vim.rollout(X, cls)).float().numpy())
            print(f"wrote {name}")


if __name__ == "__main__":
    main()
