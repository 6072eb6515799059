"""A neural network from scratch in NumPy: dense sigmoid layers with MSE, and the CNN
article's hand-derived 3×3 convolution + ReLU + 2×2 max-pooling backward pass.

Source: seed article 001 builds a `Node` (weights, bias, sigmoid), then a `Layer` with
`forward`, `backward` (which returns the gradient for the layer below) and `update`, then
stacks layers and trains them with backpropagation on the mean squared error. The article
loops over elements for teaching; here every operation is vectorized over the batch, and
the per-element maths it implements is written out in the comments.

The CNN article derives the backward pass of a convolution layer by hand: the pooled
error is routed back through the max mask, the weight gradient correlates the input with
the error, and the input gradient convolves the error (zero-padded) with the filter
rotated by 180°. `conv3x3_backward` and `maxpool2x2_backward` implement exactly that.
Both parts are gradient-checked against torch.autograd in tests/test_nn_numpy.py.

Shapes: dense inputs are (N, D); images are (N, C, H, W) (channels first, as torch).
Everything is float64 unless the caller passes another dtype.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Array = np.ndarray


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


# ---------------------------------------------------------------- CNN article: conv, ReLU, pool
def conv3x3_forward(x: Array, w: Array, b: Array) -> Array:
    """Valid 3×3 cross-correlation (what torch.nn.functional.conv2d computes).

    x (N, C, H, W), w (F, C, 3, 3), b (F,) → y (N, F, H−2, W−2)
        y[n,f,i,j] = b[f] + Σ_c Σ_u Σ_v x[n,c,i+u,j+v] · w[f,c,u,v]
    """
    win = sliding_window_view(x, (3, 3), axis=(2, 3))  # (N, C, H−2, W−2, 3, 3), a view
    return np.einsum("nchwuv,fcuv->nfhw", win, w, optimize=True) + b[None, :, None, None]


def conv3x3_backward(x: Array, w: Array, dy: Array) -> tuple[Array, Array, Array]:
    """Gradients of the convolution above, given dy = ∂L/∂y (N, F, H−2, W−2).

        ∂L/∂w[f,c,u,v] = Σ_n Σ_i Σ_j dy[n,f,i,j] · x[n,c,i+u,j+v]   (input ⋆ error)
        ∂L/∂b[f]       = Σ_n Σ_i Σ_j dy[n,f,i,j]
        ∂L/∂x[n,c,p,q] = Σ_f Σ_u Σ_v dy_pad[n,f,p+u,q+v] · rot180(w)[f,c,u,v]
    where dy_pad is dy zero-padded by 2 on every side: the "full" convolution of the error
    with the filter rotated by 180°, as the CNN article derives.
    """
    win = sliding_window_view(x, (3, 3), axis=(2, 3))
    dw = np.einsum("nchwuv,nfhw->fcuv", win, dy, optimize=True)
    db = dy.sum(axis=(0, 2, 3))
    dy_pad = np.pad(dy, ((0, 0), (0, 0), (2, 2), (2, 2)))          # (N, F, H+2, W+2)
    w_rot = w[:, :, ::-1, ::-1]                                     # 180° rotation
    dwin = sliding_window_view(dy_pad, (3, 3), axis=(2, 3))         # (N, F, H, W, 3, 3)
    dx = np.einsum("nfhwuv,fcuv->nchw", dwin, w_rot, optimize=True)
    return dx, dw, db


def relu_forward(z: Array) -> Array:
    return np.maximum(z, 0.0)


def relu_backward(z: Array, da: Array) -> Array:
    """∂L/∂z = ∂L/∂a · 1[z > 0] (the subgradient 0 at z = 0, as torch)."""
    return da * (z > 0)


def maxpool2x2_forward(x: Array) -> tuple[Array, Array]:
    """2×2 max pooling, stride 2: x (N, C, H, W) → y (N, C, H//2, W//2), plus the max
    mask (one-hot over each window's 4 cells; the first maximum wins ties, as torch)."""
    n, c, h, w = x.shape
    h2, w2 = h // 2, w // 2
    blocks = (x[:, :, : 2 * h2, : 2 * w2].reshape(n, c, h2, 2, w2, 2)
              .transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h2, w2, 4))  # (N, C, H/2, W/2, 4)
    arg = blocks.argmax(axis=-1)
    mask = np.zeros_like(blocks, dtype=bool)
    np.put_along_axis(mask, arg[..., None], True, axis=-1)
    return np.take_along_axis(blocks, arg[..., None], axis=-1)[..., 0], mask


def maxpool2x2_backward(mask: Array, dy: Array, shape: tuple[int, ...]) -> Array:
    """Route ∂L/∂y back to the cell that held each window's maximum; others get 0.
    Rows/columns cut off by an odd H or W get 0 too. `shape` = the input's shape."""
    n, c, h, w = shape
    h2, w2 = h // 2, w // 2
    d = (mask * dy[..., None]).reshape(n, c, h2, w2, 2, 2).transpose(0, 1, 2, 4, 3, 5)
    dx = np.zeros(shape, dtype=dy.dtype)
    dx[:, :, : 2 * h2, : 2 * w2] = d.reshape(n, c, 2 * h2, 2 * w2)
    return dx


def conv_relu_pool_forward(x: Array, w: Array, b: Array) -> tuple[Array, tuple]:
    """conv3x3 → ReLU → maxpool2x2; returns the output and the cache for backward."""
    z = conv3x3_forward(x, w, b)
    a = relu_forward(z)
    y, mask = maxpool2x2_forward(a)
    return y, (x, w, z, mask)


def conv_relu_pool_backward(dy: Array, cache: tuple) -> tuple[Array, Array, Array]:
    """The CNN article's backward pass: pool mask → ReLU gate → conv gradients."""
    x, w, z, mask = cache
    da = maxpool2x2_backward(mask, dy, z.shape)
    dz = relu_backward(z, da)
    return conv3x3_backward(x, w, dz)
