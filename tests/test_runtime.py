"""reprozoo.eager: optimizers without the torch._dynamo import, bit for bit the same."""

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

TRAIN = r'''
import hashlib, sys
sys.path.insert(0, {src!r})
import torch
if {patch}:
    from reprozoo import eager
    assert eager.install()
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 3))
x, y = torch.randn(64, 20), torch.randint(0, 3, (64,))
h = hashlib.sha256()
for make in (lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-4),
             lambda p: torch.optim.SGD(p, lr=1e-2, momentum=0.9),
             lambda p: torch.optim.AdamW(p, lr=1e-3)):
    opt = make(m.parameters())
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 20)
    for _ in range(20):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(m(x), y).backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        sched.step()
    opt.load_state_dict(opt.state_dict())
for p in m.parameters():
    h.update(p.detach().numpy().tobytes())
print(h.hexdigest(), "torch._dynamo" in sys.modules)
'''


def _run(patch: bool) -> tuple[str, str]:
    out = subprocess.run([sys.executable, "-c", TRAIN.format(src=str(SRC), patch=patch)],
                         capture_output=True, text=True, check=True).stdout.split()
    return out[0], out[1]


def test_eager_optimizers_give_the_same_bits_without_loading_the_compiler():
    plain, plain_dynamo = _run(False)
    eager, eager_dynamo = _run(True)
    assert plain_dynamo == "True"  # stock torch.optim loads torch._dynamo ...
    assert eager_dynamo == "False"  # ... the eager wrappers do not
    assert eager == plain  # and the trained parameters are the same bits
