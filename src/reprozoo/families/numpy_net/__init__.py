"""numpy_net: seed article 001's from-scratch NumPy network on MNIST, 576-100-10.

The model (model.py): sigmoid layers, squared-error loss on one-hot targets, plain
mini-batch gradient descent, every gradient hand-written in NumPy (no torch autograd).
Input: the 28×28 digit cropped to its central 24×24 (576 pixels) as in the article; with
`augment` the training crop is taken at a random offset of 0..4 px instead (a cheap shift
augmentation that the crop makes free). conv_backprop.py holds the CNN article's
hand-derived convolution/pooling backward pass (teaching code, checked in
tests/test_nn_numpy.py; not used by the stages).

Source: seed article 001 ("Node" → "Layer" → network, trained on MNIST cropped to 24×24).
Results: reports/README.md, row numpy_net (targets: TARGETS in
src/reprozoo/report/targets.py); rebuilt with `dvc repro evaluate@numpy_net`.
"""

from .config import Config

__all__ = ["Config"]
