"""A whole optimizer step of the 14-bit generator in PyTorch, for bench/train-memory.ts: the model of
bench/torch_models.py, torch.optim.AdamW(foreach=False) (the official recipe's betas and weight
decay), clip_grad_norm_(1.0) and an EMA copy of the parameters updated after each step. Prints one
JSON line: the step times and the process's peak RSS."""
import argparse, json, resource, time

import torch

from torch_models import GEN14, LFQBert, train_loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", default="{}")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    c = dict(GEN14)
    c["depth"] = json.loads(args.spec).get("depth", c["depth"])
    model = LFQBert(c)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.96), eps=1e-8, weight_decay=0.045, foreach=False)
    ema = [p.detach().clone() for p in params]
    ids = torch.randint(0, 2 ** c["tokenBits"], (args.batch, model.L))
    labels = torch.randint(0, c["numClasses"], (args.batch,))
    step_ms = []
    model.train()
    for _ in range(args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        train_loss(model, ids, labels).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.lerp_(p, 0.001)
        step_ms.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"variant": "PyTorch", "stepMs": step_ms, "maxRssMB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


if __name__ == "__main__":
    main()
