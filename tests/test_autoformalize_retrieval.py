"""Retrieval: recall against exact search on synthetic embeddings, the OOD projection, int8 codes."""

from __future__ import annotations

import numpy as np
import pytest

from autoformalize.declarations import Declaration
from autoformalize.retrieval import (
    DeclarationRetriever,
    HashingEncoder,
    LeanVecIndex,
    ood_projection,
    quantize_int8,
    recall_at_k,
)


def _ood_data(seed: int = 0, dim: int = 192, n: int = 4000):
    """Queries live in a 16-dim subspace where the data has little variance; the data's variance is
    elsewhere. PCA on the data keeps the wrong directions; a query-aware projection keeps the right ones."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    sq, sx = basis[:, :16], basis[:, 16:80]
    data = rng.normal(size=(n, 16)) @ sq.T * 0.5 + rng.normal(size=(n, 64)) @ sx.T * 3.0
    data += rng.normal(size=(n, dim)) * 0.05

    def queries(m: int) -> np.ndarray:
        return rng.normal(size=(m, 16)) @ sq.T + rng.normal(size=(m, dim)) * 0.01

    return data.astype(np.float32), queries(300).astype(np.float32), queries(200).astype(np.float32)


@pytest.fixture(scope="module")
def ood_data():
    return _ood_data()


def test_ood_projection_recovers_exact_top10_where_pca_fails(ood_data):
    data, train_q, test_q = ood_data
    exact = LeanVecIndex(data, data.shape[1], projection="none")
    truth, _ = exact.exact_search(test_q, 10)
    ood = LeanVecIndex(data, 24, projection="ood", train_queries=train_q, rerank=50)
    pca = LeanVecIndex(data, 24, projection="pca", rerank=50)
    r_ood = recall_at_k(ood.search(test_q, 10)[0], truth)
    r_pca = recall_at_k(pca.search(test_q, 10)[0], truth)
    assert ood.reduced_dim == 24 and ood.codes.dtype == np.int8
    assert r_ood >= 0.95, r_ood
    assert r_pca < 0.5, r_pca  # the data-only projection throws away the query directions
    assert ood.ood_losses[-1] <= ood.ood_losses[0]


def test_pca_projection_recall_in_distribution():
    rng = np.random.default_rng(1)
    dim, n = 128, 3000
    spectrum = np.exp(-np.arange(dim) / 8.0)
    data = (rng.normal(size=(n, dim)) * spectrum).astype(np.float32)
    queries = (rng.normal(size=(100, dim)) * spectrum).astype(np.float32)
    idx = LeanVecIndex(data, 32, projection="pca", rerank=50)
    truth, _ = idx.exact_search(queries, 10)
    found, scores = idx.search(queries, 10)
    assert recall_at_k(found, truth) >= 0.95
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    # a broken projection (eigenvectors sorted the wrong way: the least variance kept) fails at this budget
    broken = LeanVecIndex(data, 32, projection="pca", rerank=50)
    w, v = np.linalg.eigh(data.T.astype(np.float64) @ data / len(data))
    broken.query_proj = broken.data_proj = v[:, np.argsort(w)[:32]].T.astype(np.float32)
    broken.codes, broken.scale = quantize_int8(data @ broken.data_proj.T)
    assert recall_at_k(broken.search(queries, 10)[0], truth) < 0.5


def test_ood_projection_loss_decreases_and_stays_in_spectral_ball():
    rng = np.random.default_rng(2)
    q = rng.normal(size=(200, 40)) * np.linspace(2, 0.1, 40)
    x = rng.normal(size=(500, 40)) * np.linspace(0.1, 2, 40)
    a, b, losses = ood_projection(q, x, 8, iters=30)
    assert a.shape == b.shape == (8, 40)
    assert all(later <= earlier + 1e-9 for earlier, later in zip(losses, losses[1:], strict=False))
    assert losses[-1] < losses[0]
    assert np.linalg.norm(a, 2) <= 1 + 1e-5 and np.linalg.norm(b, 2) <= 1 + 1e-5


def test_int8_quantization_per_dimension_scale():
    rng = np.random.default_rng(3)
    y = rng.normal(size=(1000, 16)) * np.logspace(-3, 2, 16)
    codes, scale = quantize_int8(y)
    assert codes.dtype == np.int8 and scale.shape == (16,)
    err = np.abs(codes * scale - y).max(axis=0)
    assert np.all(err <= scale / 2 + 1e-9)  # per-dimension scale keeps tiny dims accurate too


def test_hashing_encoder_is_deterministic_and_normalised():
    enc = HashingEncoder(dim=256)
    a = enc.encode(["Nat.Prime.two_le", "the sum of two even numbers is even"])
    b = HashingEncoder(dim=256).encode(["Nat.Prime.two_le", "the sum of two even numbers is even"])
    assert np.array_equal(a, b)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    sim = enc.encode(["prime number"]) @ enc.encode(["Nat.Prime", "Real.sqrt"]).T
    assert sim[0, 0] > sim[0, 1]


def test_declaration_retriever_finds_the_relevant_declaration():
    decls = [
        Declaration("Nat.Prime.two_le", signature="{p : ℕ} (hp : p.Prime) : 2 ≤ p",
                    docstring="A prime number is at least two."),
        Declaration("Real.sqrt_nonneg", signature="(x : ℝ) : 0 ≤ √x",
                    docstring="The square root of a real number is non-negative."),
        Declaration("Finset.sum_range_succ", signature="(f : ℕ → M) (n : ℕ) : ∑ x ∈ range (n + 1), f x = ...",
                    docstring="Sum over range n+1 splits off the last term."),
        Declaration("Even.add", signature="(ha : Even a) (hb : Even b) : Even (a + b)",
                    docstring="The sum of two even numbers is even."),
    ]
    r = DeclarationRetriever(decls, HashingEncoder(dim=256), reduced_dim=32, projection="ood")
    assert r.search("every prime number is at least two", k=1)[0].name == "Nat.Prime.two_le"
    assert r.search("square root non-negative", k=1)[0].name == "Real.sqrt_nonneg"


def test_hf_encoder_on_a_tiny_random_local_model(tmp_path):
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from autoformalize.retrieval import RetrievalError, build_encoder

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "prime", "number", "even", "sum", "root"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=32)
    BertModel(cfg).save_pretrained(tmp_path)
    enc = build_encoder(str(tmp_path))
    v = enc.encode(["prime number", "even sum", "root"])
    assert v.shape == (3, 16) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.allclose(v, enc.encode(["prime number", "even sum", "root"]), atol=1e-6)  # eval mode
    with pytest.raises(RetrievalError, match="does not exist"):
        build_encoder(str(tmp_path / "missing"))
