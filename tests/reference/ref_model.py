#!/usr/bin/python3
"""Independent float64 reference forward pass for Llama-family models.

This script is the yardstick that pagoda's logits are tested against.  It
shares no code with pagoda: it parses the model files itself and computes the
forward pass with plain numpy in float64, for every position of a token
sequence at once (full causal attention, no KV cache).

Supported inputs
----------------
* A Hugging Face folder: ``config.json`` plus ``model.safetensors`` or the
  shards listed in ``model.safetensors.index.json``.  model_type / architectures
  llama, mistral, qwen2, qwen3.  Tensor dtypes F32, F16, BF16 (and F64).
* A GGUF file (versions 1, 2, 3): architectures llama, qwen2, qwen3.  Tensor
  types F32, F16, BF16, F64, Q8_0, Q4_0, Q6_K.

Rotary embedding layouts (read this before changing anything RoPE-related)
--------------------------------------------------------------------------
Hugging Face applies RoPE in the half-split ("rotate_half") form: dimension i
of a head is paired with dimension i + d/2.

llama.cpp's converter *permutes the rows* of the Q and K projection weights of
``llama``-architecture models so that its interleaved RoPE (pairs (2i, 2i+1))
on the permuted weights equals HF's half-split RoPE on the original ones.  For
a weight of shape [n_head * d, n_in] the permutation is::

    w.reshape(n_head, 2, d // 2, n_in).swapaxes(1, 2).reshape(n_head * d, n_in)

so this script applies RoPE to the *stored* llama GGUF weights in the
interleaved form and never un-permutes them.  Attention scores are invariant
under the same permutation of q and k, so the logits match the HF model.
``qwen2`` / ``qwen3`` GGUF files are not permuted and use the half-split form
(llama.cpp's "NEOX" rope), exactly like HF.

Pair i (of d/2) rotates by angle ``pos * inv_freq[i]`` with
``inv_freq[i] = theta ** (-2 i / d)``, modified by rope scaling:
* llama3 (HF ``rope_scaling.rope_type == "llama3"``): per-pair smooth
  interpolation between inv_freq and inv_freq / factor.  In GGUF the converter
  stores the per-pair divisors as the ``rope_freqs.weight`` tensor:
  inv_freq[i] / rope_freqs[i].
* linear (HF ``{"type": "linear", "factor": f}``, GGUF
  ``{arch}.rope.scaling.type == "linear"`` / ``.rope.scaling.factor`` or the old
  ``{arch}.rope.scale_linear``): positions are divided by the factor.

Usage
-----
    /usr/bin/python3 tests/reference/ref_model.py --model PATH --tokens 1,5,7 \
        [--out FILE.json] [--top K] [--hidden] [--greedy N] [--kv-cache-dtype float16]

Prints (or writes to --out) JSON ``{"logits": [[vocab floats] per position]}``.
``--hidden`` adds ``"hidden"``: the final hidden state of every position
(after the output RMSNorm, i.e. the input of the LM head).
``--top K`` replaces the full logits by ``"top": [{"pos", "ids", "logits"}]``
holding the K largest logits of each position (ties broken by lower id).
``--greedy N`` first extends the sequence by N greedy tokens, re-running the
full sequence for each one, and adds ``"tokens"`` (the whole sequence) and
``"generated"`` to the output; the logits are those of the final sequence.

``--kv-cache-dtype float16`` rounds every K (after RoPE) and V through
np.float16 (round to nearest-even) before attention, as an engine with a
float16 KV cache stores them; the default, float32, leaves them in float64.

The module can also be imported: ``load_model(path).forward(tokens)``.
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np


# ----------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------

def bf16_to_f32(raw_u16):
    """BF16 bits (uint16 array) -> float32: the bits are the float32 high half."""
    return (raw_u16.astype(np.uint32) << 16).view(np.float32)


class ModelError(Exception):
    """The model file is malformed or uses something this script lacks."""


# ----------------------------------------------------------------------------
# Safetensors (Hugging Face folders)
# ----------------------------------------------------------------------------

def read_safetensors(path):
    """Returns {name: float64 array} for one .safetensors file.

    Layout: 8-byte little-endian header length N, N bytes of JSON header
    ({name: {"dtype", "shape", "data_offsets": [begin, end]}, optional
    "__metadata__"}), then the raw little-endian data; offsets are relative to
    the byte after the header.
    """
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ModelError(f"{path}: too short for a safetensors file")
    (header_len,) = struct.unpack_from("<Q", blob, 0)
    if 8 + header_len > len(blob):
        raise ModelError(f"{path}: header length {header_len} past end of file")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    base = 8 + header_len
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info["dtype"]
        shape = tuple(int(s) for s in info["shape"])
        begin, end = (int(o) for o in info["data_offsets"])
        raw = blob[base + begin: base + end]
        count = int(np.prod(shape, dtype=np.int64))
        sizes = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}
        if dtype not in sizes:
            raise ModelError(f"{path}: tensor {name}: unsupported dtype {dtype}")
        if count * sizes[dtype] != len(raw):
            raise ModelError(f"{path}: tensor {name}: size does not match its offsets")
        if dtype == "F32":
            arr = np.frombuffer(raw, dtype="<f4", count=count)
        elif dtype == "F16":
            arr = np.frombuffer(raw, dtype="<f2", count=count)
        elif dtype == "BF16":
            arr = bf16_to_f32(np.frombuffer(raw, dtype="<u2", count=count))
        else:  # F64
            arr = np.frombuffer(raw, dtype="<f8", count=count)
        out[name] = arr.astype(np.float64).reshape(shape)
    return out


def load_hf_folder(folder):
    """Returns (config, weights) for a Hugging Face model folder."""
    with open(os.path.join(folder, "config.json"), "r", encoding="utf-8") as f:
        hf = json.load(f)

    index_path = os.path.join(folder, "model.safetensors.index.json")
    single_path = os.path.join(folder, "model.safetensors")
    tensors = {}
    if os.path.exists(index_path):
        with open(index_path, "r", encoding="utf-8") as f:
            index = json.load(f)
        for shard in sorted(set(index["weight_map"].values())):
            tensors.update(read_safetensors(os.path.join(folder, shard)))
    elif os.path.exists(single_path):
        tensors = read_safetensors(single_path)
    else:
        raise ModelError(f"{folder}: no model.safetensors or model.safetensors.index.json")

    # Architecture.
    model_type = hf.get("model_type", "")
    if not model_type:
        archs = hf.get("architectures") or [""]
        model_type = archs[0].lower().replace("forcausallm", "")
    if model_type not in ("llama", "mistral", "qwen2", "qwen3"):
        raise ModelError(f"unsupported model_type {model_type!r}")

    n_embd = int(hf["hidden_size"])
    n_head = int(hf["num_attention_heads"])
    n_kv = int(hf.get("num_key_value_heads") or n_head)
    head_dim = int(hf.get("head_dim") or n_embd // n_head)

    # Sliding-window attention: Mistral uses it whenever sliding_window is
    # set; for Qwen it is off unless use_sliding_window (not implemented).
    window = None
    if model_type == "mistral" and hf.get("sliding_window"):
        window = int(hf["sliding_window"])
    if model_type in ("qwen2", "qwen3") and hf.get("use_sliding_window"):
        raise ModelError("qwen use_sliding_window=true is not implemented")

    cfg = {
        "arch": model_type,
        "n_embd": n_embd,
        "n_ff": int(hf["intermediate_size"]),
        "n_layer": int(hf["num_hidden_layers"]),
        "n_head": n_head,
        "n_kv": n_kv,
        "head_dim": head_dim,
        "rot_dim": head_dim,
        "eps": float(hf.get("rms_norm_eps", 1e-6)),
        "theta": float(hf.get("rope_theta", 10000.0)),
        "rope_interleaved": False,      # HF: always half-split
        "pos_scale": 1.0,               # positions are multiplied by this
        "freq_divisors": None,          # per-pair inv_freq divisors (llama3)
        "window": window,
        "vocab": int(hf.get("vocab_size", 0)),
    }

    # RoPE scaling.
    rs = hf.get("rope_scaling")
    if rs:
        kind = rs.get("rope_type") or rs.get("type") or "default"
        if kind == "llama3":
            cfg["freq_divisors"] = llama3_freq_divisors(
                cfg["theta"], head_dim, float(rs["factor"]),
                float(rs.get("low_freq_factor", 1.0)),
                float(rs.get("high_freq_factor", 4.0)),
                float(rs["original_max_position_embeddings"]))
        elif kind == "linear":
            cfg["pos_scale"] = 1.0 / float(rs["factor"])
        elif kind != "default":
            raise ModelError(f"unsupported rope_scaling {rs!r}")

    # Weights, renamed to the canonical (GGUF-like) names used by forward().
    def take(name, required=True):
        if name in tensors:
            return tensors[name]
        if required:
            raise ModelError(f"{folder}: missing tensor {name}")
        return None

    w = {"tok_embd": take("model.embed_tokens.weight"),
         "out_norm": take("model.norm.weight")}
    tied = bool(hf.get("tie_word_embeddings", False))
    lm_head = None if tied else take("lm_head.weight", required=False)
    w["output"] = lm_head if lm_head is not None else w["tok_embd"]
    for i in range(cfg["n_layer"]):
        p = f"model.layers.{i}."
        w[f"{i}.attn_norm"] = take(p + "input_layernorm.weight")
        w[f"{i}.ffn_norm"] = take(p + "post_attention_layernorm.weight")
        for short, long in (("q", "q_proj"), ("k", "k_proj"), ("v", "v_proj"), ("o", "o_proj")):
            w[f"{i}.w{short}"] = take(p + f"self_attn.{long}.weight")
            # Biases: qwen2 always has q/k/v ones; llama/mistral may have
            # them with attention_bias=true.  Use whatever is present.
            w[f"{i}.b{short}"] = take(p + f"self_attn.{long}.bias", required=False)
        if model_type == "qwen2":
            for short in ("q", "k", "v"):
                if w[f"{i}.b{short}"] is None:
                    raise ModelError(f"qwen2 layer {i}: missing {short}_proj bias")
        if model_type == "qwen3":
            w[f"{i}.q_norm"] = take(p + "self_attn.q_norm.weight")
            w[f"{i}.k_norm"] = take(p + "self_attn.k_norm.weight")
        for short in ("gate", "up", "down"):
            w[f"{i}.{short}"] = take(p + f"mlp.{short}_proj.weight")
            w[f"{i}.{short}_b"] = take(p + f"mlp.{short}_proj.bias", required=False)
    if not cfg["vocab"]:
        cfg["vocab"] = w["output"].shape[0]
    return cfg, w


def llama3_freq_divisors(theta, head_dim, factor, low_freq_factor, high_freq_factor, original):
    """Per-pair divisors d[i] such that the llama3-scaled inv_freq is inv_freq / d.

    This is HF's _compute_llama3_parameters written as a divisor (the same
    form llama.cpp's converter stores in rope_freqs.weight).
    """
    inv_freq = theta ** (-np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    low_freq_wavelen = original / low_freq_factor
    high_freq_wavelen = original / high_freq_factor
    wavelen = 2.0 * math.pi / inv_freq
    scaled = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (original / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed = (1.0 - smooth) * scaled / factor + smooth * scaled
    medium = (wavelen >= high_freq_wavelen) & (wavelen <= low_freq_wavelen)
    scaled = np.where(medium, smoothed, scaled)
    return inv_freq / scaled


# ----------------------------------------------------------------------------
# GGUF
# ----------------------------------------------------------------------------

# ggml tensor types: id -> (name, elements per block, bytes per block).
GGML_TYPES = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    8: ("Q8_0", 32, 34),
    14: ("Q6_K", 256, 210),
    28: ("F64", 1, 8),
    30: ("BF16", 1, 2),
}

# GGUF metadata value types: id -> struct format of the scalar (8 = string, 9 = array).
GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f",
                7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class GgufReader:
    """Parses a whole GGUF file held in memory."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.blob = f.read()
        self.path = path
        self.pos = 0
        if self.blob[:4] != b"GGUF":
            raise ModelError(f"{path}: not a GGUF file (bad magic)")
        self.pos = 4
        self.version = self._u32()
        if self.version not in (1, 2, 3):
            raise ModelError(f"{path}: unsupported GGUF version {self.version}")
        # Version 1 used 32-bit counts and lengths; 2 and 3 use 64-bit ones.
        self._count = self._u32 if self.version == 1 else self._u64
        n_tensors = self._count()
        n_kv = self._count()

        self.kv = {}
        for _ in range(n_kv):
            key = self._string()
            vtype = self._u32()
            self.kv[key] = self._value(vtype)

        infos = []
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._u32()
            ne = [self._count() for _ in range(n_dims)]
            ttype = self._u32()
            offset = self._u64()
            infos.append((name, ne, ttype, offset))

        alignment = int(self.kv.get("general.alignment", 32))
        data_start = (self.pos + alignment - 1) // alignment * alignment
        self.tensor_info = {}
        for name, ne, ttype, offset in infos:
            self.tensor_info[name] = (ne, ttype, data_start + offset)

    # -- primitive readers --
    def _unpack(self, fmt):
        (v,) = struct.unpack_from(fmt, self.blob, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def _u32(self):
        return self._unpack("<I")

    def _u64(self):
        return self._unpack("<Q")

    def _string(self):
        n = self._count()
        s = self.blob[self.pos:self.pos + n].decode("utf-8", errors="replace")
        self.pos += n
        return s

    def _value(self, vtype):
        if vtype in GGUF_SCALARS:
            return self._unpack(GGUF_SCALARS[vtype])
        if vtype == 8:
            return self._string()
        if vtype == 9:
            elem_type = self._u32()
            n = self._count()
            if elem_type in GGUF_SCALARS and elem_type != 7:
                # Fast path for big numeric arrays (token scores, types...).
                dt = np.dtype(GGUF_SCALARS[elem_type])
                arr = np.frombuffer(self.blob, dtype=dt, count=n, offset=self.pos)
                self.pos += n * dt.itemsize
                return arr.tolist()
            return [self._value(elem_type) for _ in range(n)]
        raise ModelError(f"{self.path}: unknown metadata value type {vtype}")

    # -- tensors --
    def has(self, name):
        return name in self.tensor_info

    def tensor(self, name):
        """Returns the tensor as a float64 array of shape reversed(ne)."""
        if name not in self.tensor_info:
            raise ModelError(f"{self.path}: missing tensor {name}")
        ne, ttype, start = self.tensor_info[name]
        if ttype not in GGML_TYPES:
            raise ModelError(f"{self.path}: tensor {name}: unsupported ggml type {ttype}")
        tname, block, block_bytes = GGML_TYPES[ttype]
        n = int(np.prod(ne, dtype=np.int64)) if ne else 1
        if n % block:
            raise ModelError(f"{self.path}: tensor {name}: {n} elements not a multiple of {block}")
        nbytes = n // block * block_bytes
        if start + nbytes > len(self.blob):
            raise ModelError(f"{self.path}: tensor {name} extends past end of file")
        raw = self.blob[start:start + nbytes]
        if tname == "F32":
            flat = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif tname == "F16":
            flat = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif tname == "F64":
            flat = np.frombuffer(raw, dtype="<f8").astype(np.float64)
        elif tname == "BF16":
            flat = bf16_to_f32(np.frombuffer(raw, dtype="<u2")).astype(np.float64)
        elif tname == "Q8_0":
            # Block: fp16 scale d, then 32 int8 quants; x = d * q.
            blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 34)
            d = blocks[:, :2].copy().view("<f2").astype(np.float64)      # [nb, 1]
            q = blocks[:, 2:].copy().view(np.int8).astype(np.float64)    # [nb, 32]
            flat = (d * q).reshape(-1)
        elif tname == "Q4_0":
            # Block: fp16 scale d, then 16 bytes; element j (< 16) is the low
            # nibble of byte j, element j + 16 its high nibble; x = (nib - 8) * d.
            blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 18)
            d = blocks[:, :2].copy().view("<f2").astype(np.float64)      # [nb, 1]
            qs = blocks[:, 2:]
            nib = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float64)
            flat = ((nib - 8.0) * d).reshape(-1)
        elif tname == "Q6_K":
            # Super-block of 256: ql[128] (low 4 bits), qh[64] (high 2 bits),
            # 16 int8 scales, fp16 d. Each half h of 128 elements uses
            # ql[64h:64h+64], qh[32h:32h+32] and scales[8h:8h+8]; for l < 32
            # its elements l, l+32, l+64, l+96 take ql[l] low, ql[l+32] low,
            # ql[l] high, ql[l+32] high as low bits and qh[l] bits 0-1, 2-3,
            # 4-5, 6-7 as high bits, minus 32, times d * the scale of their
            # group of 16.
            blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 210)
            ql = blocks[:, :128].astype(np.int64)
            qh = blocks[:, 128:192].astype(np.int64)
            sc = blocks[:, 192:208].copy().view(np.int8).astype(np.float64)    # [nb, 16]
            d = blocks[:, 208:210].copy().view("<f2").astype(np.float64)       # [nb, 1]
            out = np.empty((blocks.shape[0], 256))
            l = np.arange(32)
            for h in range(2):
                lo = ql[:, 64 * h:64 * h + 64]
                hi = qh[:, 32 * h:32 * h + 32]
                quads = [(lo[:, :32] & 0x0F) | ((hi & 3) << 4),
                         (lo[:, 32:] & 0x0F) | (((hi >> 2) & 3) << 4),
                         (lo[:, :32] >> 4) | (((hi >> 4) & 3) << 4),
                         (lo[:, 32:] >> 4) | (((hi >> 6) & 3) << 4)]
                for k, q in enumerate(quads):
                    scale = sc[:, 8 * h + 2 * k + l // 16]                       # [nb, 32]
                    out[:, 128 * h + 32 * k + l] = d * scale * (q - 32)
            flat = out.reshape(-1)
        else:  # pragma: no cover - GGML_TYPES and this chain agree
            raise ModelError(f"unhandled type {tname}")
        return flat.reshape(tuple(reversed([int(x) for x in ne])))


def load_gguf(path):
    """Returns (config, weights) for a GGUF file."""
    g = GgufReader(path)
    kv = g.kv
    arch = kv.get("general.architecture", "llama")
    if arch not in ("llama", "qwen2", "qwen3"):
        raise ModelError(f"{path}: unsupported architecture {arch!r}")

    def key(suffix, default=None, required=False):
        k = f"{arch}.{suffix}"
        if k in kv:
            v = kv[k]
            if isinstance(v, list):
                # Per-layer arrays (some newer models) must be uniform here.
                if len(set(v)) != 1:
                    raise ModelError(f"{path}: per-layer {k} values are not supported")
                v = v[0]
            return v
        if required:
            raise ModelError(f"{path}: missing metadata key {k}")
        return default

    n_embd = int(key("embedding_length", required=True))
    n_head = int(key("attention.head_count", required=True))
    n_kv = int(key("attention.head_count_kv", n_head))
    head_dim = int(key("attention.key_length", n_embd // n_head))
    value_len = int(key("attention.value_length", head_dim))
    if value_len != head_dim:
        raise ModelError(f"{path}: key_length != value_length is not supported")
    rot_dim = int(key("rope.dimension_count", head_dim))
    theta = float(key("rope.freq_base", 10000.0))

    cfg = {
        "arch": arch,
        "n_embd": n_embd,
        "n_ff": int(key("feed_forward_length", required=True)),
        "n_layer": int(key("block_count", required=True)),
        "n_head": n_head,
        "n_kv": n_kv,
        "head_dim": head_dim,
        "rot_dim": rot_dim,
        "eps": float(key("attention.layer_norm_rms_epsilon", 1e-5)),
        "theta": theta,
        # llama GGUF: Q/K rows were permuted by the converter -> interleaved
        # pairs (2i, 2i+1).  qwen2/qwen3: NEOX half-split like HF.
        "rope_interleaved": arch == "llama",
        "pos_scale": 1.0,
        "freq_divisors": None,
        "window": None,
        "vocab": 0,
    }

    # RoPE scaling.  llama.cpp: freq_scale = 1 / factor multiplies positions
    # (linear); llama3-style scaling arrives as per-pair divisors in the
    # rope_freqs.weight tensor, independent of the scaling type key.
    scaling_type = key("rope.scaling.type", "none")
    factor = key("rope.scaling.factor")
    if factor is None and key("rope.scale_linear") is not None:
        scaling_type, factor = "linear", key("rope.scale_linear")
    if scaling_type == "linear" and factor:
        cfg["pos_scale"] = 1.0 / float(factor)
    elif scaling_type not in ("none", "linear"):
        raise ModelError(f"{path}: unsupported rope scaling type {scaling_type!r}")
    if g.has("rope_freqs.weight"):
        div = g.tensor("rope_freqs.weight").reshape(-1)
        if div.size != rot_dim // 2:
            raise ModelError(f"{path}: rope_freqs.weight has {div.size} entries, want {rot_dim // 2}")
        cfg["freq_divisors"] = div

    w = {"tok_embd": g.tensor("token_embd.weight"),
         "out_norm": g.tensor("output_norm.weight")}
    w["output"] = g.tensor("output.weight") if g.has("output.weight") else w["tok_embd"]

    def opt(name):
        return g.tensor(name) if g.has(name) else None

    for i in range(cfg["n_layer"]):
        p = f"blk.{i}."
        w[f"{i}.attn_norm"] = g.tensor(p + "attn_norm.weight")
        w[f"{i}.ffn_norm"] = g.tensor(p + "ffn_norm.weight")
        for short, name in (("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v"), ("o", "attn_output")):
            w[f"{i}.w{short}"] = g.tensor(p + name + ".weight")
            w[f"{i}.b{short}"] = opt(p + name + ".bias")
        if arch == "qwen3":
            w[f"{i}.q_norm"] = g.tensor(p + "attn_q_norm.weight")
            w[f"{i}.k_norm"] = g.tensor(p + "attn_k_norm.weight")
        for short in ("gate", "up", "down"):
            w[f"{i}.{short}"] = g.tensor(p + f"ffn_{short}.weight")
            w[f"{i}.{short}_b"] = opt(p + f"ffn_{short}.bias")
    cfg["vocab"] = w["output"].shape[0]
    return cfg, w


# ----------------------------------------------------------------------------
# Forward pass
# ----------------------------------------------------------------------------

def rms_norm(x, weight, eps):
    """x / sqrt(mean(x^2) + eps) * weight over the last axis."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def silu(x):
    return x / (1.0 + np.exp(-x))


def linear(x, weight, bias=None):
    """x @ weight.T (+ bias); weight is [out, in] as in HF / GGUF."""
    y = x @ weight.T
    return y if bias is None else y + bias


class Model:
    def __init__(self, cfg, weights, kv_fp16=False):
        self.cfg = cfg
        self.w = weights
        # Round K and V through IEEE half before attention (a float16 KV cache).
        self.kv_fp16 = kv_fp16
        c = cfg
        if c["n_head"] % c["n_kv"]:
            raise ModelError("num_attention_heads must be a multiple of num_key_value_heads")
        if c["rot_dim"] % 2 or c["rot_dim"] > c["head_dim"]:
            raise ModelError("bad rotary dimension")
        half = c["rot_dim"] // 2
        inv_freq = c["theta"] ** (-np.arange(half, dtype=np.float64) * 2.0 / c["rot_dim"])
        if c["freq_divisors"] is not None:
            inv_freq = inv_freq / np.asarray(c["freq_divisors"], dtype=np.float64)
        self.inv_freq = inv_freq

    def rope(self, x, positions):
        """Rotates x [T, heads, head_dim] in place-free fashion; returns a new array."""
        c = self.cfg
        rot = c["rot_dim"]
        ang = (positions[:, None] * c["pos_scale"]) * self.inv_freq[None, :]   # [T, rot/2]
        cos = np.cos(ang)[:, None, :]
        sin = np.sin(ang)[:, None, :]
        out = x.copy()
        if c["rope_interleaved"]:
            a, b = x[..., 0:rot:2], x[..., 1:rot:2]          # pairs (2i, 2i+1)
            out[..., 0:rot:2] = a * cos - b * sin
            out[..., 1:rot:2] = a * sin + b * cos
        else:
            a, b = x[..., :rot // 2], x[..., rot // 2:rot]    # pairs (i, i + rot/2)
            out[..., :rot // 2] = a * cos - b * sin
            out[..., rot // 2:rot] = a * sin + b * cos
        return out

    def forward(self, tokens):
        """Returns (logits [T, vocab], hidden [T, n_embd]) in float64.

        hidden is the final hidden state after the output RMSNorm.
        """
        c, w = self.cfg, self.w
        tokens = np.asarray(tokens, dtype=np.int64)
        if tokens.ndim != 1 or tokens.size == 0:
            raise ValueError("tokens must be a non-empty 1-D sequence")
        if tokens.min() < 0 or tokens.max() >= w["tok_embd"].shape[0]:
            raise ValueError("token id out of range")
        T = tokens.size
        H, KV, hd = c["n_head"], c["n_kv"], c["head_dim"]
        group = H // KV
        positions = np.arange(T, dtype=np.float64)

        # Causal mask (plus the sliding window, if any): allowed[t, s].
        t_idx = np.arange(T)[:, None]
        s_idx = np.arange(T)[None, :]
        allowed = s_idx <= t_idx
        if c["window"]:
            allowed &= (t_idx - s_idx) < c["window"]

        x = w["tok_embd"][tokens]                              # [T, D]
        for i in range(c["n_layer"]):
            h = rms_norm(x, w[f"{i}.attn_norm"], c["eps"])
            q = linear(h, w[f"{i}.wq"], w[f"{i}.bq"]).reshape(T, H, hd)
            k = linear(h, w[f"{i}.wk"], w[f"{i}.bk"]).reshape(T, KV, hd)
            v = linear(h, w[f"{i}.wv"], w[f"{i}.bv"]).reshape(T, KV, hd)
            if c["arch"] == "qwen3":
                # Per-head RMSNorm over head_dim, before RoPE.
                q = rms_norm(q, w[f"{i}.q_norm"], c["eps"])
                k = rms_norm(k, w[f"{i}.k_norm"], c["eps"])
            q = self.rope(q, positions)
            k = self.rope(k, positions)
            if self.kv_fp16:
                k = k.astype(np.float16).astype(np.float64)
                v = v.astype(np.float16).astype(np.float64)
            # GQA: query head h reads kv head h // group.
            k = np.repeat(k, group, axis=1)                    # [T, H, hd]
            v = np.repeat(v, group, axis=1)
            scores = np.einsum("thd,shd->hts", q, k) / math.sqrt(hd)
            scores = np.where(allowed[None], scores, -np.inf)
            scores -= scores.max(axis=-1, keepdims=True)
            p = np.exp(scores)
            p /= p.sum(axis=-1, keepdims=True)
            attn = np.einsum("hts,shd->thd", p, v).reshape(T, H * hd)
            x = x + linear(attn, w[f"{i}.wo"], w[f"{i}.bo"])

            h = rms_norm(x, w[f"{i}.ffn_norm"], c["eps"])
            gate = linear(h, w[f"{i}.gate"], w[f"{i}.gate_b"])
            up = linear(h, w[f"{i}.up"], w[f"{i}.up_b"])
            x = x + linear(silu(gate) * up, w[f"{i}.down"], w[f"{i}.down_b"])

        hidden = rms_norm(x, w["out_norm"], c["eps"])
        logits = hidden @ w["output"].T
        return logits, hidden


def load_model(path, kv_fp16=False):
    """Loads a Hugging Face folder or a GGUF file into a Model."""
    if os.path.isdir(path):
        cfg, w = load_hf_folder(path)
    else:
        cfg, w = load_gguf(path)
    return Model(cfg, w, kv_fp16)


def top_k(row, k):
    """Indices of the k largest values, descending; ties go to the lower id."""
    order = np.lexsort((np.arange(row.size), -row))
    return order[:k]


# ----------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="HF folder or .gguf file")
    ap.add_argument("--tokens", required=True, help="comma-separated token ids")
    ap.add_argument("--out", help="write the JSON here instead of stdout")
    ap.add_argument("--top", type=int, default=0, help="print only the top-K logits per position")
    ap.add_argument("--hidden", action="store_true", help="also output final hidden states")
    ap.add_argument("--greedy", type=int, default=0,
                    help="first extend the sequence by N greedy tokens")
    ap.add_argument("--kv-cache-dtype", choices=("float32", "float16"), default="float32",
                    help="float16: round K and V through np.float16 before attention")
    args = ap.parse_args(argv)

    try:
        tokens = [int(t) for t in args.tokens.replace(" ", "").split(",") if t]
        model = load_model(args.model, kv_fp16=args.kv_cache_dtype == "float16")
        generated = []
        for _ in range(args.greedy):
            logits, _ = model.forward(tokens)
            nxt = int(top_k(logits[-1], 1)[0])
            generated.append(nxt)
            tokens.append(nxt)
        logits, hidden = model.forward(tokens)
    except (ModelError, ValueError, KeyError, OSError) as e:
        sys.stderr.write(f"ref_model: error: {type(e).__name__}: {e}\n")
        return 2

    result = {}
    if args.greedy:
        result["tokens"] = tokens
        result["generated"] = generated
    if args.top:
        result["top"] = []
        for pos, row in enumerate(logits):
            ids = top_k(row, args.top)
            result["top"].append({"pos": pos, "ids": [int(i) for i in ids],
                                  "logits": [float(row[i]) for i in ids]})
    else:
        result["logits"] = logits.tolist()
    if args.hidden:
        result["hidden"] = hidden.tolist()

    text = json.dumps(result)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
