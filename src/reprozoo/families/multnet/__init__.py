"""multnet: the multiplication network, x·y for x, y ∈ 1..100 from a learned log, an Add,
a learned exp.

Source: seed article 000. A log-approximating net (1→4→4→4→1, ReLU) is applied to both
operands (shared weights), its two outputs are added, and an exp-approximating net
(1→4→4→4→1, ReLU) maps the sum to the product. Inputs are scaled by 1/100 and the product
by 1/10,000. The article needed about 20 restarts to get a working net and it still
failed on one-digit operands (7×82 → 302, 17×2 → 302).

Variants, each trained for `seeds` seeds at once (the seeds are a batch dimension: every
weight tensor is (S, in, out), so one step trains all of them):

- ``faithful``: the article's net trained end to end on the scaled product with MSE
  (our reading of the article: one Keras model, Add joining the two subnets), Adam on
  random minibatches of `batch` pairs.
- ``reliable``: the same log → Add → exp structure and depth (1→h→h→h→1 ReLU subnets,
  h = `hidden_reliable`), made reliable by log-domain targets and a data-dependent init:
  the log net maps x/N → ln x / ln N; its first-layer ReLU knots are log-spaced over
  [1, 100] (jittered per seed), the deeper layers start as the identity (+ small noise), and
  its output layer is solved by least squares on the 100 inputs. The exp net works in the
  log domain: the Add of the *learned* logs σ ∈ [0, 2] → ln(xy)/ln N², knots evenly over
  [0, 2], output layer by least squares on all 10,000 pairs, followed by a fixed exp. No
  gradient steps: Adam fine-tuning from this solution was measured to make it worse (see
  `train.train_reliable`).
- ``nac_mul``: the compared neural-arithmetic variant, NALU's multiplicative path
  (Trask et al. 2018): ŷ/N² = exp(w₁ ln(x/N) + w₂ ln(y/N)) with learned w (S, 2), i.e.
  the log and exp subnets replaced by fixed log/exp and the Add by a learned weighted sum
  (weights left unconstrained: NALU's tanh·σ bound only slows the approach to w = 1).

A seed "converges" when its median relative error over all 10,000 pairs is ≤ 1 % and its
90th percentile ≤ 5 % (the issue's target for the reliable variant; `evaluate.CONVERGED`).

Files: config.py (the params.yaml section multnet), model.py (batched MLPs, knot init,
closed-form output layers, NacMul), train.py (the three training procedures), evaluate.py
(relative errors, convergence, error tables, heat maps). Timings: benchmarks/multnet.py.

Results: reports/README.md, row multnet (per variant: converged seeds, median / p90
relative error, error by operand size, the article's failure cases for the best seed);
rebuilt with `dvc repro evaluate@multnet`.
"""

from .config import Config

__all__ = ["Config"]
