"""The Python package against the command line: the same numbers bit for bit for every family, errors as
exceptions naming the problem, array inputs, and one model shared by two threads. Run by scripts/python_check.sh
(HATTN_ROOT: the source tree; HATTN_BIN: the hattn program)."""
import os
import subprocess
import threading

import numpy as np
import pytest

import hattn

ROOT = os.environ.get("HATTN_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
HATTN = os.environ.get("HATTN_BIN", os.path.join(ROOT, "build", "bin", "hattn"))
VIM = os.path.join(ROOT, "models", "weights", "vim_cluttered.safetensors")
VIT = os.path.join(ROOT, "models", "weights", "vit_cluttered.safetensors")
LM1 = os.path.join(ROOT, "models", "weights", "recall_mamba1")
LM2 = os.path.join(ROOT, "models", "weights", "recall_mamba2")
NEOX = os.path.join(ROOT, "models", "weights", "recall_gpt_neox")
IMAGE = os.path.join(ROOT, "tests", "data", "images", "src_wide.png")
TEXT = "a3k7q1m9z2b5|m"


def cli(tmp_path, *args):
    subprocess.run([HATTN, *args], check=True, capture_output=True)


def test_version_is_the_cli_version():
    out = subprocess.run([HATTN, "--version"], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["hattn", hattn.__version__]


@pytest.mark.parametrize("path,variant", [(VIM, "official"), (VIM, "exact"), (VIT, None)])
def test_image_maps_equal_the_cli(tmp_path, path, variant):
    model = hattn.load(path)
    args = ["explain", "--checkpoint", path, "--image", IMAGE, "--out", str(tmp_path)]
    if variant:
        args += ["--variant", variant]
    cli(tmp_path, *args)
    for method in model.methods:
        name, _, v = method.partition(":")
        if v and v != variant:
            continue
        got = model.explain(IMAGE, method=name, variant=v or None)
        want = np.load(tmp_path / f"{name}.npy")
        assert got.dtype == np.float32 and got.shape == want.shape, method
        assert np.array_equal(got, want), method


def test_ablations_equal_the_cli(tmp_path):
    model = hattn.load(VIM)
    cli(tmp_path, "explain", "--checkpoint", VIM, "--image", IMAGE, "--method", "rollout,attr", "--variant", "exact",
        "--aggregate", "max", "--discard", "0.25", "--clamp", "abs", "--out", str(tmp_path))
    for method in ("rollout", "attr"):
        got = model.explain(IMAGE, method=method, variant="exact", aggregate="max", discard=0.25, clamp="abs")
        assert np.array_equal(got, np.load(tmp_path / f"{method}.npy")), method
    with pytest.raises(hattn.InputError, match="aggregate"):
        hattn.load(VIT).explain(IMAGE, method="rollout", aggregate="max")


def test_classify_and_attention_equal_the_cli(tmp_path):
    model = hattn.load(VIM)
    cli(tmp_path, "classify", "--checkpoint", VIM, "--image", IMAGE, "--logits-npy", str(tmp_path / "logits.npy"))
    assert np.array_equal(model.classify(IMAGE), np.load(tmp_path / "logits.npy")[0])
    cli(tmp_path, "attention", "--checkpoint", VIM, "--image", IMAGE, "--layer", "2", "--direction", "bwd",
        "--channels", "3:9", "--out", str(tmp_path))
    got = model.attention(IMAGE, 2, direction="bwd", channels=(3, 9))
    assert np.array_equal(got, np.load(tmp_path / "attn_l2_bwd.npy"))
    vit = hattn.load(VIT)
    cli(tmp_path, "attention", "--checkpoint", VIT, "--image", IMAGE, "--layer", "1", "--out", str(tmp_path))
    assert np.array_equal(vit.attention(IMAGE, 1), np.load(tmp_path / "attn_l1.npy"))
    with pytest.raises(hattn.InputError, match="direction"):
        vit.attention(IMAGE, 1, direction="fwd")


@pytest.mark.parametrize("path, family", [(LM1, "mamba_lm"), (LM2, "mamba_lm"), (NEOX, "gpt_neox")])
def test_language_models_equal_the_cli(tmp_path, path, family):
    model = hattn.load(path)
    assert model.is_text and model.family == family
    cli(tmp_path, "lm", "logits", "--model", path, "--text", TEXT, "--logits-npy", str(tmp_path / "logits.npy"))
    assert np.array_equal(model.logits(text=TEXT), np.load(tmp_path / "logits.npy"))
    cli(tmp_path, "lm", "explain", "--model", path, "--text", TEXT, "--query", "9", "--out", str(tmp_path))
    ids = model.tokenize(TEXT)
    for method in model.methods:
        got = model.explain(ids=ids, method=method, query=9)
        assert np.array_equal(got, np.load(tmp_path / f"{method}.npy")), method


def test_array_images_equal_the_file():
    from PIL import Image

    pixels = np.asarray(Image.open(IMAGE).convert("RGB"))
    model = hattn.load(VIM)
    assert np.array_equal(model.explain(pixels, method="rollout"), model.explain(IMAGE, method="rollout"))
    with pytest.raises(hattn.InputError, match="uint8"):
        model.explain(pixels.astype(np.float32))


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(hattn.InputError, match="nothing.pth"):
        hattn.load(tmp_path / "nothing.pth")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(open(VIM, "rb").read()[:1000])
    with pytest.raises(hattn.Error, match="truncated.safetensors"):
        hattn.load(truncated)
    assert issubclass(hattn.InputError, ValueError) and issubclass(hattn.InputError, hattn.Error)
    vit = hattn.load(VIT)
    with pytest.raises(hattn.InputError, match="variant"):
        vit.explain(IMAGE, method="attr", variant="exact")
    with pytest.raises(hattn.InputError, match="unified"):
        vit.explain(IMAGE, method="unified")
    with pytest.raises(hattn.InputError, match="start_layer"):
        hattn.load(VIM).explain(IMAGE, start_layer=99)
    with pytest.raises(hattn.InputError, match="heads"):
        hattn.load(VIM, heads=3)
    with pytest.raises(hattn.InputError):
        hattn.load(LM1).explain(IMAGE)


def test_one_model_shared_by_two_threads():
    model = hattn.load(VIM)
    want = model.explain(IMAGE, method="attr", variant="exact")
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(model.explain(IMAGE, method="attr", variant="exact"))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 6
    assert all(np.array_equal(r, want) for r in results)


def test_results_outlive_the_model():
    model = hattn.load(VIM)
    view = model.explain(IMAGE)[2:5]
    del model
    assert view.shape == (3, 14) and np.isfinite(view).all()


def test_evaluation_equals_the_cli(tmp_path):
    import json

    model = hattn.load(VIM)
    cli(tmp_path, "eval", "perturbation", "--checkpoint", VIM, "--limit", "3", "--batch", "2",
        "--methods", "attr:exact,saliency", "--out", str(tmp_path))
    seen = []
    got = model.evaluate("perturbation", limit=3, batch=2, methods="attr:exact,saliency",
                         progress=lambda done, total: seen.append((done, total)))
    written = json.load(open(tmp_path / "results.json"))
    assert written.pop("provenance")["command"].endswith("--out " + str(tmp_path))  # the CLI records its run
    assert got == written
    assert seen == [(2, 3), (3, 3)]
    with pytest.raises(hattn.Cancelled, match="1 of 4"):
        model.evaluate("accuracy", limit=4, progress=lambda done, total: False)

    class Stop(Exception):
        pass

    def fail(done, total):
        raise Stop()

    with pytest.raises(Stop):
        model.evaluate("accuracy", limit=2, progress=fail)


def test_misuse_is_refused_not_crashed():
    import copy

    model = hattn.load(VIM)
    with pytest.raises(TypeError):
        copy.copy(model)
    with pytest.raises(hattn.InputError, match="its model"):  # a progress callback may not re-enter its model
        model.evaluate("accuracy", limit=2, progress=lambda done, total: model.classify(IMAGE))
    with pytest.raises(hattn.InputError, match="NUL"):
        model.classify(IMAGE + "\0.png")
    with pytest.raises(hattn.InputError, match="out of range"):
        model.attention(IMAGE, 2**64 + 1)
    with pytest.raises(hattn.InputError, match="pair"):
        model.attention(IMAGE, 1, channels=(1,))
    lm = hattn.load(LM1)
    for bad in (["a"], [1.7], [[1, 2]], [2**70], []):
        with pytest.raises(hattn.InputError):
            lm.logits(ids=bad)
    with pytest.raises(hattn.InputError):
        lm.explain(text="\ud800")


def test_close_waits_for_calls_in_flight():
    model = hattn.load(VIM)
    started, results = threading.Event(), []

    def work():
        started.set()
        results.append(model.explain(IMAGE, method="attr", variant="exact"))

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    model.close()  # frees the model once the call in flight is done
    t.join()
    assert len(results) == 1 and results[0].shape == (14, 14)
    with pytest.raises(hattn.Error, match="closed"):
        model.classify(IMAGE)


def test_attention_mean_is_the_mean_of_the_matrices(tmp_path):
    # (the command line's --mean, streamed over blocks of channels, against the mean of the full file)
    cli(tmp_path, "lm", "attention", "--model", LM2, "--text", TEXT, "--layer", "1", "--out", str(tmp_path / "full"))
    cli(tmp_path, "lm", "attention", "--model", LM2, "--text", TEXT, "--layer", "1", "--mean",
        "--out", str(tmp_path / "mean"))
    full = np.load(tmp_path / "full" / "attn_l1.npy").astype(np.float64)
    mean = np.load(tmp_path / "mean" / "attn_l1_mean.npy")
    assert mean.shape == (1,) + full.shape[1:] and mean.dtype == np.float32
    assert np.allclose(mean[0], full.mean(0), rtol=1e-6, atol=1e-7 * np.abs(full).max())
