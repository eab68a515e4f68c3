"""The training step of the training suite, in PyTorch, for figures beside the project's own.

The same model as core's (packages/core/src/train/workload.ts): GPT-2's blocks with pre-LayerNorm
(epsilon 1e-5), causal attention scaled by 1/sqrt(head size), GELU's tanh form, a head tied to
the token embedding, weights stored as (in, out) and applied as x @ W, mean cross-entropy over
every position, AdamW with weight decay on every parameter. f16 is mixed precision as the
project's: autocast (f16 products, f32 master weights and optimizer state) with a GradScaler.

    python3 scripts/device/torch_train.py --preset quick|paper [--batch B] [--seq T] [--dtype f32|f16]
                                          [--steps N] [--device cuda|cpu]
    python3 scripts/device/torch_train.py --check DIR   # DIR from packages/core/scripts/export-train-case.ts

A run prints one JSON line per configuration: median step and phase times (CUDA events on a GPU,
the host clock on the CPU), tokens/s, peak memory (torch's allocator and the driver's count),
and energy per step from NVML's total-energy counter where it reads. --check loads parameters
and tokens exported by the project, runs one forward and backward, and compares the loss and
every gradient with the project's float64 reference: it shows this is the project's model.
"""
import argparse
import contextlib
import ctypes
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

PRESETS = {
    # layers, dModel, heads, mlp, vocab, positions; batches; seq (core's TRAIN_PRESETS)
    "paper": (dict(layers=36, dModel=1280, heads=20, mlp=5120, vocab=50257, positions=1024), [8, 4, 2], 512),
    "quick": (dict(layers=2, dModel=64, heads=4, mlp=256, vocab=256, positions=64), [8], 64),
}
HYPER = dict(learningRate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, weightDecay=0.01, initialLossScale=4096)


def layout(m):
    """(name, shape) of every tensor, in core's parameterLayout order."""
    d, mlp = m["dModel"], m["mlp"]
    out = [("wte", (m["vocab"], d)), ("wpe", (m["positions"], d))]
    for l in range(m["layers"]):
        out += [
            (f"layer{l}.ln1.weight", (d,)), (f"layer{l}.ln1.bias", (d,)),
            (f"layer{l}.attn.qkv.weight", (d, 3 * d)), (f"layer{l}.attn.qkv.bias", (3 * d,)),
            (f"layer{l}.attn.proj.weight", (d, d)), (f"layer{l}.attn.proj.bias", (d,)),
            (f"layer{l}.ln2.weight", (d,)), (f"layer{l}.ln2.bias", (d,)),
            (f"layer{l}.mlp.fc.weight", (d, mlp)), (f"layer{l}.mlp.fc.bias", (mlp,)),
            (f"layer{l}.mlp.proj.weight", (mlp, d)), (f"layer{l}.mlp.proj.bias", (d,)),
        ]
    return out + [("lnf.weight", (d,)), ("lnf.bias", (d,))]


def parameters_of(m, flat, device):
    """The flat f32 buffer split into leaf tensors, by name."""
    params, at = {}, 0
    for name, shape in layout(m):
        size = math.prod(shape)
        params[name] = flat[at:at + size].reshape(shape).to(device).clone().requires_grad_(True)
        at += size
    assert at == flat.numel(), f"{flat.numel()} values for {at} parameters"
    return params


def init_parameters(m, device, seed=1234):
    """GPT-2's initialisation (std 0.02, the residual projections scaled by 1/sqrt(2·layers)), LayerNorm 1 and biases 0, as core's."""
    g = torch.Generator().manual_seed(seed)
    chunks = []
    for name, shape in layout(m):
        if ".ln" in name or name.startswith("lnf."):
            t = torch.ones(shape) if name.endswith(".weight") else torch.zeros(shape)
        elif name.endswith(".bias"):
            t = torch.zeros(shape)
        else:
            std = 0.02 / math.sqrt(2 * m["layers"]) if name.endswith(".proj.weight") else 0.02
            t = torch.randn(shape, generator=g) * std
        chunks.append(t.flatten())
    return parameters_of(m, torch.cat(chunks), device)


def loss_of(m, p, tokens):
    """Mean cross-entropy of next-token prediction; tokens is batch x (seq + 1)."""
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    B, T = inputs.shape
    d, H = m["dModel"], m["heads"]
    x = p["wte"][inputs] + p["wpe"][:T]
    wide = torch.float64 if x.dtype == torch.float64 else torch.float32  # softmaxes at least in f32, as autocast does
    mask = torch.ones(T, T, dtype=torch.bool, device=tokens.device).tril()
    for l in range(m["layers"]):
        pre = f"layer{l}."
        h = F.layer_norm(x, (d,), p[pre + "ln1.weight"], p[pre + "ln1.bias"], 1e-5)
        qkv = h @ p[pre + "attn.qkv.weight"] + p[pre + "attn.qkv.bias"]
        q, k, v = (t.view(B, T, H, d // H).transpose(1, 2) for t in qkv.split(d, dim=2))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // H)
        att = att.to(wide).masked_fill(~mask, float("-inf")).softmax(-1).to(v.dtype)
        y = (att @ v).transpose(1, 2).reshape(B, T, d)
        x = x + y @ p[pre + "attn.proj.weight"] + p[pre + "attn.proj.bias"]
        h = F.layer_norm(x, (d,), p[pre + "ln2.weight"], p[pre + "ln2.bias"], 1e-5)
        h = F.gelu(h @ p[pre + "mlp.fc.weight"] + p[pre + "mlp.fc.bias"], approximate="tanh")
        x = x + h @ p[pre + "mlp.proj.weight"] + p[pre + "mlp.proj.bias"]
    x = F.layer_norm(x, (d,), p["lnf.weight"], p["lnf.bias"], 1e-5)
    logits = x @ p["wte"].t()
    return F.cross_entropy(logits.to(wide).reshape(B * T, -1), targets.reshape(-1))


class Nvml:
    """NVML's total-energy counter of GPU 0 (millijoules), through ctypes; `reason` when it cannot be read."""

    def __init__(self):
        self.reason, self.handle = None, ctypes.c_void_p()
        try:
            self.lib = ctypes.CDLL("libnvidia-ml.so.1")
            if self.lib.nvmlInit_v2() != 0 or self.lib.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(self.handle)) != 0:
                self.reason = "NVML did not initialise"
            elif self.read() is None:
                self.reason = "nvmlDeviceGetTotalEnergyConsumption is not supported on this GPU"
        except OSError as e:
            self.reason = f"no NVML ({e})"

    def read(self):
        mj = ctypes.c_ulonglong()
        return mj.value if self.lib.nvmlDeviceGetTotalEnergyConsumption(self.handle, ctypes.byref(mj)) == 0 else None


def run(m, batch, seq, dtype, steps, device):
    torch.manual_seed(0)
    p = init_parameters(m, device)
    tokens = torch.randint(0, m["vocab"], (batch, seq + 1), device=device)
    opt = torch.optim.AdamW(p.values(), lr=HYPER["learningRate"], betas=(HYPER["beta1"], HYPER["beta2"]),
                            eps=HYPER["epsilon"], weight_decay=HYPER["weightDecay"])
    f16 = dtype == "f16"
    cuda = device.type == "cuda"
    scaler_class = getattr(torch.amp, "GradScaler", None) or torch.cuda.amp.GradScaler  # torch.amp's from 2.3 on
    kwargs = dict(init_scale=HYPER["initialLossScale"], enabled=f16 and cuda)
    scaler = scaler_class(device.type, **kwargs) if scaler_class is not torch.cuda.amp.GradScaler else scaler_class(**kwargs)

    def clock():
        if cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            return e
        return time.perf_counter()

    def between(a, b):
        return a.elapsed_time(b) if cuda else (b - a) * 1e3

    nvml = Nvml() if cuda else None
    records, losses = [], []
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    energy0 = nvml.read() if nvml and not nvml.reason else None
    warmup = 3
    for i in range(warmup + steps):
        if i == warmup and energy0 is not None:
            torch.cuda.synchronize()
            energy0 = nvml.read()
        t0 = clock()
        with torch.autocast(device.type, dtype=torch.float16) if f16 else contextlib.nullcontext():
            loss = loss_of(m, p, tokens)
        t1 = clock()
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        t2 = clock()
        scaler.step(opt)
        scaler.update()
        t3 = clock()
        if cuda:
            torch.cuda.synchronize()
        if i >= warmup:
            records.append((between(t0, t1), between(t1, t2), between(t2, t3)))
        losses.append(loss.item())
    joules = None
    if energy0 is not None:
        torch.cuda.synchronize()
        joules = (nvml.read() - energy0) / 1e3 / steps
    step = statistics.median(sum(r) for r in records)
    out = dict(
        case=f"train L{m['layers']} d{m['dModel']} h{m['heads']} mlp{m['mlp']} V{m['vocab']} P{m['positions']} {batch}x{seq} {dtype}",
        device=torch.cuda.get_device_name() if cuda else "cpu", torch=torch.__version__,
        steps=steps, median_step_ms=round(step, 4),
        median_forward_ms=round(statistics.median(r[0] for r in records), 4),
        median_backward_ms=round(statistics.median(r[1] for r in records), 4),
        median_optimizer_ms=round(statistics.median(r[2] for r in records), 4),
        tokens_per_s=round(batch * seq / (step * 1e-3), 1), first_loss=losses[0], last_loss=losses[-1],
        timing="CUDA events per phase" if cuda else "host clock per phase",
    )
    if cuda:
        free, total = torch.cuda.mem_get_info()
        out.update(peak_allocated_bytes=torch.cuda.max_memory_allocated(), device_in_use_bytes=total - free)
    out["joules_per_step"] = round(joules, 4) if joules is not None else None
    if joules is None:
        out["energy"] = "unavailable: " + (nvml.reason if nvml and nvml.reason else "not a CUDA device")
    print(json.dumps(out), flush=True)


def check(folder):
    """One forward and backward on the project's exported case against its float64 reference."""
    case = json.load(open(os.path.join(folder, "case.json")))
    m = case["workload"]["model"]
    flat = torch.frombuffer(bytearray(open(os.path.join(folder, "parameters.f32"), "rb").read()), dtype=torch.float32)
    want = torch.frombuffer(bytearray(open(os.path.join(folder, "gradients.f64"), "rb").read()), dtype=torch.float64)
    tokens = torch.frombuffer(bytearray(open(os.path.join(folder, "tokens.i32"), "rb").read()), dtype=torch.int32)
    w = case["workload"]
    cpu = torch.device("cpu")
    p = parameters_of(m, flat.double(), cpu)
    loss = loss_of(m, p, tokens.long().reshape(w["batch"], w["seq"] + 1))
    loss.backward()
    worst, at = 0.0, ""
    offset = 0
    for name, shape in layout(m):
        size = math.prod(shape)
        ref = want[offset:offset + size]
        got = p[name].grad.flatten()
        err = (got - ref).abs().max().item() / max(ref.abs().max().item(), 1e-300)
        if err > worst:
            worst, at = err, name
        offset += size
    loss_err = abs(loss.item() - case["loss"]) / abs(case["loss"])
    ok = loss_err < 1e-9 and worst < 1e-9
    print(json.dumps(dict(check=case["name"], loss=loss.item(), reference_loss=case["loss"], loss_error=loss_err,
                          worst_gradient_error=worst, worst_tensor=at, ok=ok)))
    return ok


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", choices=PRESETS, default="quick")
    ap.add_argument("--batch", type=int)
    ap.add_argument("--seq", type=int)
    ap.add_argument("--dtype", choices=["f32", "f16", "both"], default="both")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--check")
    a = ap.parse_args()
    if a.check:
        sys.exit(0 if check(a.check) else 1)
    torch.backends.cuda.matmul.allow_tf32 = False  # plain f32, as the project's f32 step
    model, batches, seq = PRESETS[a.preset]
    for b in [a.batch] if a.batch else batches:
        for dt in ["f32", "f16"] if a.dtype == "both" else [a.dtype]:
            run(model, b, a.seq or seq, dt, a.steps, torch.device(a.device))
