#!/usr/bin/env python3
"""Writes the reference files of the decoder-classifier tests (developer tool): a language model whose head maps
the last token's final state to classes (docs/definitions.md §11), in the three layouts the project reads:
  tests/data/classifier_ref/neox/     GPT-NeoX with Hugging Face's score.weight [labels, D] (no bias)
                                      (GPTNeoXForSequenceClassification; checked against transformers 4.44.2)
  tests/data/classifier_ref/mamba1/   Mamba-1 with the same score.weight (transformers 4.44 has no class for it:
                                      checked against our transcription, scripts/make_lm_reference.py)
  tests/data/classifier_ref/mamba2/   Mamba-2 in MambaLRP's released layout: a causal LM whose lm_head has `labels`
                                      rows and a bias
each with config.json (id2label) and model.safetensors (float32), and beside them
  <name>_ids.npy, <name>_logits.npy   the token ids (T,) and the class logits (labels,) at the last token
  <name>_map_<method>.npy             the maps (T) explaining class <name>_target.npy at the last token: for
                                      GPT-NeoX every method of scripts/make_neox_reference.py, for the Mambas attr
                                      (scripts/make_lm_reference.py) and lrp (scripts/make_lrp_reference.py)
Usage: .venv-peers/bin/python scripts/make_classifier_reference.py [--out tests/data/classifier_ref]
"""
import argparse
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_lm_reference as lm  # noqa: E402
import make_lrp_reference as lrp  # noqa: E402
import make_neox_reference as neox  # noqa: E402

LABELS = ["no", "maybe", "yes"]
K = len(LABELS)
T = 12


def labels_json():
    return {"id2label": {str(i): n for i, n in enumerate(LABELS)}, "label2id": {n: i for i, n in enumerate(LABELS)}}


def save(folder, sd, config):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    save_file(OrderedDict((k, v.float().contiguous()) for k, v in sd.items()), os.path.join(folder, "model.safetensors"),
              metadata={"format": "pt"})


def head(seed, D, bias):
    g = torch.Generator().manual_seed(seed)
    w = (torch.randn(K, D, generator=g, dtype=torch.float64) * D ** -0.5 * 3).float().double()
    b = (torch.randn(K, generator=g, dtype=torch.float64) * 0.5).float().double() if bias else None
    return w, b


def save_maps(out, name, maps, target):
    np.save(os.path.join(out, f"{name}_target.npy"), np.array([target], dtype=np.int64))
    for k, v in maps.items():
        np.save(os.path.join(out, f"{name}_map_{k}.npy"), v.detach().numpy().astype(np.float32))


def gpt_neox(out, ids):
    cfg = neox.MODELS["sequential"]
    sd = neox.make(cfg, 40)
    del sd["embed_out.weight"]
    w, _ = head(41, cfg["hidden_size"], False)
    sd["score.weight"] = w
    as_lm = OrderedDict(sd)
    as_lm["embed_out.weight"] = w  # the transcription's head: class logits at every position
    logits_all, _ = neox.forward(as_lm, cfg, ids)
    logits = logits_all[-1]
    import transformers
    assert transformers.__version__ == "4.44.2", transformers.__version__
    torch.set_default_dtype(torch.float64)
    config = dict(neox.hf_config(cfg), architectures=["GPTNeoXForSequenceClassification"], num_labels=K,
                  pad_token_id=neox.V - 1, **labels_json())
    model = transformers.GPTNeoXForSequenceClassification(transformers.GPTNeoXConfig(**config)).double().eval()
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all("rotary_emb" in m or "attention.bias" in m or "masked_bias" in m for m in missing), \
        (missing, unexpected)
    assert neox.V - 1 not in ids.tolist()
    with torch.no_grad():
        peer = model(ids[None]).logits[0]
    err = float((peer - logits).abs().max() / logits.abs().max())
    print(f"  gpt_neox peer check (transformers {transformers.__version__}, float64): logits {err:.1e} of max")
    assert err < 1e-10
    torch.set_default_dtype(torch.float32)
    save(os.path.join(out, "neox"), sd, config)
    np.save(os.path.join(out, "neox_logits.npy"), logits.numpy().astype(np.float32))
    saved_v = neox.V
    neox.V = K  # the transcription's one-hot over the head's rows
    maps, target = neox.maps(as_lm, cfg, ids, T - 1)
    neox.V = saved_v
    save_maps(out, "neox", maps, target)


def mamba(out, ids, arch):
    if arch == "mamba1":
        sd, N, G, D = lm.make_mamba1(50, torch.float32), None, None, lm.M1["d_model"]
    else:
        G = lm.M2["ngroups"]
        sd, N, D = lm.make_mamba2(51, torch.float32, G=G, tied=True), lm.M2["d_state"], lm.M2["d_model"]
    bias = arch == "mamba2"  # Mamba-2 in MambaLRP's layout, Mamba-1 in Hugging Face's score layout
    w, b = head(52 if bias else 53, D, bias)
    as_lm = OrderedDict(sd)
    as_lm["lm_head.weight"] = w
    logits = lm.forward(as_lm, ids, arch, N, G)[-1] + (b if bias else 0)
    stored = lm.hf_keys(sd)
    if bias:
        stored["lm_head.weight"], stored["lm_head.bias"] = w, b
    else:
        stored["score.weight"] = w
    if arch == "mamba1":
        E = lm.M1["expand"] * D
        config = {"architectures": ["MambaForSequenceClassification"], "model_type": "mamba", "vocab_size": lm.V,
                  "hidden_size": D, "intermediate_size": E, "state_size": lm.M1["d_state"],
                  "num_hidden_layers": lm.M1["n_layer"], "conv_kernel": lm.M1["d_conv"], "expand": lm.M1["expand"],
                  "time_step_rank": lm.M1["dt_rank"], "layer_norm_epsilon": 1e-5, "use_bias": False,
                  "use_conv_bias": True, "tie_word_embeddings": False, **labels_json()}
    else:  # MambaLRP's classifier: a state-spaces causal LM folder whose head has the classes' rows
        config = {"d_model": D, "n_layer": lm.M2["n_layer"], "vocab_size": lm.V, "pad_vocab_size_multiple": 8,
                  "ssm_cfg": {"layer": "Mamba2", "d_state": N, "headdim": lm.M2["headdim"], "ngroups": G},
                  "rms_norm": True, "tie_embeddings": False, **labels_json()}
    save(os.path.join(out, arch), stored, config)
    np.save(os.path.join(out, f"{arch}_logits.npy"), logits.numpy().astype(np.float32))
    target = 1
    keep_maps = {}
    # attr for the given class: the transcription's maps() explains the argmax, so the head is narrowed to it
    one = OrderedDict(as_lm)
    one["lm_head.weight"] = w[target:target + 1]
    full, t0, _ = lm.maps(one, ids, arch, T - 1, N, G)
    assert t0 == 0
    keep_maps["attr"] = full["attr"]
    keep_maps["lrp"], _ = lrp.lm_relevance(as_lm, ids, arch, T - 1, target, N, G)
    save_maps(out, arch, keep_maps, target)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/classifier_ref")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    ids = torch.randint(0, 37, (T,), generator=torch.Generator().manual_seed(9))
    for name in ("neox", "mamba1", "mamba2"):
        np.save(os.path.join(args.out, f"{name}_ids.npy"), ids.numpy().astype(np.int64))
    gpt_neox(args.out, ids)
    mamba(args.out, ids, "mamba1")
    mamba(args.out, ids, "mamba2")
    print(f"wrote {args.out}: decoder classifiers, T = {T}, {K} classes")


if __name__ == "__main__":
    main()
