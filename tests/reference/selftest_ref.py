#!/usr/bin/python3
"""Self-test of ref_model.py on random tiny models.

For each architecture (llama with GQA and llama3 rope scaling, qwen2 with
q/k/v biases and linear rope scaling, qwen3 with q/k norms and a head_dim
that differs from hidden/heads, mistral) this builds a random model in numpy
and writes it

* as a Hugging Face folder (config.json + safetensors, once sharded with an
  index), and
* as GGUF files in several tensor encodings (F32, F16, BF16, Q8_0, Q4_0),
  applying llama.cpp's Q/K row permutation for the llama architecture and the
  rope_freqs.weight tensor for llama3 scaling, as llama.cpp's converter does.

It then checks that
1. ref_model's logits for the HF F32 folder equal those of a slow, loop-based
   forward pass written here from the textbook definitions (so the HF path is
   checked against code that shares nothing with ref_model.py);
2. every GGUF encoding gives the same logits as an HF folder holding exactly
   the values that encoding represents (dequantized here, independently of
   ref_model's decoders), to 1e-9;
3. the test has teeth: reading the llama GGUF with half-split RoPE, i.e.
   forgetting the permutation, changes the logits.
4. the command line works (--out, --top, --hidden, --greedy);
5. on the real stories260K.gguf (llama, F32, GQA) from shared/models, when
   present: greedy decoding from BOS reproduces the first 64 recorded ids, the
   recorded top-5 logits of positions 0-7 match within 1e-4 and the recorded
   L2-normalised final hidden states within 1e-5.

Run: /usr/bin/python3 tests/reference/selftest_ref.py   (exit status 0 = pass)
"""

import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ref_model  # noqa: E402

TOL = 1e-9


# ----------------------------------------------------------------------------
# Random models (float64 values already rounded to what F32 storage keeps)
# ----------------------------------------------------------------------------

def make_model(rng, arch, n_embd=64, n_ff=96, n_layer=2, n_head=4, n_kv=2, head_dim=16,
               vocab=96, tied=False):
    def mat(rows, cols, scale=None):
        scale = scale if scale is not None else 1.0 / math.sqrt(cols)
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32).astype(np.float64)

    def norm_w(n):
        return (1.0 + 0.2 * rng.standard_normal(n)).astype(np.float32).astype(np.float64)

    t = {"model.embed_tokens.weight": mat(vocab, n_embd, 1.0),
         "model.norm.weight": norm_w(n_embd)}
    if not tied:
        t["lm_head.weight"] = mat(vocab, n_embd)
    for i in range(n_layer):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = norm_w(n_embd)
        t[p + "post_attention_layernorm.weight"] = norm_w(n_embd)
        t[p + "self_attn.q_proj.weight"] = mat(n_head * head_dim, n_embd)
        t[p + "self_attn.k_proj.weight"] = mat(n_kv * head_dim, n_embd)
        t[p + "self_attn.v_proj.weight"] = mat(n_kv * head_dim, n_embd)
        t[p + "self_attn.o_proj.weight"] = mat(n_embd, n_head * head_dim)
        if arch == "qwen2":
            for proj, n in (("q", n_head), ("k", n_kv), ("v", n_kv)):
                t[p + f"self_attn.{proj}_proj.bias"] = (
                    0.3 * rng.standard_normal(n * head_dim)).astype(np.float32).astype(np.float64)
        if arch == "qwen3":
            t[p + "self_attn.q_norm.weight"] = norm_w(head_dim)
            t[p + "self_attn.k_norm.weight"] = norm_w(head_dim)
        t[p + "mlp.gate_proj.weight"] = mat(n_ff, n_embd)
        t[p + "mlp.up_proj.weight"] = mat(n_ff, n_embd)
        t[p + "mlp.down_proj.weight"] = mat(n_embd, n_ff)
    config = {
        "architectures": [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                           "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}[arch]],
        "model_type": arch,
        "hidden_size": n_embd,
        "intermediate_size": n_ff,
        "num_hidden_layers": n_layer,
        "num_attention_heads": n_head,
        "num_key_value_heads": n_kv,
        "head_dim": head_dim,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "tie_word_embeddings": tied,
        "vocab_size": vocab,
    }
    return config, t


# ----------------------------------------------------------------------------
# Slow textbook forward pass on the HF tensors (independent of ref_model)
# ----------------------------------------------------------------------------

def naive_forward(config, t, tokens):
    D = config["hidden_size"]
    H = config["num_attention_heads"]
    KV = config["num_key_value_heads"]
    hd = config.get("head_dim") or D // H
    eps = config["rms_norm_eps"]
    theta = config.get("rope_theta", 10000.0)
    arch = config["model_type"]
    window = config.get("sliding_window") if arch == "mistral" else None

    # RoPE frequencies, one branch at a time as in the llama3 definition.
    inv_freq = [theta ** (-2.0 * i / hd) for i in range(hd // 2)]
    pos_div = 1.0
    rs = config.get("rope_scaling")
    if rs:
        kind = rs.get("rope_type") or rs.get("type")
        if kind == "llama3":
            f, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
            orig = rs["original_max_position_embeddings"]
            new = []
            for fr in inv_freq:
                wavelen = 2 * math.pi / fr
                if wavelen < orig / hi:
                    new.append(fr)
                elif wavelen > orig / lo:
                    new.append(fr / f)
                else:
                    s = (orig / wavelen - lo) / (hi - lo)
                    new.append((1 - s) * fr / f + s * fr)
            inv_freq = new
        elif kind == "linear":
            pos_div = rs["factor"]

    def rms(v, w):
        return v / math.sqrt(float(np.dot(v, v)) / v.size + eps) * w

    def rope(vec, pos):  # vec: one head, half-split pairs (i, i + hd/2)
        out = vec.copy()
        for i in range(hd // 2):
            a, b = vec[i], vec[i + hd // 2]
            ang = (pos / pos_div) * inv_freq[i]
            out[i] = a * math.cos(ang) - b * math.sin(ang)
            out[i + hd // 2] = a * math.sin(ang) + b * math.cos(ang)
        return out

    def get(name):
        return t.get(name)

    T = len(tokens)
    xs = [t["model.embed_tokens.weight"][tok].copy() for tok in tokens]
    for L in range(config["num_hidden_layers"]):
        p = f"model.layers.{L}."
        qs, ks, vs = [], [], []
        for pos in range(T):
            h = rms(xs[pos], t[p + "input_layernorm.weight"])
            q = t[p + "self_attn.q_proj.weight"] @ h
            k = t[p + "self_attn.k_proj.weight"] @ h
            v = t[p + "self_attn.v_proj.weight"] @ h
            for name, vec in (("q", q), ("k", k), ("v", v)):
                b = get(p + f"self_attn.{name}_proj.bias")
                if b is not None:
                    vec += b
            qh = [q[j * hd:(j + 1) * hd] for j in range(H)]
            kh = [k[j * hd:(j + 1) * hd] for j in range(KV)]
            if arch == "qwen3":
                qh = [rms(v_, t[p + "self_attn.q_norm.weight"]) for v_ in qh]
                kh = [rms(v_, t[p + "self_attn.k_norm.weight"]) for v_ in kh]
            qs.append([rope(v_, pos) for v_ in qh])
            ks.append([rope(v_, pos) for v_ in kh])
            vs.append([v[j * hd:(j + 1) * hd] for j in range(KV)])
        new_xs = []
        for pos in range(T):
            heads = []
            for j in range(H):
                kvh = j // (H // KV)
                # Keys [first, pos]: causal, and within the sliding window.
                first = max(0, pos - window + 1) if window else 0
                keys = range(first, pos + 1)
                sc = [float(np.dot(qs[pos][j], ks[s][kvh])) / math.sqrt(hd) for s in keys]
                m = max(sc)
                e = [math.exp(s_ - m) for s_ in sc]
                z = sum(e)
                o = sum((e[n] / z) * vs[s][kvh] for n, s in enumerate(keys))
                heads.append(o)
            x = xs[pos] + t[p + "self_attn.o_proj.weight"] @ np.concatenate(heads)
            h = rms(x, t[p + "post_attention_layernorm.weight"])
            g = t[p + "mlp.gate_proj.weight"] @ h
            u = t[p + "mlp.up_proj.weight"] @ h
            act = np.array([gi / (1 + math.exp(-gi)) for gi in g]) * u
            new_xs.append(x + t[p + "mlp.down_proj.weight"] @ act)
        xs = new_xs
    head = t.get("lm_head.weight")
    if head is None or config["tie_word_embeddings"]:
        head = t["model.embed_tokens.weight"]
    return np.array([head @ rms(x, t["model.norm.weight"]) for x in xs])


# ----------------------------------------------------------------------------
# Encodings: F16, BF16, Q8_0, Q4_0 (ggml's reference quantizers)
# ----------------------------------------------------------------------------

def f32_to_bf16_bits(x):
    """Round-to-nearest-even float32 -> bf16 bits (as ggml does, no NaNs here)."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)


def quant_q8_0(w):
    """Returns (bytes, dequantized float64 values) for rows of w (cols % 32 == 0)."""
    x = w.astype(np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = amax / np.float32(127)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = x * inv[:, None]
    q = (np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))).astype(np.int8)   # roundf
    d16 = d.astype(np.float16)
    blocks = np.zeros((x.shape[0], 34), dtype=np.uint8)
    blocks[:, :2] = d16.reshape(-1, 1).view(np.uint8)
    blocks[:, 2:] = q.view(np.uint8)
    deq = d16.astype(np.float64)[:, None] * q.astype(np.float64)
    return blocks.tobytes(), deq.reshape(w.shape)


def quant_q4_0(w):
    """Returns (bytes, dequantized float64 values) for rows of w (cols % 32 == 0)."""
    x = w.astype(np.float32).reshape(-1, 32)
    idx = np.abs(x).argmax(axis=1)
    mx = x[np.arange(x.shape[0]), idx]          # signed value of largest magnitude
    d = (mx / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    q = np.minimum(15, np.trunc(x * inv[:, None] + np.float32(8.5))).astype(np.uint8)
    d16 = d.astype(np.float16)
    blocks = np.zeros((x.shape[0], 18), dtype=np.uint8)
    blocks[:, :2] = d16.reshape(-1, 1).view(np.uint8)
    blocks[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    deq = (q.astype(np.float64) - 8.0) * d16.astype(np.float64)[:, None]
    return blocks.tobytes(), deq.reshape(w.shape)


# ggml type ids.
GGML = {"F32": 0, "F16": 1, "Q4_0": 2, "Q8_0": 8, "BF16": 30}


def encode(w, enc):
    """Returns (ggml type id, bytes, represented float64 values) of tensor w."""
    if enc == "F32":
        a = w.astype(np.float32)
        return GGML["F32"], a.tobytes(), a.astype(np.float64)
    if enc == "F16":
        a = w.astype(np.float16)
        return GGML["F16"], a.tobytes(), a.astype(np.float64)
    if enc == "BF16":
        bits = f32_to_bf16_bits(w)
        vals = (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
        return GGML["BF16"], bits.tobytes(), vals.reshape(w.shape)
    if enc == "Q8_0":
        b, v = quant_q8_0(w)
        return GGML["Q8_0"], b, v
    if enc == "Q4_0":
        b, v = quant_q4_0(w)
        return GGML["Q4_0"], b, v
    raise ValueError(enc)


# ----------------------------------------------------------------------------
# Writers
# ----------------------------------------------------------------------------

def write_safetensors(path, tensors, matrix_dtype="F32"):
    """tensors: {name: float64 array}.  2-D tensors are written as matrix_dtype
    (F32, F16 or BF16), 1-D ones (norms, biases) as F32 like the GGUF side."""
    header, chunks, off = {}, [], 0
    for name in sorted(tensors):
        a = tensors[name]
        dtype = matrix_dtype if a.ndim >= 2 else "F32"
        if dtype == "F32":
            raw = a.astype("<f4").tobytes()
        elif dtype == "F16":
            raw = a.astype("<f2").tobytes()
        else:
            raw = f32_to_bf16_bits(a).astype("<u2").tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    hb = json.dumps(header).encode("utf-8")
    hb += b" " * (-len(hb) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for c in chunks:
            f.write(c)


def write_hf_folder(folder, config, tensors, dtype="F32", shards=1):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), tensors, dtype)
        return
    names = sorted(tensors)
    weight_map = {}
    for s in range(shards):
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[s::shards]}
        write_safetensors(os.path.join(folder, fname), part, dtype)
        weight_map.update({n: fname for n in part})
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


# Metadata values: (type id, python value[, element type for arrays]).
def gguf_value(vtype, value, elem_type=None):
    fmts = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
    if vtype in fmts:
        return struct.pack(fmts[vtype], value)
    if vtype == 8:
        return gguf_string(value)
    if vtype == 9:
        out = struct.pack("<I", elem_type) + struct.pack("<Q", len(value))
        for v in value:
            if elem_type == 9:   # nested arrays: (elem_type, list)
                out += gguf_value(9, v[1], v[0])
            else:
                out += gguf_value(elem_type, v)
        return out
    raise ValueError(vtype)


def write_gguf(path, kvs, tensors, version=3, alignment=32):
    """kvs: [(key, type, value[, elem_type])]; tensors: [(name, ggml type, shape, bytes)].

    shape is the numpy (row-major) shape; GGUF stores it fastest-first.
    """
    if alignment != 32:
        kvs = kvs + [("general.alignment", 4, alignment)]
    out = b"GGUF" + struct.pack("<I", version) + struct.pack("<QQ", len(tensors), len(kvs))
    for kv in kvs:
        key, vtype, value = kv[:3]
        elem = kv[3] if len(kv) > 3 else None
        out += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value, elem)
    offset, data = 0, b""
    for name, ttype, shape, raw in tensors:
        out += gguf_string(name) + struct.pack("<I", len(shape))
        for d in reversed(shape):
            out += struct.pack("<Q", d)
        out += struct.pack("<IQ", ttype, offset)
        pad = -len(raw) % alignment
        data += raw + b"\0" * pad
        offset += len(raw) + pad
    out += b"\0" * (-len(out) % alignment)
    with open(path, "wb") as f:
        f.write(out + data)


def permute_qk(w, n_head):
    """llama.cpp converter's row permutation of Q/K weights for the llama arch."""
    rows, cols = w.shape
    return w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def llama3_rope_freqs(config):
    """The rope_freqs.weight tensor llama.cpp's converter writes for llama3 scaling."""
    rs = config["rope_scaling"]
    hd = config["head_dim"]
    base = config["rope_theta"]
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    out = []
    for i in range(0, hd, 2):
        freq = 1.0 / base ** (i / hd)
        wavelen = 2 * math.pi / freq
        if wavelen < old / hi:
            out.append(1.0)
        elif wavelen > old / lo:
            out.append(factor)
        else:
            smooth = (old / wavelen - lo) / (hi - lo)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def to_gguf(path, config, t, enc, version=3, alignment=32):
    """Writes the HF tensors t as a GGUF file with 2-D weights encoded as enc.

    Returns the HF tensor dict holding exactly the values the GGUF represents
    (in HF layout: permutation undone), for writing the comparison folder.
    """
    arch = config["model_type"]
    gg_arch = "llama" if arch in ("llama", "mistral") else arch
    H, KV, hd = (config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"])
    kvs = [
        ("general.architecture", 8, gg_arch),
        ("general.name", 8, "selftest"),
        (f"{gg_arch}.context_length", 4, 256),
        (f"{gg_arch}.embedding_length", 4, config["hidden_size"]),
        (f"{gg_arch}.feed_forward_length", 4, config["intermediate_size"]),
        (f"{gg_arch}.block_count", 4, config["num_hidden_layers"]),
        (f"{gg_arch}.attention.head_count", 4, H),
        (f"{gg_arch}.attention.head_count_kv", 4, KV),
        (f"{gg_arch}.attention.key_length", 4, hd),
        (f"{gg_arch}.attention.value_length", 4, hd),
        (f"{gg_arch}.rope.dimension_count", 4, hd),
        (f"{gg_arch}.attention.layer_norm_rms_epsilon", 6, config["rms_norm_eps"]),
        (f"{gg_arch}.rope.freq_base", 6, config["rope_theta"]),
        # Keys of every other metadata type, to exercise the parser.
        ("tokenizer.ggml.model", 8, "gpt2"),
        ("tokenizer.ggml.tokens", 9, [f"t{i}" for i in range(config["vocab_size"])], 8),
        ("tokenizer.ggml.scores", 9, [float(-i) for i in range(config["vocab_size"])], 6),
        ("tokenizer.ggml.token_type", 9, [1] * config["vocab_size"], 5),
        ("tokenizer.ggml.add_bos_token", 7, True),
        ("selftest.u8", 0, 200), ("selftest.i8", 1, -5), ("selftest.u16", 2, 60000),
        ("selftest.i16", 3, -30000), ("selftest.u64", 10, 2 ** 40), ("selftest.i64", 11, -2 ** 40),
        ("selftest.f64", 12, 0.125),
        ("selftest.nested", 9, [(4, [1, 2]), (8, ["a", "b", "c"])], 9),
        ("selftest.bools", 9, [True, False], 7),
    ]
    rs = config.get("rope_scaling")
    tensors = []
    if rs and (rs.get("rope_type") or rs.get("type")) == "linear":
        kvs += [(f"{gg_arch}.rope.scaling.type", 8, "linear"),
                (f"{gg_arch}.rope.scaling.factor", 6, float(rs["factor"]))]
    if rs and rs.get("rope_type") == "llama3":
        rf = llama3_rope_freqs(config)
        tensors.append(("rope_freqs.weight", GGML["F32"], rf.shape, rf.tobytes()))

    represented = {}

    def add(gname, hfname, permute_heads=None):
        w = t[hfname]
        if w.ndim == 1:       # norms and biases stay F32, as llama.cpp keeps them
            ttype, raw, vals = encode(w, "F32")
        else:
            stored = permute_qk(w, permute_heads) if permute_heads else w
            ttype, raw, vals = encode(stored, enc)
            if permute_heads:
                # Undo the permutation on the represented values (row-wise
                # encodings commute with row permutations).
                inv = np.argsort(permute_qk(np.arange(w.shape[0])[:, None], permute_heads)[:, 0])
                vals = vals[inv]
        represented[hfname] = vals
        tensors.append((gname, ttype, w.shape, raw))

    add("token_embd.weight", "model.embed_tokens.weight")
    add("output_norm.weight", "model.norm.weight")
    if "lm_head.weight" in t and not config["tie_word_embeddings"]:
        add("output.weight", "lm_head.weight")
    for i in range(config["num_hidden_layers"]):
        p, g = f"model.layers.{i}.", f"blk.{i}."
        perm = gg_arch == "llama"
        add(g + "attn_norm.weight", p + "input_layernorm.weight")
        add(g + "attn_q.weight", p + "self_attn.q_proj.weight", H if perm else None)
        add(g + "attn_k.weight", p + "self_attn.k_proj.weight", KV if perm else None)
        add(g + "attn_v.weight", p + "self_attn.v_proj.weight")
        add(g + "attn_output.weight", p + "self_attn.o_proj.weight")
        for proj in ("q", "k", "v"):
            if p + f"self_attn.{proj}_proj.bias" in t:
                add(g + f"attn_{proj}.bias", p + f"self_attn.{proj}_proj.bias")
        if arch == "qwen3":
            add(g + "attn_q_norm.weight", p + "self_attn.q_norm.weight")
            add(g + "attn_k_norm.weight", p + "self_attn.k_norm.weight")
        add(g + "ffn_norm.weight", p + "post_attention_layernorm.weight")
        add(g + "ffn_gate.weight", p + "mlp.gate_proj.weight")
        add(g + "ffn_up.weight", p + "mlp.up_proj.weight")
        add(g + "ffn_down.weight", p + "mlp.down_proj.weight")
    write_gguf(path, kvs, tensors, version=version, alignment=alignment)
    return represented


# ----------------------------------------------------------------------------
# The checks
# ----------------------------------------------------------------------------

def max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)
    print("ok  ", msg)


def main():
    rng = np.random.default_rng(1234)
    tokens = [int(x) for x in rng.integers(0, 96, size=20)]

    cases = []
    # llama3 scaling with these numbers (head_dim 16, theta 1e4) keeps pairs
    # 0-2 and divides pairs 3-7 by the factor; no pair falls in the smoothed
    # band, so the float32 rope_freqs.weight of the GGUF is exact.
    cfg, t = make_model(rng, "llama", n_head=4, n_kv=2, head_dim=16)
    cfg["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                           "high_freq_factor": 2.0, "original_max_position_embeddings": 150}
    cases.append(("llama", cfg, t, ["F32", "F16", "BF16", "Q8_0", "Q4_0"], {}))

    # llama3 scaling where pairs 1 and 2 fall in the smoothed band.  The GGUF
    # holds those divisors rounded to float32 (as llama.cpp stores them), so
    # its logits can only match the HF folder's to about 1e-8, not 1e-9.
    cfg, t = make_model(rng, "llama", n_head=4, n_kv=4, head_dim=16, n_layer=1)
    cfg["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                           "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
    cases.append(("llama3-smooth", cfg, t, ["F32"], {"gguf_tol": 1e-7}))

    cfg, t = make_model(rng, "qwen2", n_head=4, n_kv=1, head_dim=16, tied=True)
    cfg["rope_scaling"] = {"type": "linear", "factor": 2.0}
    cfg["attention_bias"] = True
    cases.append(("qwen2", cfg, t, ["F32", "Q8_0", "Q4_0"], {"shards": 2, "alignment": 64}))

    cfg, t = make_model(rng, "qwen3", n_head=4, n_kv=2, head_dim=32, n_layer=3)
    cfg["rope_theta"] = 1000000.0
    cases.append(("qwen3", cfg, t, ["F32", "F16", "Q4_0"], {"version": 2}))

    cfg, t = make_model(rng, "mistral", n_head=8, n_kv=2, head_dim=8, tied=True)
    cfg["sliding_window"] = 4096
    cases.append(("mistral", cfg, t, ["F32", "Q8_0"], {}))

    # A sliding window shorter than the sequence (HF only: llama.cpp's llama
    # architecture has no window, so there is no GGUF twin).
    cfg, t = make_model(rng, "mistral", n_head=4, n_kv=2, head_dim=16)
    cfg["sliding_window"] = 5
    cases.append(("mistral-window5", cfg, t, [], {}))

    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg, t, encs, opts in cases:
            # 1. HF folder (F32) against the slow textbook forward pass.
            hf_dir = os.path.join(tmp, f"{name}_hf")
            write_hf_folder(hf_dir, cfg, t, shards=opts.get("shards", 1))
            hf_logits, _ = ref_model.load_model(hf_dir).forward(tokens)
            naive = naive_forward(cfg, t, tokens)
            check(max_diff(hf_logits, naive) < TOL,
                  f"{name}: HF folder vs loop reference, max diff {max_diff(hf_logits, naive):.2e}")

            # 2. Each GGUF encoding against an HF folder of the same values.
            for enc in encs:
                gguf_path = os.path.join(tmp, f"{name}_{enc}.gguf")
                vals = to_gguf(gguf_path, cfg, t, enc, version=opts.get("version", 3),
                               alignment=opts.get("alignment", 32))
                same_dir = os.path.join(tmp, f"{name}_{enc}_hf")
                # F16/BF16 values are written in their own dtype (exercising
                # those safetensors readers); quantized ones as F32, which
                # holds fp16-scale * small-int products exactly.
                st_dtype = enc if enc in ("F16", "BF16") else "F32"
                write_hf_folder(same_dir, cfg, vals, dtype=st_dtype)
                a, _ = ref_model.load_model(gguf_path).forward(tokens)
                b, _ = ref_model.load_model(same_dir).forward(tokens)
                d = max_diff(a, b)
                check(d < opts.get("gguf_tol", TOL), f"{name}: GGUF {enc} vs HF folder of the same values, max diff {d:.2e}")
                if enc != "F32":
                    # Quantization must actually have changed something.
                    check(max_diff(a, hf_logits) > 1e-6,
                          f"{name}: GGUF {enc} differs from the unquantized model "
                          f"({max_diff(a, hf_logits):.2e})")

        # 3. Teeth: ignore the llama permutation -> the logits must change.
        m = ref_model.load_model(os.path.join(tmp, "llama_F32.gguf"))
        good, _ = m.forward(tokens)
        m.cfg["rope_interleaved"] = False
        bad, _ = m.forward(tokens)
        check(max_diff(good, bad) > 1e-3,
              f"llama GGUF with the wrong rope layout differs ({max_diff(good, bad):.2e})")
        # ...and so does dropping the llama3 scaling (head_dim 16: 8 pairs).
        m = ref_model.load_model(os.path.join(tmp, "llama_hf"))
        good, _ = m.forward(tokens)
        m.inv_freq = 10000.0 ** (-np.arange(8) * 2.0 / 16)
        bad, _ = m.forward(tokens)
        check(max_diff(good, bad) > 1e-3,
              f"llama without llama3 rope scaling differs ({max_diff(good, bad):.2e})")
        # ...and so does dropping mistral's sliding window of 5.
        m = ref_model.load_model(os.path.join(tmp, "mistral-window5_hf"))
        good, _ = m.forward(tokens)
        m.cfg["window"] = None
        bad, _ = m.forward(tokens)
        check(max_diff(good, bad) > 1e-3,
              f"mistral without its sliding window differs ({max_diff(good, bad):.2e})")

        # 4. Command line.
        script = os.path.join(HERE, "ref_model.py")
        out = os.path.join(tmp, "out.json")
        gguf = os.path.join(tmp, "qwen3_Q4_0.gguf")
        toks = ",".join(str(x) for x in tokens[:6])
        subprocess.run([sys.executable, script, "--model", gguf, "--tokens", toks,
                        "--out", out, "--hidden"], check=True)
        with open(out) as f:
            res = json.load(f)
        direct, hidden = ref_model.load_model(gguf).forward(tokens[:6])
        check(np.array(res["logits"]).shape == (6, 96) and max_diff(res["logits"], direct) == 0
              and max_diff(res["hidden"], hidden) == 0, "CLI --out/--hidden match the module")
        proc = subprocess.run([sys.executable, script, "--model", gguf, "--tokens", toks,
                               "--top", "3", "--greedy", "2"],
                              check=True, capture_output=True, text=True)
        res = json.loads(proc.stdout)
        check(len(res["tokens"]) == 8 and len(res["top"]) == 8
              and res["top"][5]["ids"][0] == res["generated"][0]
              and res["top"][6]["ids"][0] == res["generated"][1]
              and res["top"][0]["ids"] == [int(i) for i in np.argsort(-direct[0])[:3]],
              "CLI --top/--greedy consistent")

        # 5. --kv-cache-dtype float16: K and V rounded through np.float16
        # change the logits, but only a little (half precision is ~5e-4
        # relative per element), and the CLI flag gives the module's result.
        m16 = ref_model.load_model(gguf, kv_fp16=True)
        half, _ = m16.forward(tokens[:6])
        d16 = max_diff(half, direct)
        scale = float(np.abs(direct).max())
        check(0 < d16 < 1e-2 * max(1.0, scale),
              f"float16 K/V rounding changes the logits slightly ({d16:.2e} of scale {scale:.2e})")
        subprocess.run([sys.executable, script, "--model", gguf, "--tokens", toks,
                        "--out", out, "--kv-cache-dtype", "float16"], check=True)
        with open(out) as f:
            res = json.load(f)
        check(max_diff(res["logits"], half) == 0, "CLI --kv-cache-dtype float16 matches the module")
    check_stories260k()
    print("selftest_ref: all checks passed")
    return 0


def find_stories260k():
    """shared/models/stories260K beside the repository, or under /work/shared."""
    for root in (os.path.join(HERE, "..", "..", "..", "shared"), "/work/shared"):
        d = os.path.join(root, "models", "stories260K")
        if os.path.exists(os.path.join(d, "stories260K.gguf")):
            return d
    return None


def check_stories260k(n_greedy=64):
    d = find_stories260k()
    if d is None:
        print("skip stories260K: shared/models/stories260K not found")
        return
    model = ref_model.load_model(os.path.join(d, "stories260K.gguf"))
    nrm = lambda v: v / np.linalg.norm(v)  # noqa: E731

    with open(os.path.join(d, "stories260K_greedy_bos_256.json")) as f:
        rec = json.load(f)
    toks = list(rec["prompt_ids"])
    for _ in range(n_greedy):
        logits, _ = model.forward(toks)
        toks.append(int(ref_model.top_k(logits[-1], 1)[0]))
    check(toks[1:] == rec["greedy_ids"][:n_greedy],
          f"stories260K: greedy ids from BOS match the first {n_greedy} recorded")
    logits, hidden = model.forward(toks)
    worst = 0.0
    for e in rec["first_logits"]:
        row = logits[e["pos"]]
        ids = [int(i) for i in ref_model.top_k(row, 5)]
        check(ids == e["top5_ids"], f"stories260K: top-5 ids of position {e['pos']}")
        worst = max(worst, max_diff(row[ids], e["top5_logits"]))
    check(worst < 1e-4, f"stories260K: top-5 logits within 1e-4 (max diff {worst:.1e})")

    # The golden prompt file records the L2-normalised mean and last final
    # hidden states (after the output norm) of its prompt.
    with open(os.path.join(d, "golden_once_upon_a_time.json")) as f:
        gold = json.load(f)
    _, hidden = model.forward(gold["prompt_ids"])
    dm = max_diff(nrm(hidden.mean(axis=0)), gold["prompt_hidden_mean_l2norm"])
    dl = max_diff(nrm(hidden[-1]), gold["prompt_hidden_last_l2norm"])
    check(max(dm, dl) < 1e-5, f"stories260K: prompt hidden states within 1e-5 ({max(dm, dl):.1e})")


if __name__ == "__main__":
    sys.exit(main())
