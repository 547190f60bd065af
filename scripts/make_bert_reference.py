#!/usr/bin/env python3
"""Writes the PyTorch reference files of the BERT classifier parity tests (developer tool).

Our own float64 transcription of BertForSequenceClassification as docs/definitions.md §11 defines it (post-norm
blocks, exact GELU, the tanh pooler on [CLS], additive padding mask), with seeded random weights rounded to float32,
in Hugging Face's layout, and the text-transformer maps as Chefer's released BERT_explainability code computes them
(modules/BERT/BERT.py relprop, ExplanationGenerator.py), transcribed with the rules of make_vit_reference.py:
  tests/data/bert_ref/tiny/              config.json (model_type bert, id2label) + model.safetensors (float32) + the
                                         uncased test vocabulary as vocab.txt + tokenizer_config.json (the tokenizer
                                         files a BERT checkpoint may ship instead of tokenizer.json)
  tests/data/bert_ref/ids.npy            (T,) int64: [CLS] ... [SEP] from that vocabulary
  tests/data/bert_ref/logits.npy         (labels,) float32
  tests/data/bert_ref/attn.npy           every layer's attention probabilities (layers, H, T, T)
  tests/data/bert_ref/batch_ids.npy, batch_mask.npy, batch_logits.npy   two sequences padded to one length
  tests/data/bert_ref/map_<method>_<k>.npy   raw, rollout, attr, gae, saliency, gradxinput (T) explaining class k
                                         (k = 0, 1, 2), before our clamp at 0
The peculiarities of the released code are kept: raw and rollout set the [CLS] entry to 0, attr sets it to the row's
minimum; the start layer is 0 (the released notebook's). Before writing anything, the transcription is checked
against Hugging Face transformers 4.44.2's BertForSequenceClassification (eager attention) in float64: logits,
attention probabilities, and the padded batch.
Usage: .venv-peers/bin/python scripts/make_bert_reference.py [--out tests/data/bert_ref]
"""
import argparse
import json
import os
import shutil
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_vit_reference as vit  # noqa: E402  Transformer-Attribution's released rules, transcribed there

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB_DIR = os.path.join(HERE, "..", "tests", "data", "text", "bert_vocab")
# max_position_embeddings: room for the 150-token checks of tests/test_families.cpp
CFG = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
           max_position_embeddings=160, type_vocab_size=2, layer_norm_eps=1e-12)
LABELS = ["negative", "neutral", "positive"]
T = 14
EPS = 1e-12


def vocab_size():
    with open(os.path.join(VOCAB_DIR, "vocab.txt")) as f:
        return sum(1 for _ in f)


def make(V, seed=21):
    g = torch.Generator().manual_seed(seed)
    D, F_ = CFG["hidden_size"], CFG["intermediate_size"]

    def rnd(*shape, scale):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * scale

    sd = OrderedDict()
    e = "bert.embeddings."
    sd[e + "word_embeddings.weight"] = rnd(V, D, scale=1.0)
    sd[e + "position_embeddings.weight"] = rnd(CFG["max_position_embeddings"], D, scale=0.5)
    sd[e + "token_type_embeddings.weight"] = rnd(2, D, scale=0.5)
    sd[e + "LayerNorm.weight"] = 1 + rnd(D, scale=0.1)
    sd[e + "LayerNorm.bias"] = rnd(D, scale=0.1)
    for l in range(CFG["num_hidden_layers"]):
        p = f"bert.encoder.layer.{l}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            sd[p + n + ".weight"] = rnd(D, D, scale=D ** -0.5 * (2.0 if "query" in n or "key" in n else 1.0))
            sd[p + n + ".bias"] = rnd(D, scale=0.1)
        sd[p + "attention.output.LayerNorm.weight"] = 1 + rnd(D, scale=0.1)
        sd[p + "attention.output.LayerNorm.bias"] = rnd(D, scale=0.1)
        sd[p + "intermediate.dense.weight"] = rnd(F_, D, scale=D ** -0.5)
        sd[p + "intermediate.dense.bias"] = rnd(F_, scale=0.1)
        sd[p + "output.dense.weight"] = rnd(D, F_, scale=F_ ** -0.5)
        sd[p + "output.dense.bias"] = rnd(D, scale=0.1)
        sd[p + "output.LayerNorm.weight"] = 1 + rnd(D, scale=0.1)
        sd[p + "output.LayerNorm.bias"] = rnd(D, scale=0.1)
    sd["bert.pooler.dense.weight"] = rnd(D, D, scale=D ** -0.5)
    sd["bert.pooler.dense.bias"] = rnd(D, scale=0.1)
    sd["classifier.weight"] = rnd(len(LABELS), D, scale=D ** -0.5 * 3)
    sd["classifier.bias"] = rnd(len(LABELS), scale=0.1)
    return OrderedDict((k, v.float().double()) for k, v in sd.items())


def forward(sd, ids, mask=None, keep=None):
    """Logits (B, K) and attentions (layers, B, H, T, T) for ids (B, T). With `keep`: the word embeddings (a leaf),
    the probabilities with gradients retained, each layer's intermediate tensors, the pooler's input and output."""
    D, H = CFG["hidden_size"], CFG["num_attention_heads"]
    hd = D // H
    B, L = ids.shape
    w = sd["bert.embeddings.word_embeddings.weight"][ids]
    if keep is not None:
        w = w.detach().requires_grad_()
        keep.update(embeddings=w, attentions=[], layers=[])
    x = w + sd["bert.embeddings.position_embeddings.weight"][:L] + sd["bert.embeddings.token_type_embeddings.weight"][0]
    ln = lambda y, n: F.layer_norm(y, (D,), sd[n + ".weight"], sd[n + ".bias"], EPS)  # noqa: E731
    x = ln(x, "bert.embeddings.LayerNorm")
    add_mask = None
    if mask is not None:
        add_mask = (1.0 - mask[:, None, None, :].double()) * torch.finfo(torch.float32).min
    attns = []
    for l in range(CFG["num_hidden_layers"]):
        p = f"bert.encoder.layer.{l}."
        lin = lambda y, n: F.linear(y, sd[p + n + ".weight"], sd[p + n + ".bias"])  # noqa: E731
        heads = lambda y: y.view(B, L, H, hd).transpose(1, 2)  # noqa: E731
        q, k, v = heads(lin(x, "attention.self.query")), heads(lin(x, "attention.self.key")), heads(lin(x, "attention.self.value"))
        scores = q @ k.transpose(-1, -2) / hd ** 0.5
        if add_mask is not None:
            scores = scores + add_mask
        a = scores.softmax(-1)
        if keep is not None:
            a.retain_grad()
            keep["attentions"].append(a)
        attns.append(a)
        ctx = (a @ v).transpose(1, 2).reshape(B, L, D)
        attn_dense = lin(ctx, "attention.output.dense")
        y = attn_dense + x
        h = ln(y, p + "attention.output.LayerNorm")
        f1 = F.gelu(lin(h, "intermediate.dense"))
        mlp_out = lin(f1, "output.dense")
        if keep is not None:
            keep["layers"].append(dict(x=x, q=q, k=k, v=v, ctx=ctx, attn_dense=attn_dense, y=y, h=h, f1=f1,
                                       mlp_out=mlp_out))
        x = ln(mlp_out + h, p + "output.LayerNorm")
    first = x[:, 0]
    pooled = torch.tanh(F.linear(first, sd["bert.pooler.dense.weight"], sd["bert.pooler.dense.bias"]))
    if keep is not None:
        keep.update(hidden=x, first=first, pooled=pooled)
    return F.linear(pooled, sd["classifier.weight"], sd["classifier.bias"]), torch.stack(attns)


def attr_cams(sd, keep, target):
    """BERT.py's relprop from the classifier down to every layer's attention, for batch item 0: classifier (Linear),
    tanh (unchanged), pooler dense (Linear), the [CLS] pooling (IndexSelect); per layer, last first: output
    LayerNorm (unchanged), add (mlp_out + h), output.dense, GELU (unchanged), intermediate.dense, the clone of h,
    attention LayerNorm (unchanged), add (attn_dense + x), dense, A·v, the mask add and softmax (unchanged), q·kᵀ,
    query/key/value, the clone of x into q, k, v, then the clone of x into the attention and the residual."""
    D, H = CFG["hidden_size"], CFG["num_attention_heads"]
    hd = D // H
    K = sd["classifier.weight"].shape[0]
    one_hot = torch.zeros(1, K, dtype=torch.float64)
    one_hot[0, target] = 1
    pooled, first, hidden = keep["pooled"].detach()[:1], keep["first"].detach()[:1], keep["hidden"].detach()[0]
    L = hidden.shape[0]
    r = vit.rel_linear(one_hot, pooled, sd["classifier.weight"])            # classifier; tanh unchanged
    r = vit.rel_linear(r, first, sd["bert.pooler.dense.weight"])            # pooler dense
    R = torch.zeros_like(hidden)
    R[0:1] = vit.rel_simple(r, lambda f: f, first)[0]                       # [CLS] pooling
    cams = []
    for l in reversed(range(CFG["num_hidden_layers"])):
        p = f"bert.encoder.layer.{l}."
        s = {k2: v2.detach()[0] for k2, v2 in keep["layers"][l].items()}
        r_mlp, r_h = vit.rel_add(R, s["mlp_out"], s["h"])                  # output LayerNorm unchanged; the add
        r_mlp = vit.rel_linear(r_mlp, s["f1"], sd[p + "output.dense.weight"])
        r_mlp = vit.rel_linear(r_mlp, s["h"], sd[p + "intermediate.dense.weight"])  # GELU unchanged
        R_h = vit.rel_clone(s["h"], r_mlp, r_h)                             # h used twice
        r_att, r_x = vit.rel_add(R_h, s["attn_dense"], s["x"])             # attention LayerNorm unchanged
        r_att = vit.rel_linear(r_att, s["ctx"], sd[p + "attention.output.dense.weight"])
        r_att = r_att.reshape(L, H, hd).transpose(0, 1)
        r_a, r_v = vit.rel_simple(r_att, lambda m, n: m @ n, keep["attentions"][l].detach()[0], s["v"])
        r_a, r_v = r_a / 2, r_v / 2
        cams.insert(0, (keep["attentions"][l].grad[0] * r_a).clamp(min=0).mean(0))
        r_q, r_k = vit.rel_simple(r_a, lambda m, n: m @ n.transpose(-2, -1), s["q"], s["k"])  # mask, softmax unchanged
        r_q, r_k = r_q / 2, r_k / 2
        back = lambda t: t.transpose(0, 1).reshape(L, D)  # noqa: E731
        r_q = vit.rel_linear(back(r_q), s["x"], sd[p + "attention.self.query.weight"])
        r_k = vit.rel_linear(back(r_k), s["x"], sd[p + "attention.self.key.weight"])
        r_v = vit.rel_linear(back(r_v), s["x"], sd[p + "attention.self.value.weight"])
        r_self = s["x"] * (vit.safe_divide(r_q, s["x"]) + vit.safe_divide(r_k, s["x"]) + vit.safe_divide(r_v, s["x"]))
        R = vit.rel_clone(s["x"], r_self, r_x)
    return cams


def rollout(X):
    L = X[0].shape[0]
    mats = [(m + torch.eye(L, dtype=torch.float64)) for m in X]
    mats = [m / m.sum(-1, keepdim=True) for m in mats]
    joint = mats[0]
    for m in mats[1:]:
        joint = m @ joint
    return joint


def maps(sd, ids, target):
    keep = {}
    logits, _ = forward(sd, ids[None], keep=keep)
    logits[0, target].backward()
    A = [a.detach()[0] for a in keep["attentions"]]
    out = {}
    raw = A[-1].mean(0)
    raw[0, 0] = 0
    out["raw"] = raw[0]
    ro = rollout([a.mean(0) for a in A])
    ro[0, 0] = 0
    out["rollout"] = ro[0]
    at = rollout(attr_cams(sd, keep, target))
    at[0, 0] = at[0].min()
    out["attr"] = at[0]
    L = len(ids)
    R = torch.eye(L, dtype=torch.float64)
    for a in keep["attentions"]:
        R = R + (a.grad[0] * a.detach()[0]).clamp(min=0).mean(0) @ R
    out["gae"] = R[0]
    e, g = keep["embeddings"].detach()[0], keep["embeddings"].grad[0]
    out["saliency"] = g.abs().max(1).values
    out["gradxinput"] = (e * g).sum(1).abs()
    return out


def hf_config(V):
    return dict(architectures=["BertForSequenceClassification"], model_type="bert", vocab_size=V, hidden_act="gelu",
                id2label={str(i): n for i, n in enumerate(LABELS)}, label2id={n: i for i, n in enumerate(LABELS)},
                position_embedding_type="absolute", torch_dtype="float32", **CFG)


def peer_check(sd, V, ids, logits, attns, batch, mask, batch_logits):
    import transformers
    assert transformers.__version__ == "4.44.2", transformers.__version__
    cfg = transformers.BertConfig(**hf_config(V))
    cfg._attn_implementation = "eager"
    model = transformers.BertForSequenceClassification(cfg).double().eval()
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all("position_ids" in m or "token_type_ids" in m for m in missing), (missing, unexpected)
    with torch.no_grad():
        out = model(ids[None], output_attentions=True)
        out_b = model(batch, attention_mask=mask)
    e1 = float((out.logits[0] - logits).abs().max() / logits.abs().max())
    e2 = max(float((a[0] - attns[l][0]).abs().max()) for l, a in enumerate(out.attentions))
    e3 = float((out_b.logits - batch_logits).abs().max() / batch_logits.abs().max())
    print(f"  peer check (transformers {transformers.__version__}, float64): logits {e1:.1e} of max, attention "
          f"probabilities {e2:.1e}, padded batch {e3:.1e}")
    assert e1 < 1e-10 and e2 < 1e-10 and e3 < 1e-10, "our transcription disagrees with transformers"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/bert_ref")
    args = ap.parse_args()
    V = vocab_size()
    sd = make(V)
    vocab = open(os.path.join(VOCAB_DIR, "vocab.txt")).read().split("\n")
    cls, sep, pad = vocab.index("[CLS]"), vocab.index("[SEP]"), vocab.index("[PAD]")
    body = torch.randint(5, V, (T - 2,), generator=torch.Generator().manual_seed(7))
    ids = torch.cat([torch.tensor([cls]), body, torch.tensor([sep])])
    logits, attns = forward(sd, ids[None])
    short = torch.cat([torch.tensor([cls]), body[:6], torch.tensor([sep])])
    batch = torch.stack([ids, torch.cat([short, torch.full((T - len(short),), pad)])])
    mask = torch.stack([torch.ones(T, dtype=torch.int64), (torch.arange(T) < len(short)).long()])
    batch_logits, _ = forward(sd, batch, mask)
    alone, _ = forward(sd, short[None])
    assert float((alone[0] - batch_logits[1]).abs().max()) < 1e-12, "padding changed the short sequence's logits"
    peer_check(sd, V, ids, logits[0], attns, batch, mask, batch_logits)
    folder = os.path.join(args.out, "tiny")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(hf_config(V), f, indent=2)
    stored = OrderedDict((k, v.float().contiguous()) for k, v in sd.items())
    stored["bert.embeddings.position_ids"] = torch.arange(CFG["max_position_embeddings"])[None]  # an older file's buffer
    save_file(stored, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})
    for name in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(os.path.join(VOCAB_DIR, name), os.path.join(folder, name))
    np.save(os.path.join(args.out, "ids.npy"), ids.numpy().astype(np.int64))
    np.save(os.path.join(args.out, "logits.npy"), logits[0].numpy().astype(np.float32))
    np.save(os.path.join(args.out, "attn.npy"), attns[:, 0].numpy().astype(np.float32))
    np.save(os.path.join(args.out, "batch_ids.npy"), batch.numpy().astype(np.int64))
    np.save(os.path.join(args.out, "batch_mask.npy"), mask.numpy().astype(np.int64))
    np.save(os.path.join(args.out, "batch_logits.npy"), batch_logits.numpy().astype(np.float32))
    for k in range(len(LABELS)):
        for name, v in maps(sd, ids, k).items():
            np.save(os.path.join(args.out, f"map_{name}_{k}.npy"), v.detach().numpy().astype(np.float32))
    print(f"wrote {args.out}: BERT references, T = {T}, V = {V}, logits {logits[0].tolist()}")


if __name__ == "__main__":
    main()
