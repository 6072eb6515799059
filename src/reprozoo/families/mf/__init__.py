"""Matrix factorization with biases and L2 (Funk-SVD) on MovieLens 100K (family `mf`).

Model (seed article 004): ``r̂_ui = μ + b_u + b_i + q_iᵀ p_u``, fitted by minimizing
``Σ_(u,i) (r_ui − r̂_ui)² + λ_b (b_u² + b_i²) + λ (‖p_u‖² + ‖q_i‖²)`` — the L2 terms
counted once per observed rating, as in the article's per-rating SGD derivation (the
article has one λ for all four; `reg_bias` sets λ_b apart, and `lr_bias` the biases'
step). Training runs on the device in shuffled mini-batches: each batch takes one step of
the article's update with every rating's gradient summed into its user's and item's rows,
which is the article's per-rating SGD done many ratings at a time; the step is computed
as sparse matrix products over the batch (sgd.py). The learning rate decays
geometrically per epoch. Baselines in the same report: the global mean μ and the
bias-only model (k = 0), fitted the same way.

Reference: S. Funk, "Netflix Update: Try This at Home" (2006); Koren, Bell & Volinsky,
"Matrix Factorization Techniques for Recommender Systems", IEEE Computer 2009. Surprise's
published ML-100K 5-fold table: SVD 0.934, SVD++ 0.919 RMSE.

Results: reports/README.md, row mf (the evaluate stage's 80/20 split and 5-fold
protocol; `dvc repro evaluate@mf`). How the defaults were chosen: config.py. Ours vs
scikit-surprise's SVD on the same folds, RMSE and fit time in one run:
`python benchmarks/mf.py` (default params: 5-fold RMSE 0.9044 vs Surprise's 0.935, and
a fit faster than Surprise's; the measured ratio is in reports/bench/mf.json). `reprozoo recommend`
(src/reprozoo/cli/recommend.py) lists a user's top unseen movies with the trained model.

    config.py    Config (params.yaml section `mf`) and its ModelConfig
    model.py     the article's update, BiasedMF (its `step` is the reference form), RMSE, top-k
    sgd.py       the batch layout and the step as sparse products (SDDMM, CSR × dense)
    train.py     the mini-batch SGD loop (`fit`), the train stage
    evaluate.py  load_model, the 80/20 score, baselines, the 5-fold protocol
"""

from .config import Config

__all__ = ["Config"]
