#!/usr/bin/env python3
"""The Hugging Face side of scripts/bench_lm.sh (developer tool; .venv-peers: transformers 4.44.2 over Debian's
torch).
  make --out DIR [--arch mamba1|mamba2]   a randomly initialised 130m-shaped model (state-spaces/mamba-130m's or
                                          mamba2-130m's configuration), saved with save_pretrained (safetensors)
  run --model DIR --ids 1,2,... --new K   greedy generation with transformers' CPU path (use_cache=True): prints
                                          the prompt and generation rates and the generated ids
"""
import argparse
import time

import torch
import transformers


def make(args):
    torch.manual_seed(0)
    if args.arch == "mamba1":
        cfg = transformers.MambaConfig(vocab_size=50280, hidden_size=768, state_size=16, num_hidden_layers=24,
                                       expand=2, conv_kernel=4, time_step_rank=48, tie_word_embeddings=True)
        model = transformers.MambaForCausalLM(cfg)
    else:
        cfg = transformers.Mamba2Config(vocab_size=50288, hidden_size=768, state_size=128, num_hidden_layers=24,
                                        expand=2, conv_kernel=4, head_dim=64, num_heads=24, n_groups=1,
                                        tie_word_embeddings=False, chunk_size=256)  # 4.44.2 cannot save it tied
        model = transformers.Mamba2ForCausalLM(cfg)
    model.save_pretrained(args.out, safe_serialization=True)
    print(f"wrote {args.out}: {sum(p.numel() for p in model.parameters())} parameters")


def run(args):
    if not hasattr(torch, "_dynamo"):  # transformers 4.44.2's MambaCache marks its buffers for torch.compile, which
        import types                   # torch 1.13 lacks; marking is a no-op for eager execution
        torch._dynamo = types.SimpleNamespace(mark_static_address=lambda t: None)
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model).eval()
    for layer in getattr(model.backbone, "layers", []):  # Mamba-2: no Δ clamp, as the released code
        if hasattr(layer.mixer, "time_step_min"):
            layer.mixer.time_step_min = 0.0
    ids = torch.tensor([[int(x) for x in args.ids.split(",")]])
    with torch.no_grad():
        model.generate(ids[:, :4], max_new_tokens=2, do_sample=False)  # warm-up
        t0 = time.perf_counter()
        model.generate(ids, max_new_tokens=1, do_sample=False)
        t1 = time.perf_counter()
        out = model.generate(ids, max_new_tokens=args.new, do_sample=False)
        t2 = time.perf_counter()
    prompt_s = t1 - t0
    gen_s = (t2 - t1) - prompt_s
    new = out[0, ids.shape[1]:].tolist()
    print(f"transformers: prompt of {ids.shape[1]} tokens in {prompt_s:.3f} s ({ids.shape[1] / prompt_s:.1f} tokens/s); "
          f"{len(new) - 1} more tokens in {gen_s:.3f} s ({(len(new) - 1) / gen_s:.1f} tokens/s)")
    print("ids " + ",".join(map(str, new)))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--arch", default="mamba1")
    r = sub.add_parser("run")
    r.add_argument("--model", required=True)
    r.add_argument("--ids", required=True)
    r.add_argument("--new", type=int, default=32)
    args = ap.parse_args()
    make(args) if args.cmd == "make" else run(args)


if __name__ == "__main__":
    main()
