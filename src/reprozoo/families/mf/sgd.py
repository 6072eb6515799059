"""One epoch of `fit`'s mini-batch SGD as three sparse matrix products per batch.

The step is `BiasedMF.step` (the article's update, every rating's gradient in the batch
summed into its user's and item's rows), computed without gathering and scattering
(B, k) rows. With A = [b_u | 1 | P] (U, k+2) and C = [1 | b_i | Q] (I, k+2),
``A_u · C_i = b_u + b_i + p_uᵀ q_i``, so for the batch's ratings as a sparse U×I matrix:

    e   = (r − μ) − (A Cᵀ) sampled at the batch's (u, i)    sampled_addmm (SDDMM)
    ∇_A = E C,   ∇_C = Eᵀ A                                 two CSR × dense products

and column 0 of E C is Σ_i e_ui, the bias gradient, so the biases ride along. The L2
term of a row is λ times its rating count in the batch. Why: on CPU the gather form
(`P[u]`, `index_add_`) writes several (B, k) temporaries per step and is bound by memory
traffic; the sparse kernels read each row once: an epoch of 80k ratings at k = 100 in
8192-rating batches took 11× less CPU time this way, layout included, on one thread of
the benchmark machine. The result equals `BiasedMF.step` up to float summation order
(tests/test_mf.py).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import torch

from .model import BiasedMF


@dataclasses.dataclass(frozen=True)
class Batch:
    """One batch's ratings laid out twice as CSR: rows = users, and rows = items."""

    user_rows: torch.Tensor   # (U+1,) CSR row pointers, users as rows
    items: torch.Tensor       # (B,) item of each rating, user-sorted
    target: torch.Tensor      # (B,) r − μ, user-sorted
    item_rows: torch.Tensor   # (I+1,) CSR row pointers, items as rows
    users: torch.Tensor       # (B,) user of each rating, item-sorted
    to_item_order: torch.Tensor  # (B,) index into the user-sorted batch of each item-sorted rating
    n_user: torch.Tensor      # (U, 1) ratings of each user in the batch (float)
    n_item: torch.Tensor      # (I, 1)


def shuffle(u: torch.Tensor, i: torch.Tensor, target: torch.Tensor, n_users: int,
            n_items: int, batch_size: int, g: torch.Generator,
            by_user: torch.Tensor, by_item: torch.Tensor) -> list[Batch]:
    """A uniformly random partition of the ratings into batches of `batch_size` (the last
    one shorter), as slicing a random permutation gives, each laid out as CSR.
    `by_user`, `by_item`: `presort(u, i, n_items)`, `presort(i, u, n_users)`."""
    n, device = len(u), u.device
    batch = (torch.randperm(n, generator=g) // batch_size).to(device)  # (N,) batch of each rating
    n_batches = (n + batch_size - 1) // batch_size
    # A stable sort of the (user, item)-sorted ratings on their batch puts every batch in
    # one contiguous slice, still sorted by (user, item). Batch ids fit a narrow dtype,
    # which torch sorts ~8× faster than int64 keys (sorts dominate this function).
    narrow = torch.uint8 if n_batches <= 256 else torch.int32
    by_user = by_user.index_select(0, _stable_order(batch.index_select(0, by_user).to(narrow)))
    by_item = by_item.index_select(0, _stable_order(batch.index_select(0, by_item).to(narrow)))
    # Batch s holds slots s·B .. s·B+B−1 of both orders, so a rating's index inside its
    # batch's user-sorted slice is its user-order slot mod B (index_put_ rather than
    # index_copy_: deterministic on CUDA too).
    slot = torch.arange(n, device=device) % batch_size
    in_batch = torch.empty_like(by_user).index_put_((by_user,), slot)
    to_item_order = in_batch.index_select(0, by_item)
    items, users = i.index_select(0, by_user), u.index_select(0, by_item)
    target = target.index_select(0, by_user)
    rows_u, n_u = _row_pointers(batch * n_users + u, n_batches, n_users)
    rows_i, n_i = _row_pointers(batch * n_items + i, n_batches, n_items)
    n_u, n_i = n_u.to(target.dtype)[:, :, None], n_i.to(target.dtype)[:, :, None]
    return [Batch(user_rows=rows_u[s], items=items[a:b], target=target[a:b],
                  item_rows=rows_i[s], users=users[a:b], to_item_order=to_item_order[a:b],
                  n_user=n_u[s], n_item=n_i[s])
            for s, (a, b) in enumerate((a, min(n, a + batch_size)) for a in range(0, n, batch_size))]


def _stable_order(key: torch.Tensor) -> torch.Tensor:
    return torch.sort(key, stable=True).indices


def presort(rows: torch.Tensor, cols: torch.Tensor, n_cols: int) -> torch.Tensor:
    """The ratings' order by (row, column), e.g. (user, item), once per fit for `shuffle`:
    CSR wants each row's column indices sorted (torch's invariant; a (user, item) pair is
    one rating in MovieLens, so they are also distinct)."""
    return torch.sort(rows * n_cols + cols, stable=True).indices


def _row_pointers(key: torch.Tensor, n_batches: int, n_rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n_batches, n_rows+1) CSR row pointers of each batch and (n_batches, n_rows) row
    counts, from the ratings' (batch · n_rows + row) keys (in any order)."""
    count = torch.bincount(key, minlength=n_batches * n_rows).view(n_batches, n_rows)
    rows = torch.zeros(n_batches, n_rows + 1, dtype=torch.int64, device=key.device)
    torch.cumsum(count, 1, out=rows[:, 1:])
    return rows, count


def pack(model: BiasedMF) -> tuple[torch.Tensor, torch.Tensor]:
    """A = [b_u | 1 | P] (U, k+2), C = [1 | b_i | Q] (I, k+2): A_u · C_i = b_u + b_i + p_uᵀ q_i."""
    ones_u = torch.ones_like(model.bu)[:, None]
    ones_i = torch.ones_like(model.bi)[:, None]
    return (torch.cat([model.bu[:, None], ones_u, model.P], 1),
            torch.cat([ones_i, model.bi[:, None], model.Q], 1))


def unpack(A: torch.Tensor, C: torch.Tensor, model: BiasedMF) -> BiasedMF:
    """Write A, C back into `model` (copies, so its state holds no views of A, C)."""
    model.bu, model.P = A[:, 0].clone(), A[:, 2:].clone()
    model.bi, model.Q = C[:, 1].clone(), C[:, 2:].clone()
    return model


def column_rates(k: int, factors: float, bias: float, user_side: bool,
                 like: torch.Tensor) -> torch.Tensor:
    """(k+2,) per-column value for A (user_side) or C: `bias` on the bias column, 0 on the
    constant-1 column (so it stays exactly 1), `factors` on the k factor columns."""
    head = [bias, 0.0] if user_side else [0.0, bias]
    return torch.tensor(head + [factors] * k, dtype=like.dtype, device=like.device)


def step(A: torch.Tensor, C: torch.Tensor, b: Batch, lr_a: torch.Tensor, lr_c: torch.Tensor,
         shrink_a: torch.Tensor, shrink_c: torch.Tensor) -> torch.Tensor:
    """One SGD step on batch `b`, in place on A, C; returns the batch's summed squared
    error (a 0-d tensor, so an epoch syncs once). `lr_*` are α per column and `shrink_*`
    α·λ per column (`column_rates`)."""
    (n_users, _), (n_items, _) = A.shape, C.shape
    r = _csr(b.user_rows, b.items, b.target, (n_users, n_items))
    E = torch.sparse.sampled_addmm(r, A, C.T, beta=1.0, alpha=-1.0)  # values: e_ui, user-sorted
    e = E.values()                                                    # (B,)
    Et = _csr(b.item_rows, b.users, e.index_select(0, b.to_item_order), (n_items, n_users))
    grad_a, grad_c = E @ C, Et @ A  # (U, k+2), (I, k+2): Σ e·C_i per user, Σ e·A_u per item
    # a ← a + α(Σ e·c − n λ a), written as a·(1 − n α λ) + α Σ e·c: three passes over
    # A instead of five, which matters as much as the sparse products at this size
    A.mul_(1.0 - b.n_user * shrink_a).addcmul_(grad_a, lr_a)
    C.mul_(1.0 - b.n_item * shrink_c).addcmul_(grad_c, lr_c)
    return e.dot(e)


def _csr(rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor,
         size: tuple[int, int]) -> torch.Tensor:
    """A CSR matrix from `shuffle`'s layout, valid by construction: its invariant check
    (a pass over the indices) is skipped, and torch's one-time 'beta' notice silenced."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support", UserWarning)
        return torch.sparse_csr_tensor(rows, cols, values, size, check_invariants=False)


def epoch(A: torch.Tensor, C: torch.Tensor, batches: list[Batch], lr: float, reg: float,
          lr_b: float, reg_b: float) -> float:
    """One pass over `batches`; returns the summed squared error of the pass (each batch's
    error before its own step, as the per-rating loop reports it)."""
    k = A.shape[1] - 2
    lr_a, lr_c = column_rates(k, lr, lr_b, True, A), column_rates(k, lr, lr_b, False, A)
    shrink_a = column_rates(k, lr * reg, lr_b * reg_b, True, A)
    shrink_c = column_rates(k, lr * reg, lr_b * reg_b, False, A)
    sse: Any = 0.0
    for b in batches:
        sse = sse + step(A, C, b, lr_a, lr_c, shrink_a, shrink_c)
    return float(sse)
