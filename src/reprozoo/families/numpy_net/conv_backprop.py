"""The CNN article's hand-derived backward pass of a 3×3 convolution + ReLU + 2×2 max
pooling, in NumPy (teaching code beside the numpy_net family; its stages do not use it).

The CNN article derives the backward pass of a convolution layer by hand: the pooled
error is routed back through the max mask, the weight gradient correlates the input with
the error, and the input gradient convolves the error (zero-padded) with the filter
rotated by 180°. `conv3x3_backward` and `maxpool2x2_backward` implement exactly that,
gradient-checked against torch.autograd in tests/test_nn_numpy.py.

Shapes: images are (N, C, H, W) (channels first, as torch).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

Array = np.ndarray


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
