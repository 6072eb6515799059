"""A neural network from scratch in NumPy: dense sigmoid layers trained by backpropagation
on the mean squared error, and the 24×24 input crops the numpy_net family feeds it.

Source: seed article 001 builds a `Node` (weights, bias, sigmoid), then a `Layer` with
`forward`, `backward` (which returns the gradient for the layer below) and `update`, then
stacks layers and trains them with backpropagation on the mean squared error. The article
loops over elements for teaching; here every operation is vectorized over the batch, and
the per-element maths it implements is written out in the comments. Gradient-checked
against torch.autograd in tests/test_nn_numpy.py. (The CNN article's hand-derived
convolution backward pass lives beside this file, in conv_backprop.py.)

Shapes: dense inputs are (N, D). Everything is float64 unless the caller passes another
dtype (the numpy_net family trains in float32).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

Array = np.ndarray
CROP = 24  # the article's 24×24 input (576 pixels)


# ---------------------------------------------------------------- activations and loss
def sigmoid(z: Array) -> Array:
    """σ(z) = 1 / (1 + e^{−z}), computed without overflow for large |z|."""
    out = np.empty_like(z, dtype=np.result_type(z, np.float32))
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def mse(pred: Array, target: Array) -> float:
    """L = 1/(2N) Σ_n Σ_k (a_nk − t_nk)²: the article's squared error, averaged over the
    batch (the ½ cancels the 2 of the derivative)."""
    return float(0.5 * np.sum((pred - target) ** 2) / len(pred))


def mse_grad(pred: Array, target: Array) -> Array:
    """∂L/∂a_nk = (a_nk − t_nk) / N."""
    return (pred - target) / len(pred)


# ---------------------------------------------------------------- the article's Node
class Node:
    """One sigmoid neuron: a = σ(Σ_i w_i x_i + b). The article's first building block,
    kept for its exercise (gradient descent on a 3-sample table)."""

    def __init__(self, n_in: int, rng: np.random.Generator):
        self.w = rng.normal(0.0, 1.0, n_in)
        self.b = 0.0

    def forward(self, x: Array) -> Array:  # x (N, n_in) → (N,)
        return sigmoid(x @ self.w + self.b)

    def step(self, x: Array, t: Array, lr: float) -> float:
        """One gradient-descent step on L = 1/(2N) Σ (a − t)²; returns L before the step.
        ∂L/∂w_i = 1/N Σ_n (a_n − t_n) · a_n (1 − a_n) · x_ni ;  ∂L/∂b likewise with x = 1."""
        a = self.forward(x)
        delta = (a - t) * a * (1.0 - a) / len(x)  # (N,)
        self.w -= lr * (x.T @ delta)
        self.b -= lr * float(delta.sum())
        return float(0.5 * np.sum((a - t) ** 2) / len(x))


# ---------------------------------------------------------------- Layer and Network
class Layer:
    """A fully connected layer a = f(x W + b), f = sigmoid (or identity).

    Per element (the article's loops):  z_j = Σ_i x_i w_ij + b_j ,  a_j = σ(z_j).
    Backward, given g_j = ∂L/∂a_j:
        δ_j      = g_j · σ'(z_j) = g_j · a_j (1 − a_j)
        ∂L/∂w_ij = x_i δ_j        ∂L/∂b_j = δ_j        ∂L/∂x_i = Σ_j w_ij δ_j
    summed over the batch for the parameters.
    """

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator,
                 activation: str = "sigmoid", dtype: type = np.float64):
        if activation not in ("sigmoid", "identity"):
            raise ValueError(f"activation must be 'sigmoid' or 'identity', got {activation!r}")
        # Scaled normal init (Xavier-like): keeps σ out of saturation at the start.
        self.W = rng.normal(0.0, 1.0 / np.sqrt(n_in), (n_in, n_out)).astype(dtype)  # (in, out)
        self.b = np.zeros(n_out, dtype=dtype)                                         # (out,)
        self.activation = activation
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self._x: Array | None = None
        self._a: Array | None = None

    def forward(self, x: Array) -> Array:
        z = x @ self.W + self.b  # (N, out)
        a = sigmoid(z) if self.activation == "sigmoid" else z
        self._x, self._a = x, a
        return a

    def backward(self, grad_a: Array) -> Array:
        """Store ∂L/∂W, ∂L/∂b and return ∂L/∂x (N, in) for the layer below."""
        if self._x is None:
            raise RuntimeError("Layer.backward called before forward")
        a = self._a
        delta = grad_a * a * (1.0 - a) if self.activation == "sigmoid" else grad_a  # (N, out)
        self.dW = self._x.T @ delta   # (in, out) = Σ_n x_ni δ_nj
        self.db = delta.sum(axis=0)   # (out,)
        return delta @ self.W.T       # (N, in)  = Σ_j w_ij δ_nj

    def update(self, lr: float) -> None:
        """Plain gradient descent: w ← w − lr ∂L/∂w."""
        self.W -= lr * self.dW
        self.b -= lr * self.db


class Network:
    """Stacked layers trained by backpropagation on the MSE (the article's network)."""

    def __init__(self, sizes: Sequence[int], rng: np.random.Generator,
                 activations: Sequence[str] | None = None, dtype: type = np.float64):
        if len(sizes) < 2:
            raise ValueError(f"need at least input and output sizes, got {list(sizes)}")
        acts = list(activations) if activations is not None else ["sigmoid"] * (len(sizes) - 1)
        self.layers = [Layer(i, o, rng, a, dtype) for i, o, a in zip(sizes[:-1], sizes[1:], acts)]

    def forward(self, x: Array) -> Array:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad: Array) -> Array:
        """Backpropagate ∂L/∂output through every layer; returns ∂L/∂input."""
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def update(self, lr: float) -> None:
        for layer in self.layers:
            layer.update(lr)

    def train_step(self, x: Array, t: Array, lr: float) -> float:
        """forward → MSE → backward → update; returns the loss before the update."""
        a = self.forward(x)
        loss = mse(a, t)
        self.backward(mse_grad(a, t))
        self.update(lr)
        return loss

    def state(self) -> dict[str, Array]:
        return {f"{i}.{k}": getattr(layer, k) for i, layer in enumerate(self.layers) for k in ("W", "b")}

    def load(self, state: dict[str, Array]) -> None:
        for i, layer in enumerate(self.layers):
            for k in ("W", "b"):
                v = np.asarray(state[f"{i}.{k}"])
                if v.shape != getattr(layer, k).shape:
                    raise ValueError(f"layer {i}.{k}: checkpoint shape {v.shape} does not fit "
                                     f"{getattr(layer, k).shape}")
                setattr(layer, k, v.astype(getattr(layer, k).dtype))


# ---------------------------------------------------------------- the numpy_net family's model
@dataclasses.dataclass(frozen=True)
class ModelConfig:
    hidden: int  # hidden sigmoid units (the article: 100)

    def sizes(self) -> tuple[int, int, int]:
        """Layer widths: the 24×24 crop (576) → hidden → 10 digits."""
        return (CROP * CROP, self.hidden, 10)


def center_crop(x: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 → (N, 576) float32 in [0, 1], the central 24×24."""
    o = (x.shape[1] - CROP) // 2
    return x[:, o:o + CROP, o:o + CROP].reshape(len(x), -1).astype(np.float32) / 255.0


def random_crop(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image cropped at its own random offset (0..4 px each way), batch-wise."""
    n, h, w = x.shape
    off = rng.integers(0, h - CROP + 1, (n, 2))
    rows = off[:, 0, None] + np.arange(CROP)  # (N, 24)
    cols = off[:, 1, None] + np.arange(CROP)
    out = x[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]  # (N, 24, 24)
    return out.reshape(n, -1).astype(np.float32) / 255.0


def accuracy(net: Network, x: np.ndarray, y: np.ndarray) -> float:
    return float((net.forward(x).argmax(axis=1) == y).mean())
