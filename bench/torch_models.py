"""PyTorch side of bench/models.ts: the same model workloads, written here in plain PyTorch from the
spec (../shared/reference/maskbit-spec.md sections 2-3), random weights, float32.

Worker protocol (driven by bench/models.ts): builds a group, prints "@@{json}" (ready), then for
every "run" line on stdin runs each workload once (median ms of its reps) and prints "@@{json}";
any other line prints the peak RSS and exits. Optional: the TypeScript project never needs Python.
"""
import argparse, json, math, resource, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_engine import median_ms, peak_gemm  # same folder: one timing helper and one GEMM ceiling for both benches




# --- Stage I tokenizer (spec 2.2-2.5) -------------------------------------------------------------

class Conv3(nn.Module):
    """3x3 conv, TF-SAME padding: stride 1 pads 1 all round; stride 2 (even input) pads bottom/right only."""

    def __init__(self, cin, cout, bias, stride=1):
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(cin, cout, 3, stride=stride, padding=1 if stride == 1 else 0, bias=bias)

    def forward(self, x):
        if self.stride == 2:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


def norm_act(ch):
    return nn.Sequential(nn.GroupNorm(32, ch, eps=1e-6), nn.SiLU())


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.n1, self.c1 = norm_act(cin), Conv3(cin, cout, False)
        self.n2, self.c2 = norm_act(cout), Conv3(cout, cout, False)
        self.nin = nn.Conv2d(cout, cout, 1, bias=False) if cin != cout else None

    def forward(self, x):
        h = self.c2(self.n2(self.c1(self.n1(x))))
        # The official quirk: the 1x1 shortcut is applied to h, and x is dropped, when widths differ.
        return h + (x if self.nin is None else self.nin(h))


def res_stage(cin, cout, n):
    return [ResBlock(cin if i == 0 else cout, cout) for i in range(n)]


class Upsample(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = Conv3(ch, ch, True)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        hid, mult, R, n = c["hiddenChannels"], [1] + list(c["channelMult"]), c["numResolutions"], c["numResBlocks"]
        layers = [Conv3(c["numChannels"], hid, False)]
        for i in range(R):
            cin, cout = hid * mult[i], hid * mult[i + 1]
            layers += res_stage(cin, cout, n)
            if i < R - 1:
                layers.append(Conv3(cout, cout, True, stride=2))
        w = hid * mult[-1]
        layers += res_stage(w, w, n) + [norm_act(w), nn.Conv2d(w, c["tokenSize"], 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        hid, R, n = c["hiddenChannels"], c["numResolutions"], c["numResBlocks"]
        mult = list(c["channelMult"]) + [c["channelMult"][-1]]
        w = hid * mult[R - 1]
        layers = [Conv3(c["tokenSize"], w, True)] + res_stage(w, w, n)
        for level in range(R - 1, -1, -1):
            cin, cout = hid * mult[level + 1], hid * mult[level]
            layers += res_stage(cin, cout, n)
            if level > 0:
                layers.append(Upsample(cout))
        layers += [norm_act(hid * mult[0]), Conv3(hid * mult[0], c["numChannels"], True)]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class Tokenizer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.k = c["tokenSize"]
        self.encoder, self.decoder = Encoder(c), Decoder(c)
        self.register_buffer("powers", 2 ** torch.arange(self.k).view(1, -1, 1, 1))
        codes = torch.arange(2 ** self.k)
        self.register_buffer("codebook", ((codes[:, None] >> torch.arange(self.k)) & 1).float() * 2 - 1)

    def quantize(self, z, training):
        q = torch.where(z > 0, 1.0, -1.0)
        ids = ((z > 0).long() * self.powers).sum(1)
        zq = z + (q - z).detach()
        loss = 0.25 * ((q.detach() - z) ** 2).mean()
        if training:
            # The official entropy loss: softmax over all 2^K codes of 2<z, c> / 0.01, per position.
            rows = z.permute(0, 2, 3, 1).reshape(-1, self.k)
            p = torch.softmax(2 * rows @ self.codebook.T / 0.01, dim=-1)
            h_sample = (-(p * torch.log(p.clamp_min(1e-5))).sum(-1)).mean()
            pbar = p.mean(0)
            h_avg = -(pbar * torch.log(pbar.clamp_min(1e-5))).sum()
            loss = loss + 0.02 * (h_sample - h_avg)
        return zq, ids, loss

    def encode(self, x):
        return self.quantize(self.encoder(x), False)[1]

    def decode_ids(self, ids):
        bits = ((ids.unsqueeze(1) // self.powers) % 2).float() * 2 - 1
        return self.decoder(bits)

    def train_loss(self, x):
        zq, _, qloss = self.quantize(self.encoder(x), True)
        return 4.0 * F.mse_loss(self.decoder(zq), x) + qloss


# --- Stage II generator (spec 3.2-3.5) ------------------------------------------------------------

class Layer(nn.Module):
    """Post-LN encoder layer: LN(x + drop(MHA(x))), LN(x + drop(fc2(gelu(fc1(x)))))."""

    def __init__(self, d, heads, mlp, p):
        super().__init__()
        self.mha = nn.MultiheadAttention(d, heads, dropout=p, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=1e-12), nn.LayerNorm(d, eps=1e-12)
        self.fc1, self.fc2 = nn.Linear(d, mlp), nn.Linear(mlp, d)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        x = self.norm1(x + self.drop(self.mha(x, x, x, need_weights=False)[0]))
        return self.norm2(x + self.drop(self.fc2(F.gelu(self.fc1(x)))))


class LFQBert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        d, K, N = c["hiddenDim"], c["tokenBits"], c["groups"]
        self.b, self.N, self.C, self.L = K // N, N, 2 ** (K // N), c["tokenGrid"] ** 2
        self.input_proj = nn.Linear(K, d)
        self.class_emb = nn.Embedding(c["numClasses"] + 1, d)
        self.pos_emb = nn.Parameter(torch.randn(1, self.L + 1, d) * 0.02)
        self.first = nn.Sequential(nn.LayerNorm(d, eps=1e-12), nn.Dropout(c["dropout"]))
        self.layers = nn.ModuleList(Layer(d, c["heads"], c["mlpDim"], c["dropout"]) for _ in range(c["depth"]))
        self.last = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.LayerNorm(d, eps=1e-12))
        self.head = nn.Linear(d, N * self.C)
        self.register_buffer("bitpos", 2 ** torch.arange(self.b))

    def forward(self, groups, labels):
        # groups [B, L, N]; the mask id C gives all-zero bits for its group.
        B = groups.shape[0]
        bits = ((groups.unsqueeze(-1) // self.bitpos) % 2).float() * 2 - 1
        bits = torch.where((groups == self.C).unsqueeze(-1), 0.0, bits).reshape(B, self.L, -1)
        x = torch.cat([self.input_proj(bits), self.class_emb(labels).unsqueeze(1)], 1) + self.pos_emb
        x = self.first(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.last(x))[:, : self.L].reshape(B, self.L, self.N, self.C)


def train_loss(model, ids, labels):
    c = model.c
    B = ids.shape[0]
    groups = torch.stack([(ids >> (n * model.b)) & (model.C - 1) for n in range(model.N)], -1)
    ratio = torch.arccos(torch.rand(B)) / (math.pi / 2)
    mask = torch.rand(groups.shape) < ratio.view(B, 1, 1)
    labels = torch.where(torch.rand(B) < c["classLabelDropout"], c["numClasses"], labels)
    logits = model(torch.where(mask, model.C, groups), labels)
    return F.cross_entropy(logits.reshape(-1, model.C), groups.reshape(-1), label_smoothing=c["labelSmoothing"])


@torch.no_grad()
def sample_step(model, groups, labels, cfg_scale, noise_temp, progress, k):
    """One decoding step with classifier-free guidance on the doubled batch (spec 3.5)."""
    B = groups.shape[0]
    both = model(torch.cat([groups, groups]), torch.cat([labels, torch.full_like(labels, model.c["numClasses"])]))
    cond, uncond = both[:B], both[B:]
    probs = torch.softmax(cond + cfg_scale * (cond - uncond), -1)
    draw = torch.multinomial(probs.reshape(-1, model.C), 1).reshape(groups.shape)
    masked = groups == model.C
    pred = torch.where(masked, draw, groups)
    conf = torch.where(masked, torch.gather(probs, -1, pred.unsqueeze(-1)).squeeze(-1), math.inf)
    gumbel = -torch.log(-torch.log(torch.rand(groups.shape)))
    scores = (torch.log(conf) + noise_temp * (1 - progress) * gumbel).reshape(B, -1)
    thresh = torch.sort(scores, -1).values[:, k - 1 : k]
    return torch.where((scores <= thresh).reshape(groups.shape), model.C, pred), pred


# --- groups ---------------------------------------------------------------------------------------

TOK10 = dict(numChannels=3, hiddenChannels=128, channelMult=[1, 1, 2, 2, 4], numResolutions=5, numResBlocks=2, tokenSize=10)
GEN14 = dict(tokenBits=14, groups=2, hiddenDim=1024, depth=24, heads=16, mlpDim=4096, dropout=0.1, numClasses=1000, tokenGrid=16,
             guidanceScale=7.1, randomizeTemperature=7.8, labelSmoothing=0.1, classLabelDropout=0.1)


def nparams(m):
    return sum(p.numel() for p in m.parameters())


def tokenizer_workloads(prefix, c, size, batch, train_batch, reps, train_reps):
    tok = Tokenizer(c).eval()
    x = torch.rand(batch, c["numChannels"], size, size)
    with torch.no_grad():
        ids = tok.encode(x)
    xt = torch.rand(train_batch, c["numChannels"], size, size)
    params = list(tok.parameters())

    def encode():
        with torch.no_grad():
            tok.encode(x)

    def decode():
        with torch.no_grad():
            tok.decode_ids(ids)

    def train():
        for p in params:
            p.grad = None
        tok.train_loss(xt).backward()

    return tok, {f"{prefix}_encode": (encode, reps), f"{prefix}_decode": (decode, reps), f"{prefix}_train": (train, train_reps)}


def generator_workloads(prefix, c, sample_batches, train_batch, reps, train_reps):
    model = LFQBert(c)
    out = {}
    for b in sample_batches:
        groups = torch.full((b, model.L, model.N), model.C)
        labels = torch.arange(b) % c["numClasses"]
        k = max(1, math.floor(math.acos(1 / 64) / (math.pi / 2) * model.L * model.N))  # step 0 of 64; the cost does not depend on it
        out[f"{prefix}_sample_b{b}"] = ((lambda g=groups, y=labels, k=k: (model.eval(), sample_step(model, g, y, 0.0, c["randomizeTemperature"], 1 / 64, k))), reps(b))
    ids = torch.randint(0, 2 ** c["tokenBits"], (train_batch, model.L))
    labels = torch.randint(0, c["numClasses"], (train_batch,))
    params = list(model.parameters())

    def train():
        model.train()
        for p in params:
            p.grad = None
        train_loss(model, ids, labels).backward()

    out[f"{prefix}_train"] = (train, train_reps)
    return model, out


def build(args):
    if args.group == "tok10":
        m, w = tokenizer_workloads("tok10", TOK10, 256, args.tok_batch, args.tok_train_batch, (1, 3), (1, 2))
        return w, f"tokenizer 10 bit, {nparams(m):,} params"
    if args.group == "gen14":
        t0 = time.perf_counter()
        m, w = generator_workloads("gen14", GEN14, [1, 8], args.gen_train_batch, lambda b: (1, 3) if b == 1 else (1, 2), (1, 2))
        return w, f"generator 14 bit, {nparams(m):,} params (allocation {time.perf_counter() - t0:.1f} s)"
    spec = json.loads(args.spec)
    tc, gc = dict(spec["tokenizer"]), dict(spec["generator"])
    mt, wt = tokenizer_workloads("fmnist_tok", tc, spec["size"], 64, 16, (2, 7), (2, 7))
    mg, wg = generator_workloads("fmnist_gen", gc, [8, 64], 64, lambda b: (2, 7), (2, 7))
    return {**wt, **wg}, f"fmnist tokenizer {nparams(mt):,} params, generator {nparams(mg):,} params (random weights)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--group", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tok-batch", type=int, default=2)
    ap.add_argument("--tok-train-batch", type=int, default=1)
    ap.add_argument("--gen-train-batch", type=int, default=2)
    ap.add_argument("--spec", default="{}")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    send = lambda o: print("@@" + json.dumps(o), flush=True)
    workloads, info = build(args)
    workloads["gemm_peak"] = (peak_gemm(), (1, 3))  # the ceiling GFLOP/s are read against, timed in every round
    send({"ready": True, "info": f"torch {torch.__version__}, {torch.get_num_threads()} threads; {info}"})
    for line in sys.stdin:
        if line.strip() == "run":
            send({name: median_ms(fn, *r) for name, (fn, r) in workloads.items()})
        else:
            send({"maxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
            return


if __name__ == "__main__":
    main()
