"""HiddenAttn from Python: hidden attention and explanations of Vision Mamba, ViT/DeiT and the Mamba language models.

    >>> import hattn
    >>> model = hattn.load("models/weights/vim_cluttered.safetensors")
    >>> model.explain("photo.png", method="attr").shape      # the G x G map, as `hattn explain` writes it
    (14, 14)

The numbers are those of the `hattn` command line with the same options, bit for bit. The bindings use ctypes
over the C API (include/hattn.h) rather than the CPython API: nothing is compiled at install time, one build
serves every Python 3 version, and a call's overhead (microseconds) is nothing beside an explanation's cost.
Results come back as NumPy arrays that own the library's buffers (no copy); image arrays go in without a copy
when they are C-contiguous uint8.
"""
from __future__ import annotations

import ctypes
import os
import threading
from typing import Optional, Sequence, Union

import numpy as np

__all__ = ["load", "Model", "Error", "InputError", "Cancelled", "version", "__version__"]


class Error(Exception):
    """A failure of the library; the message is its one-line explanation."""


class InputError(Error, ValueError):
    """Bad input: a missing or damaged file, an unknown option, an out-of-range value."""


class Cancelled(Error):
    """Long work (an evaluation) stopped because its progress callback asked."""


_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB_PATH = os.environ.get("HATTN_LIBRARY", os.path.join(_HERE, "lib", "libhattn.so"))
try:
    _lib = ctypes.CDLL(_LIB_PATH)
except OSError as e:  # pragma: no cover - an installation problem
    raise ImportError(f"hattn: cannot load the library {_LIB_PATH}: {e}") from e


class _Array(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_float)), ("shape", ctypes.c_int64 * 4), ("ndim", ctypes.c_int32)]


class _Image(ctypes.Structure):
    _fields_ = [("path", ctypes.c_char_p), ("rgb", ctypes.POINTER(ctypes.c_uint8)), ("height", ctypes.c_int64),
                ("width", ctypes.c_int64)]


class _Info(ctypes.Structure):
    _fields_ = [("family", ctypes.c_char_p), ("name", ctypes.c_char_p), ("describe", ctypes.c_char_p),
                ("is_text", ctypes.c_int32), ("layers", ctypes.c_int64), ("tokens", ctypes.c_int64),
                ("img_size", ctypes.c_int64), ("num_classes", ctypes.c_int64), ("vocab", ctypes.c_int64),
                ("methods", ctypes.c_char_p)]


_P = ctypes.c_void_p
_Progress = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p)
_ArrayOut = ctypes.POINTER(ctypes.POINTER(_Array))
_IdsPtr = ctypes.POINTER(ctypes.c_int64)
for _name, _res, _args in [
    ("hattn_version", ctypes.c_char_p, []),
    ("hattn_api_version", ctypes.c_int, []),
    ("hattn_last_error", ctypes.c_char_p, []),
    ("hattn_open", ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(_P)]),
    ("hattn_close", None, [_P]),
    ("hattn_model_get_info", ctypes.c_int, [_P, ctypes.POINTER(_Info)]),
    ("hattn_array_free", None, [ctypes.POINTER(_Array)]),
    ("hattn_classify", ctypes.c_int, [_P, ctypes.POINTER(_Image), ctypes.c_char_p, _ArrayOut]),
    ("hattn_explain", ctypes.c_int, [_P, ctypes.POINTER(_Image), ctypes.c_char_p, _ArrayOut]),
    ("hattn_attention", ctypes.c_int, [_P, ctypes.POINTER(_Image), ctypes.c_int64, ctypes.c_char_p, _ArrayOut]),
    ("hattn_lm_logits", ctypes.c_int, [_P, _IdsPtr, ctypes.c_int64, _ArrayOut]),
    ("hattn_lm_explain", ctypes.c_int, [_P, _IdsPtr, ctypes.c_int64, ctypes.c_char_p, _ArrayOut]),
    ("hattn_tokenize", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(_IdsPtr),
                                      ctypes.POINTER(ctypes.c_int64)]),
    ("hattn_ids_free", None, [_IdsPtr]),
    ("hattn_evaluate", ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p,
                                      ctypes.POINTER(ctypes.c_void_p)]),
    ("hattn_string_free", None, [ctypes.c_void_p]),
]:
    _fn = getattr(_lib, _name)
    _fn.restype, _fn.argtypes = _res, _args

_API_VERSION = 1
if _lib.hattn_api_version() != _API_VERSION:  # pragma: no cover
    raise ImportError(f"hattn: the library speaks C API {_lib.hattn_api_version()}, these bindings {_API_VERSION}")


def version() -> str:
    """The library's version, as `hattn --version` prints it."""
    return _lib.hattn_version().decode()


__version__ = version()


def _encode(text: str, what: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError as e:
        raise InputError(f"{what}: not valid Unicode text ({e.reason})") from None


def _path(path) -> bytes:
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise InputError(f"path {path!r} holds a NUL byte")
    return raw


def _int(value, what: str, low: int = -(1 << 63), high: int = (1 << 63) - 1) -> int:
    """An integer in [low, high] (ctypes would truncate a larger one silently)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{what} must be an integer, got {value!r}")
    if not low <= int(value) <= high:
        raise InputError(f"{what} {int(value)} is out of range")
    return int(value)


def _check(status: int) -> None:
    if status == 0:
        return
    message = _lib.hattn_last_error().decode(errors="replace")
    raise InputError(message) if status == 2 else Cancelled(message) if status == 3 else Error(message)


def _options(**values) -> bytes:
    parts = []
    for key, value in values.items():
        if value is None:
            continue
        text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
        if ";" in text or "\0" in text:
            raise InputError(f"option {key}: '{text}' holds ';' or a NUL byte, which options cannot carry")
        parts.append(f"{key}={text}")
    return _encode(";".join(parts), "options")


class _Owner:
    """A library array seen by NumPy (no copy): the arrays made from it, and their views, keep it alive through
    their .base; it frees the buffer when the last of them goes."""

    def __init__(self, ptr):
        self._ptr = ptr
        a = ptr.contents
        shape = tuple(a.shape[i] for i in range(a.ndim))
        self.__array_interface__ = {"data": (ctypes.cast(a.data, ctypes.c_void_p).value, False), "shape": shape,
                                    "typestr": "<f4", "version": 3}

    def __del__(self):
        _lib.hattn_array_free(self._ptr)


def _to_numpy(ptr) -> np.ndarray:
    return np.asarray(_Owner(ptr))


def _opt_int(value, what: str):
    return None if value is None else _int(value, what)


Image = Union[str, os.PathLike, np.ndarray]


def _image(image: Image):
    """A _Image for a path or a uint8 [H, W, 3] array, and what must stay alive while it is used."""
    if isinstance(image, (str, os.PathLike)):
        return _Image(path=_path(image)), None
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise InputError(f"an image array must be uint8 [H, W, 3]; got {pixels.dtype} {list(pixels.shape)}")
    pixels = np.ascontiguousarray(pixels)  # no copy when it already is
    rgb = pixels.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
    return _Image(rgb=rgb, height=pixels.shape[0], width=pixels.shape[1]), pixels


class Model:
    """A model of any family, as hattn.load returns it. Safe to share between threads (calls on one model run one
    at a time). Attributes: family ("vim", "vit", "mamba_lm", "gpt_neox", "bert"), name, describe, is_text, layers,
    tokens, img_size, num_classes, vocab, methods (what "all" means, variants as "method:variant")."""

    def __init__(self, path: Union[str, os.PathLike], device: str = "cpu", **options):
        self._handle = ctypes.c_void_p()
        self._lock = threading.Lock()  # guards the handle and the count of calls in flight
        self._calls = 0
        self._closing = False
        self.path = os.fspath(path)
        _check(_lib.hattn_open(_path(path), _options(device=device, **options), ctypes.byref(self._handle)))
        info = _Info()
        _check(_lib.hattn_model_get_info(self._handle, ctypes.byref(info)))
        self.family = info.family.decode()
        self.name = info.name.decode()
        self.describe = info.describe.decode()
        self.is_text = bool(info.is_text)
        self.layers, self.tokens, self.img_size = info.layers, info.tokens, info.img_size
        self.num_classes, self.vocab = info.num_classes, info.vocab
        self.methods = info.methods.decode().split(",") if info.methods else []

    def __repr__(self) -> str:
        return f"hattn.Model({self.path!r}: {self.describe})"

    def close(self) -> None:
        """Frees the model once no call is running on it (now, if none is); later calls raise hattn.Error."""
        with self._lock:
            self._closing = True
            if self._calls == 0 and self._handle:
                _lib.hattn_close(self._handle)
                self._handle = ctypes.c_void_p()

    def __del__(self):
        if getattr(self, "_handle", None):
            _lib.hattn_close(self._handle)

    def __copy__(self):
        raise TypeError("a hattn.Model cannot be copied (share it instead: it is thread-safe)")

    def __deepcopy__(self, memo):
        raise TypeError("a hattn.Model cannot be copied (share it instead: it is thread-safe)")

    def __reduce__(self):
        raise TypeError("a hattn.Model cannot be pickled (load it again from its path)")

    def _enter(self):
        with self._lock:
            if self._closing or not self._handle:
                raise Error("the model is closed")
            self._calls += 1
            return self._handle

    def _leave(self):
        with self._lock:
            self._calls -= 1
            if self._closing and self._calls == 0 and self._handle:
                _lib.hattn_close(self._handle)
                self._handle = ctypes.c_void_p()

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _call(self, fn, *args) -> np.ndarray:
        handle = self._enter()
        try:
            out = ctypes.POINTER(_Array)()
            _check(fn(handle, *args, ctypes.byref(out)))
            return _to_numpy(out)
        finally:
            self._leave()

    # ---- image models

    def classify(self, image: Image, preprocess: Optional[str] = None) -> np.ndarray:
        """The logits, float32 [classes]. image: a path or a uint8 [H, W, 3] array (preprocess: crop, vim-eval,
        squash; crop by default)."""
        img, keep = _image(image)
        return self._call(_lib.hattn_classify, ctypes.byref(img), _options(preprocess=preprocess))

    def explain(self, image: Optional[Image] = None, method: str = "attr", variant: Optional[str] = None,
                target: Optional[int] = None, start_layer: Optional[int] = None, query: Optional[int] = None,
                seed: Optional[int] = None, preprocess: Optional[str] = None, *,
                ids: Optional[Sequence[int]] = None, text: Optional[str] = None, aggregate: Optional[str] = None,
                discard: Optional[float] = None, clamp: Optional[str] = None) -> np.ndarray:
        """An explanation map. Image models: float32 [G, G] over the patch grid, as `hattn explain` writes it
        (target: the class, default the predicted one; variant: the family's default when None; query: Vision
        Mamba's row, with variant="exact"). Language models (ids= or text=): float32 [T], one value per token, of
        the next-token prediction at `query` (default: the last position). aggregate (mean, max, min, prod),
        discard (a quantile) and clamp (relu, none, abs): the paper's ablations of rollout and attr."""
        if self.is_text:
            if image is not None:
                raise InputError(f"{self.name} explains token ids (ids=...) or text (text=...), not images")
            if variant is not None or preprocess is not None:
                raise InputError(f"{self.name}: variant and preprocess apply to image models")
            array = self._ids(ids, text)
            return self._call(_lib.hattn_lm_explain, array.ctypes.data_as(_IdsPtr), array.size,
                              _options(method=method, query=_opt_int(query, "query"), target=_opt_int(target, "target"),
                                       start_layer=_opt_int(start_layer, "start_layer"), seed=_opt_int(seed, "seed"),
                                       aggregate=aggregate, discard=discard, clamp=clamp))
        if ids is not None or text is not None:
            raise InputError(f"{self.name} explains images, not token ids or text")
        if image is None:
            raise InputError("explain needs an image (a path or a uint8 [H, W, 3] array)")
        img, keep = _image(image)
        return self._call(_lib.hattn_explain, ctypes.byref(img),
                          _options(method=method, variant=variant, **{"class": _opt_int(target, "target")},
                                   start_layer=_opt_int(start_layer, "start_layer"), query=_opt_int(query, "query"),
                                   seed=_opt_int(seed, "seed"), preprocess=preprocess, aggregate=aggregate,
                                   discard=discard, clamp=clamp))

    def attention(self, image: Image, layer: int, direction: Optional[str] = None,
                  channels: Optional[tuple] = None, preprocess: Optional[str] = None) -> np.ndarray:
        """One layer's mixer matrices: Vision Mamba [E, L, L] (direction fwd, bwd or sum, sum by default;
        channels=(a, b): only those channels), a ViT [H, T, T] (neither option)."""
        img, keep = _image(image)
        if channels is not None and (not isinstance(channels, (tuple, list)) or len(channels) != 2):
            raise InputError(f"channels must be a pair (a, b), got {channels!r}")
        ch = None if channels is None else f"{_int(channels[0], 'channels')}:{_int(channels[1], 'channels')}"
        return self._call(_lib.hattn_attention, ctypes.byref(img), _int(layer, "layer"),
                          _options(direction=direction, channels=ch, preprocess=preprocess))

    def evaluate(self, protocol: str, *, images: Optional[str] = None, labels: Optional[str] = None,
                 synsets: Optional[str] = None, mat: Optional[str] = None, data: Optional[str] = None,
                 methods: str = "all", limit: Optional[int] = None, batch: Optional[int] = None,
                 preprocess: Optional[str] = None, shard: Optional[str] = None, progress=None,
                 aggregate: Optional[str] = None, discard: Optional[float] = None, clamp: Optional[str] = None,
                 perturb: Optional[str] = None) -> dict:
        """An evaluation protocol (perturbation, segmentation, accuracy) as `hattn eval` runs it; returns what its
        results.json holds, as a dict. Data: the cluttered Fashion-MNIST test set by default (data= its folder),
        images= a folder (with labels=, synsets=), or mat= gtsegs_ijcv.mat. progress(done, total) is called after
        each batch; returning False stops the run (hattn.Cancelled), as does an exception it raises. perturb (black,
        blur, mean): what removed pixels become in the perturbation protocol."""
        import json

        raised = []

        def report(done, total, _user):
            try:
                return 1 if progress(done, total) is False else 0
            except BaseException as e:  # stop, and raise it below
                raised.append(e)
                return 1

        callback = _Progress(report) if progress is not None else None
        out = ctypes.c_void_p()
        handle = self._enter()
        try:
            status = _lib.hattn_evaluate(handle, _encode(protocol, "protocol"),
                                         _options(images=images, labels=labels, synsets=synsets, mat=mat, data=data,
                                                  methods=methods, limit=_opt_int(limit, "limit"),
                                                  batch=_opt_int(batch, "batch"), preprocess=preprocess,
                                                  shard=shard, aggregate=aggregate, discard=discard, clamp=clamp,
                                                  perturb=perturb),
                                         ctypes.cast(callback, ctypes.c_void_p) if callback else None, None,
                                         ctypes.byref(out))
        finally:
            self._leave()
        if raised:
            raise raised[0]
        _check(status)
        try:
            return json.loads(ctypes.string_at(out.value).decode())
        finally:
            _lib.hattn_string_free(out)

    # ---- language models

    def tokenize(self, text: str, tokenizer: Optional[str] = None) -> np.ndarray:
        """Token ids (int64) of a text, with tokenizer.json (or vocab.txt) beside the model unless `tokenizer` names one."""
        if not isinstance(text, str):
            raise InputError(f"text must be a str, got {type(text).__name__}")
        handle = self._enter()
        try:
            ptr, n = _IdsPtr(), ctypes.c_int64()
            _check(_lib.hattn_tokenize(handle, _encode(text, "text"), _options(tokenizer=tokenizer), ctypes.byref(ptr),
                                       ctypes.byref(n)))
            try:
                return np.ctypeslib.as_array(ptr, shape=(n.value,)).copy()
            finally:
                _lib.hattn_ids_free(ptr)
        finally:
            self._leave()

    def logits(self, ids: Optional[Sequence[int]] = None, text: Optional[str] = None) -> np.ndarray:
        """A language model's logits at every position, float32 [T, V]."""
        array = self._ids(ids, text)
        return self._call(_lib.hattn_lm_logits, array.ctypes.data_as(_IdsPtr), array.size)

    def _ids(self, ids, text) -> np.ndarray:
        if (ids is None) == (text is None):
            raise InputError("give exactly one of ids=... or text=...")
        if text is not None:
            return self.tokenize(text)
        raw = np.asarray(ids)
        if raw.ndim != 1 or raw.size == 0:
            raise InputError(f"ids must be a non-empty 1-D sequence of token ids, got shape {list(raw.shape)}")
        if raw.dtype.kind not in "iu":
            raise InputError(f"ids must be integers, got {raw.dtype}")
        if raw.dtype.kind == "u" and raw.size and raw.max() > np.iinfo(np.int64).max:
            raise InputError("a token id is out of range")
        return np.ascontiguousarray(raw.astype(np.int64))


def load(path: Union[str, os.PathLike], device: str = "cpu", **options) -> Model:
    """A model of any family from its file or folder: a Vision Mamba or ViT/DeiT checkpoint (.pth, .safetensors)
    or a Mamba language model's folder. Options: device ("cpu", "cuda", "cuda:N") and the family's load options
    (stride, img_size for Vision Mamba; heads, normalize for a ViT)."""
    return Model(path, device=device, **options)
