"""MNIST classifiers: softmax regression (slp), a one-hidden-layer MLP (mlp), a small CNN
(cnn), and the MLP whose hidden units start as training images (mlp_imginit).

Source: the seed articles 002/003 (single- vs multi-layer perceptrons on MNIST and their
"winner neuron" weight pictures; the Keras MLP/CNN examples with a validation split,
early stopping and learning curves). The models are plain `nn.Sequential`s built from
`ModelConfig`, so a checkpoint (state_dict + config) rebuilds them anywhere; the GAN
family scores its samples in the cnn's feature space (`model.features`, `evaluate.load_model`).

Files: config.py (the params.yaml sections slp, mlp, cnn, mlp_imginit), model.py (the
networks, image init, shift augmentation, scoring), train.py (Adam, early stopping),
evaluate.py (test accuracy, confusion matrix, winner-neuron pictures).

Results: reports/README.md, rows slp, mlp, cnn and mlp_imginit (targets: TARGETS in
src/reprozoo/report/targets.py); rebuilt with `dvc repro evaluate@slp evaluate@mlp
evaluate@cnn evaluate@mlp_imginit`.
"""

from .config import Config

__all__ = ["Config"]
