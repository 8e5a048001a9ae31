"""Premise retrieval for autoformalisation, after LeanVec (Tepper et al., arXiv 2312.16335).

NL queries are matched against embeddings of formal declarations. Search is done in two passes:

1. *primary*: vectors reduced by a learned linear map to ``reduced_dim`` and quantised to int8 with a
   per-dimension scale, scanned in full (a flat index: cheap because the vectors are short and small);
2. *re-rank*: the best ``rerank`` candidates are re-scored exactly with the full-dimension vectors.

Two reductions, as in the paper: **LeanVec-ID** (PCA on the data's second-moment matrix, for queries
from the same distribution) and **LeanVec-OOD** (separate query and data projections ``A``, ``B``
minimising ``||Q^T X - Q^T A^T B X||_F^2`` by block-coordinate Frank-Wolfe over the spectral-norm ball,
for queries from another distribution, which is exactly NL statements against Lean declarations).
The objective only needs ``K_Q = Q Q^T / m`` and ``K_X = X X^T / n``, so training cost does not grow
with the number of vectors. Scalable Vector Search (Intel's closed LVQ/LeanVec) is deliberately not
used: it only runs well on AVX-512 Intel hosts.

The default encoder is a deterministic hashing n-gram encoder in numpy (works offline and is
repeatable across processes); :class:`HFEncoder` mean-pools any local transformers / sentence-
transformers checkpoint.
"""

from __future__ import annotations

import contextlib
import math
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from autoformalize.declarations import Declaration


class RetrievalError(ValueError):
    """Retrieval was misconfigured; the message says which setting."""


# ---------------------------------------------------------------------------- encoders
class Encoder(Protocol):
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Row-wise L2-normalised float32 embeddings, shape ``(len(texts), dim)``."""
        ...


_SPLIT = re.compile(r"[\s._,;:()\[\]{}⟨⟩]+")


@dataclass
class HashingEncoder:
    """Signed feature hashing of word tokens and character n-grams (sublinear tf, L2-normalised).

    ``zlib.crc32`` rather than ``hash()``: Python salts ``hash`` per process, which would make an index
    built in one run unusable in the next.
    """

    dim: int = 768
    ngram_min: int = 3
    ngram_max: int = 5
    seed: int = 0

    def _features(self, text: str) -> list[str]:
        t = text.lower()
        words = [w for w in _SPLIT.split(t) if w]
        feats = [f"w:{w}" for w in words]
        for w in words:
            s = f" {w} "
            for n in range(self.ngram_min, self.ngram_max + 1):
                feats.extend(f"c:{s[i:i + n]}" for i in range(max(0, len(s) - n + 1)))
        return feats

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        salt = self.seed.to_bytes(4, "little", signed=False)
        for row, text in enumerate(texts):
            counts: dict[int, float] = {}
            for f in self._features(text):
                h = zlib.crc32(salt + f.encode("utf-8"))
                idx = h % self.dim
                sign = 1.0 if (h >> 31) & 1 else -1.0
                counts[idx] = counts.get(idx, 0.0) + sign
            for idx, c in counts.items():
                out[row, idx] = math.copysign(1.0 + math.log(abs(c)), c) if c else 0.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


class HFEncoder:
    """Mean-pooled hidden states of a local Hugging Face encoder (or a sentence-transformers folder)."""

    def __init__(self, path: str | Path, *, batch_size: int = 32, device: str = "cpu") -> None:
        p = Path(path).expanduser()
        if not p.exists():
            raise RetrievalError(f"encoder path {p} does not exist (give a local model folder, or 'hashing')")
        self.batch_size = batch_size
        self.device = device
        self._st = None
        if (p / "modules.json").exists():
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise RetrievalError(
                    f"{p} is a sentence-transformers model: pip install sentence-transformers"
                ) from None
            self._st = SentenceTransformer(str(p), device=device)
            self.dim = int(self._st.get_sentence_embedding_dimension())
            return
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(p))
        self.model = AutoModel.from_pretrained(str(p)).to(device).eval()
        self.dim = int(self.model.config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._st is not None:
            return np.asarray(self._st.encode(list(texts), normalize_embeddings=True), dtype=np.float32)
        import torch

        chunks = []
        with torch.no_grad():
            for i in range(0, len(texts), self.batch_size):
                enc = self.tokenizer(list(texts[i:i + self.batch_size]), padding=True, truncation=True,
                                     return_tensors="pt").to(self.device)
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                chunks.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, self.dim), np.float32)


def build_encoder(spec: str = "hashing", *, dim: int = 768) -> Encoder:
    """``"hashing"`` (default, offline) or a local model path."""
    if spec in ("hashing", "", None):
        return HashingEncoder(dim=dim)
    return HFEncoder(spec)


# ---------------------------------------------------------------------------- projections
@contextlib.contextmanager
def _single_blas_thread() -> Iterator[None]:
    """Training a projection is many small dense LAPACK/BLAS calls; OpenBLAS's thread pool makes those
    10-50x slower on a busy machine, so run them single-threaded (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _top_eigvecs(k: np.ndarray, d: int) -> np.ndarray:
    """Rows are the ``d`` leading eigenvectors of the symmetric matrix ``k``."""
    w, v = np.linalg.eigh(k)
    return np.ascontiguousarray(v[:, np.argsort(w)[::-1][:d]].T)


def pca_projection(x: np.ndarray, d: int) -> np.ndarray:
    """LeanVec-ID: the ``d`` leading eigenvectors of the second moment ``X^T X / n`` (rows of the result).

    Uncentred, because inner products (not distances to the mean) are what is preserved.
    """
    x = np.asarray(x, dtype=np.float64)
    with _single_blas_thread():
        return _top_eigvecs(x.T @ x / len(x), d).astype(np.float32)


def _lmo(grad: np.ndarray) -> np.ndarray:
    """Frank-Wolfe linear minimisation over {S : ||S||_2 <= 1}: ``argmin <grad, S> = -U V^T``.

    ``U V^T`` is the polar factor ``(G G^T)^{-1/2} G``, computed from the small ``d x d`` eigenproblem:
    much cheaper than an SVD of the ``d x D`` gradient (which LAPACK makes slow under thread contention).
    """
    w, v = np.linalg.eigh(grad @ grad.T)
    inv_sqrt = np.where(w > w.max() * 1e-12, 1.0 / np.sqrt(np.maximum(w, 1e-300)), 0.0)
    return -((v * inv_sqrt) @ v.T @ grad)


def ood_projection(
    queries: np.ndarray, data: np.ndarray, d: int, *, iters: int = 40, tol: float = 1e-7
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """LeanVec-OOD: query and data projections ``A``, ``B`` (``d x D``) and the loss per iteration.

    Minimises ``Tr(M^T K_Q M K_X)`` with ``M = I - A^T B`` (equal to ``||Q^T X - Q^T A^T B X||_F^2``
    up to scaling) by alternating Frank-Wolfe steps on ``A`` and ``B``, each constrained to the
    spectral-norm unit ball (the convex hull of the Stiefel manifold), with exact line search (the
    objective is quadratic in each block). Initialised from the leading eigenvectors of
    ``K_Q / tr K_Q + K_X / tr K_X``.
    """
    with _single_blas_thread():
        return _ood_projection(queries, data, d, iters=iters, tol=tol)


def _ood_projection(
    queries: np.ndarray, data: np.ndarray, d: int, *, iters: int, tol: float
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    q = np.asarray(queries, dtype=np.float64)
    x = np.asarray(data, dtype=np.float64)
    if q.shape[1] != x.shape[1]:
        raise RetrievalError(f"query dim {q.shape[1]} != data dim {x.shape[1]}")
    kq = q.T @ q / len(q)
    kx = x.T @ x / len(x)
    kqkx = kq @ kx
    init = _top_eigvecs(kq / np.trace(kq) + kx / np.trace(kx), d)
    a, b = init.copy(), init.copy()
    eye = np.eye(kq.shape[0])

    def km_of(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # K_Q M K_X with M = I - A^T B, using only D x d products
        return kqkx - (kq @ a.T) @ (b @ kx)

    def loss_of(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.sum(km_of(a, b) * (eye - a.T @ b)))  # Tr(M^T K_Q M K_X)

    losses = [loss_of(a, b)]
    for _ in range(iters):
        for block in ("a", "b"):
            km = km_of(a, b)  # d f / d M = 2 K_Q M K_X
            if block == "a":
                step = _lmo(-2.0 * (km @ b.T).T) - a
                kqe_kx = (kq @ step.T) @ (b @ kx)  # K_Q E K_X with E = step^T B
                e_num = float(np.sum((km @ b.T) * step.T))  # <K_Q M K_X, E>
                e_den = float(np.sum((kqe_kx @ b.T) * step.T))  # <K_Q E K_X, E>
            else:
                step = _lmo(-2.0 * (a @ km)) - b
                kqe_kx = (kq @ a.T) @ (step @ kx)  # E = A^T step
                e_num = float(np.sum((a @ km) * step))
                e_den = float(np.sum((a @ kqe_kx) * step))
            if e_den <= 0:
                continue
            gamma = float(np.clip(e_num / e_den, 0.0, 1.0))
            if block == "a":
                a = a + gamma * step
            else:
                b = b + gamma * step
        losses.append(loss_of(a, b))
        if abs(losses[-2] - losses[-1]) <= tol * max(abs(losses[0]), 1e-12):
            break
    return a.astype(np.float32), b.astype(np.float32), losses


# ---------------------------------------------------------------------------- quantisation
def quantize_int8(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 codes with one scale per dimension: ``y ~= codes * scale``."""
    scale = np.abs(y).max(axis=0) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    codes = np.clip(np.rint(y / scale), -127, 127).astype(np.int8)
    return codes, scale


# ---------------------------------------------------------------------------- index
class LeanVecIndex:
    """Flat inner-product index over int8 reduced vectors, with exact full-dimension re-ranking.

    ``projection``: ``"pca"`` (LeanVec-ID), ``"ood"`` (LeanVec-OOD; needs ``train_queries``) or
    ``"none"`` (no reduction; still int8 primary vectors).
    """

    def __init__(
        self,
        vectors: np.ndarray,
        reduced_dim: int = 128,
        *,
        projection: str = "pca",
        train_queries: np.ndarray | None = None,
        rerank: int = 100,
        ood_iters: int = 40,
        block: int = 16384,
    ) -> None:
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim != 2 or len(x) == 0:
            raise RetrievalError(f"index vectors must be a non-empty 2-D array, got shape {x.shape}")
        full = x.shape[1]
        self.vectors = x
        self.rerank = rerank
        self.block = block
        self.projection = projection
        if projection == "none" or reduced_dim >= full:
            self.query_proj = self.data_proj = None
            reduced = x
        elif projection == "pca":
            p = pca_projection(x, reduced_dim)
            self.query_proj = self.data_proj = p
            reduced = x @ p.T
        elif projection == "ood":
            if train_queries is None or len(train_queries) == 0:
                raise RetrievalError("projection 'ood' needs train_queries (a sample of query embeddings)")
            a, b, self.ood_losses = ood_projection(train_queries, x, reduced_dim, iters=ood_iters)
            self.query_proj, self.data_proj = a, b
            reduced = x @ b.T
        else:
            raise RetrievalError(f"unknown projection {projection!r}; use pca, ood or none")
        self.codes, self.scale = quantize_int8(reduced)

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def reduced_dim(self) -> int:
        return self.codes.shape[1]

    def _primary(self, q: np.ndarray) -> np.ndarray:
        """Approximate scores of every vector for each query, from the int8 codes."""
        qp = q @ self.query_proj.T if self.query_proj is not None else q
        qp = (qp * self.scale).astype(np.float32)  # fold the per-dimension scale into the query
        out = np.empty((len(q), len(self.codes)), dtype=np.float32)
        for s in range(0, len(self.codes), self.block):
            out[:, s:s + self.block] = qp @ self.codes[s:s + self.block].astype(np.float32).T
        return out

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` ids and exact scores per query (rows sorted by score, best first)."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        n = len(self)
        k = min(k, n)
        r = min(max(self.rerank, k), n)
        ids = np.empty((len(q), k), dtype=np.int64)
        scores = np.empty((len(q), k), dtype=np.float32)
        for s in range(0, len(q), 256):
            qb = q[s:s + 256]
            approx = self._primary(qb)
            cand = np.argpartition(approx, n - r, axis=1)[:, n - r:] if r < n else \
                np.broadcast_to(np.arange(n), approx.shape)
            for j in range(len(qb)):  # exact re-rank in full dimension
                c = cand[j]
                exact = self.vectors[c] @ qb[j]
                top = np.argsort(-exact)[:k]
                ids[s + j] = c[top]
                scores[s + j] = exact[top]
        return ids, scores

    def exact_search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Brute-force full-dimension float32 search: the baseline recall is measured against."""
        q = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        n = len(self)
        k = min(k, n)
        ids = np.empty((len(q), k), dtype=np.int64)
        scores = np.empty((len(q), k), dtype=np.float32)
        for s in range(0, len(q), 256):
            full = q[s:s + 256] @ self.vectors.T
            part = np.argpartition(full, n - k, axis=1)[:, n - k:] if k < n else \
                np.broadcast_to(np.arange(n), full.shape)
            vals = np.take_along_axis(full, part, axis=1)
            order = np.argsort(-vals, axis=1)
            ids[s:s + len(full)] = np.take_along_axis(part, order, axis=1)
            scores[s:s + len(full)] = np.take_along_axis(vals, order, axis=1)
        return ids, scores


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each row of ``truth`` that appears in the same row of ``found``."""
    hits = [len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits)) if hits else 0.0


# ---------------------------------------------------------------------------- declarations
class DeclarationRetriever:
    """Declarations plus an encoder and a LeanVec index: ``search(informal, k) -> [Declaration]``.

    The OOD projection is trained with the declarations' informal views (docstrings, else their names
    in words) as the query sample and their indexed views (name, signature, docstring) as the data.
    """

    def __init__(
        self,
        declarations: Sequence[Declaration],
        encoder: Encoder | None = None,
        *,
        reduced_dim: int = 128,
        projection: str = "ood",
        rerank: int = 50,
    ) -> None:
        if not declarations:
            raise RetrievalError("no declarations to index")
        self.declarations = list(declarations)
        self.encoder = encoder or HashingEncoder()
        # the index embeds name, type and docstring (what Herald's retrieval context shows)
        data = self.encoder.encode([f"{d.formal_text()} {d.docstring}".strip() for d in self.declarations])
        train_q = self.encoder.encode([d.informal_text() for d in self.declarations]) \
            if projection == "ood" else None
        self.index = LeanVecIndex(data, min(reduced_dim, data.shape[1]), projection=projection,
                                  train_queries=train_q, rerank=rerank)

    def search(self, query: str, k: int = 5) -> list[Declaration]:
        ids, _ = self.index.search(self.encoder.encode([query]), k)
        return [self.declarations[i] for i in ids[0]]
