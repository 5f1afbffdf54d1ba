"""PyTorch side of bench/engine.ts: the same workloads, median milliseconds, last line JSON.

Optional: only run when torch is importable (the TypeScript project never needs Python).
"""
import argparse, json, math, statistics, time
import torch
import torch.nn.functional as F


def median_ms(fn, warmup, reps):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


PEAK_N = 2048  # bench/flops.ts PEAK_N: the pure-GEMM ceiling both benches read GFLOP/s against


def peak_gemm():
    """A PEAK_N^3 float32 matmul to time (compute bound: the machine's practical fp32 limit)."""
    a, b = torch.randn(PEAK_N, PEAK_N), torch.randn(PEAK_N, PEAK_N)
    return lambda: a @ b


class ConvBlock(torch.nn.Module):
    def __init__(self, ch=128):
        super().__init__()
        self.norm1 = torch.nn.GroupNorm(32, ch, eps=1e-6)
        self.conv1 = torch.nn.Conv2d(ch, ch, 3, padding=1)
        self.norm2 = torch.nn.GroupNorm(32, ch, eps=1e-6)
        self.conv2 = torch.nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        return x + self.conv2(F.silu(self.norm2(h)))


class TransformerBlock(torch.nn.Module):
    """Post-LN encoder layer with explicit softmax attention (the math path), packed qkv."""

    def __init__(self, hidden=512, heads=8, mlp=2048):
        super().__init__()
        self.heads = heads
        self.in_proj = torch.nn.Linear(hidden, 3 * hidden)
        self.out_proj = torch.nn.Linear(hidden, hidden)
        self.norm1 = torch.nn.LayerNorm(hidden, eps=1e-12)
        self.fc1 = torch.nn.Linear(hidden, mlp)
        self.fc2 = torch.nn.Linear(mlp, hidden)
        self.norm2 = torch.nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x):
        b, t, d = x.shape
        dh = d // self.heads
        qkv = self.in_proj(x).reshape(b, t, 3, self.heads, dh).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0] * (1 / math.sqrt(dh)), qkv[1], qkv[2]
        att = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, t, d)
        h = self.norm1(x + self.out_proj(ctx))
        return self.norm2(h + self.fc2(F.gelu(self.fc1(h))))


def bench_module(name, module, shape, args, res):
    x = torch.randn(*shape)
    with torch.no_grad():
        res[f"{name}_fwd"] = median_ms(lambda: module(x), args.warmup, args.reps)
    xg = x.clone().requires_grad_(True)
    r = torch.randn_like(module(x))

    def step():
        for p in module.parameters():
            p.grad = None
        xg.grad = None
        (module(xg) * r).sum().backward()

    res[f"{name}_fwd_bwd"] = median_ms(step, args.warmup, args.reps)


def bench_optim(args, batch):
    """fwd+bwd only vs a whole step (clip_grad_norm_ + AdamW(foreach=False) + EMA), best median of rounds."""
    block = TransformerBlock()
    x = torch.randn(batch, 256, 512)
    r = torch.randn(batch, 256, 512)
    params = list(block.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4, foreach=False)
    opt_fe = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4, foreach=True)
    shadow = [p.detach().clone() for p in params]

    def grads():
        for p in params:
            p.grad = None
        (block(x) * r).sum().backward()

    def step(o, foreach):
        grads()
        torch.nn.utils.clip_grad_norm_(params, 1.0, foreach=foreach)
        o.step()
        with torch.no_grad():
            if foreach:
                torch._foreach_sub_(shadow, torch._foreach_mul(torch._foreach_sub(shadow, params), 0.001))
            else:
                for s_, p in zip(shadow, params):
                    s_.sub_(0.001 * (s_ - p))

    res = {}
    for _ in range(args.rounds):
        for name, fn in (("optim_grads", grads), ("optim_step", lambda: step(opt, False)), ("optim_step_foreach", lambda: step(opt_fe, True))):
            res[name] = min(res.get(name, float("inf")), median_ms(fn, 1, args.reps))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="conv,transformer,matmul,peak")
    ap.add_argument("--optim-batch", type=int, default=0, help="instead: the optimizer-step comparison of bench/optim.ts")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--conv-shapes", default="[]", help="the convs group's [channels, size] pairs, JSON")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.optim_batch:
        print(json.dumps(bench_optim(args, args.optim_batch)))
        return
    only = args.only.split(",")
    res = {}
    if "conv" in only:
        bench_module("conv", ConvBlock(), (8, 128, 32, 32), args, res)
    if "transformer" in only:
        bench_module("transformer", TransformerBlock(), (8, 256, 512), args, res)
    if "convs" in only:
        # bench/workloads.ts convLayer: one conv3x3 (pad 1, bias) at batch 16, shapes from bench/engine.ts
        for ch, size in json.loads(args.conv_shapes):
            bench_module(f"conv{ch}_{size}", torch.nn.Conv2d(ch, ch, 3, padding=1), (16, ch, size, size), args, res)
    if "matmul" in only:
        a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
        res["matmul"] = median_ms(lambda: a @ b, args.warmup, args.reps)
    if "peak" in only:
        res["gemm_peak"] = median_ms(peak_gemm(), args.warmup, args.reps)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
