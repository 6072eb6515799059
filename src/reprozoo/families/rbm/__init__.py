"""Bernoulli RBM on binarized MNIST, trained with CD-k or persistent CD.

Source: the seed article 003 and Hinton 2010, "A practical guide to training restricted
Boltzmann machines"; AIS for log Z after Salakhutdinov & Murray 2008, "On the
quantitative analysis of deep belief networks" (their anchor, 500 hidden units: CD-1 ≈
−125.5 and CD-25 ≈ −86.3 nats of test log-likelihood).

model.py holds the maths (conditionals, free energy, CD statistics, pseudo-log-likelihood,
AIS); train.py fits it with momentum SGD on the whole data set held as one device tensor;
evaluate.py scores it: reconstruction error, pseudo-log-likelihood, an AIS estimate of the
test log-likelihood, and the accuracy of a logistic regression on the hidden-unit
probabilities vs on raw pixels vs on `sklearn.neural_network.BernoulliRBM` features
trained on the same data with the same budget (units, epochs, batch size, step size).

Results: reports/README.md, row rbm (`dvc repro evaluate@rbm`); ours vs sklearn's fit
time: `python benchmarks/generative.py --families rbm` (reports/bench/generative.json).
"""

from .config import Config

__all__ = ["Config"]
