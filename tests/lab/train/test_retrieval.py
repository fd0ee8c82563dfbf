"""The retrieval tasks: query pairs, the exact metric against loops and scikit-learn, the baseline, peers, the suite."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

from uniloss_lab.cli import main
from uniloss_lab.train import TrainConfig, train
from uniloss_lab.train.builders import build_model_for
from uniloss_lab.train.compare import run_comparison, setting_names, suite_losses, suite_lrs, suite_settings
from uniloss_lab.train.tasks import build_task, retrieval
from uniloss_lab.train.tasks.retrieval import SIMILARITY_SCALE, contrastive_loss, query_pairs, retrieval_metric

HAS_PML = importlib.util.find_spec("pytorch_metric_learning") is not None
needs_pml = pytest.mark.skipif(not HAS_PML, reason="pytorch-metric-learning is not installed (the peers extra)")
FASHION = Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")


def _batch(count: int, dim: int = 5, classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, dim, generator=generator), torch.randint(0, classes, (count,), generator=generator)


def _loop_metric(name: str, embeddings: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """Each query ranked by a sort of its own (tie-free embeddings), the metric by its textbook formula."""
    unit = embeddings.double() / embeddings.double().norm(dim=1, keepdim=True)
    values = []
    for query in range(len(labels)):
        gallery = [item for item in range(len(labels)) if item != query]
        scores = np.array([float(unit[query] @ unit[item]) for item in gallery])
        relevant = np.array([int(labels[item] == labels[query]) for item in gallery])
        if name == "ndcg":
            values.append(ndcg_score(relevant[None], scores[None], k=k) if relevant.any() else 0.0)
            continue
        hits = relevant[np.argsort(-scores)][:k].sum()
        values.append(hits / k if name == "precision_at_k" else (hits / relevant.sum() if relevant.any() else 0.0))
    return float(np.mean(values))


def test_query_pairs_rank_every_other_example_of_the_batch_for_each_query():
    embeddings, labels = _batch(6)
    scores, relevance, groups = query_pairs(embeddings, labels)
    assert scores.shape == relevance.shape == groups.shape == (30,)
    unit = torch.nn.functional.normalize(embeddings, dim=1)
    expected = [
        (SIMILARITY_SCALE * float(unit[q] @ unit[g]), int(labels[q] == labels[g]), q)
        for q in range(6)
        for g in range(6)
        if g != q
    ]
    torch.testing.assert_close(scores, torch.tensor([row[0] for row in expected]))
    assert relevance.tolist() == [row[1] for row in expected]
    assert groups.tolist() == [row[2] for row in expected]
    part = query_pairs(embeddings, labels, slice(2, 4))
    assert part[2].tolist() == [2] * 5 + [3] * 5  # group ids are the queries' own rows
    torch.testing.assert_close(part[0], scores[10:20])


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["precision_at_k", "recall_at_k", "ndcg"]), st.integers(3, 40), st.integers(1, 6))
def test_retrieval_metric_equals_a_loop_over_queries_and_scikit_learn(name, count, k):
    embeddings, labels = _batch(count, seed=count * 7 + k)
    expected = _loop_metric(name, embeddings, labels, k)
    assert float(retrieval_metric(name, embeddings, labels, top_k=k)) == pytest.approx(expected, abs=1e-6)


def test_retrieval_metric_gives_the_same_value_in_chunks_of_queries(monkeypatch):
    embeddings, labels = _batch(50, classes=4)
    whole = retrieval_metric("ndcg", embeddings, labels, top_k=5)
    monkeypatch.setattr(retrieval, "_QUERY_CHUNK", 7)  # 8 chunks, the last of one query
    assert float(retrieval_metric("ndcg", embeddings, labels, top_k=5)) == pytest.approx(float(whole), abs=1e-6)


def test_the_contrastive_loss_equals_its_formula_over_every_pair_and_passes_gradcheck():
    embeddings, labels = _batch(7)
    unit = torch.nn.functional.normalize(embeddings, dim=1)
    terms = []
    for i in range(7):
        for j in range(i + 1, 7):
            distance = float((unit[i] - unit[j]).norm())
            terms.append(distance**2 if labels[i] == labels[j] else max(0.0, 0.5 - distance) ** 2)
    assert float(contrastive_loss(embeddings, labels, margin=0.5)) == pytest.approx(np.mean(terms), rel=1e-5)
    double = embeddings.double().requires_grad_()
    assert torch.autograd.gradcheck(lambda e: contrastive_loss(e, labels, margin=1.5), (double,))


def test_the_task_gives_uniloss_the_query_pairs_and_builds_an_embedding_model():
    config = TrainConfig(task="recall_at_k", top_k=3, embedding_dim=16, hidden=(8,))
    assert build_model_for(config)(torch.zeros(2, 1, 8, 8)).shape == (2, 16)
    seen = []

    def criterion(scores, relevance, groups):
        seen.append((scores.shape, relevance.sum(), groups.max()))
        return scores.mean()

    embeddings, labels = _batch(5)
    task = build_task(config, criterion=criterion)
    assert task.metric_name == "recall_at_k"
    task.loss(embeddings, (labels,))
    assert seen == [(torch.Size([20]), (query_pairs(embeddings, labels)[1]).sum(), 4)]
    own = build_task(config)
    assert torch.isfinite(own.loss(embeddings.requires_grad_(), (labels,)))
    value, weight = own.batch_metric(embeddings, (labels,))
    assert (value, weight) == (pytest.approx(float(retrieval_metric("recall_at_k", embeddings, labels, 3))), 5.0)


def test_uniloss_plus_the_task_loss_adds_the_weighted_contrastive_loss():
    embeddings, labels = _batch(8)
    alone = build_task(TrainConfig(task="ndcg", top_k=3, seed=1)).loss(embeddings, (labels,))
    both = build_task(TrainConfig(task="ndcg", top_k=3, seed=1, task_weight=2.0)).loss(embeddings, (labels,))
    torch.testing.assert_close(both, alone + 2.0 * contrastive_loss(embeddings, labels))


def test_a_retrieval_run_trains_and_reports_its_metric_on_validation_and_test():
    config = TrainConfig(task="precision_at_k", top_k=5, epochs=2, validation=0.2, hidden=(16,), device="cpu")
    history = train(config.replace(limit_train=300, limit_test=100), progress=False)
    assert history["metric"] == "precision_at_k"
    assert 0.0 <= history["final_metric"] <= 1.0
    baseline = train(config.replace(loss="baseline", limit_train=300, limit_test=100), progress=False)
    assert baseline["loss_name"] == "contrastive loss"


def test_a_retrieval_task_takes_top_k_and_embedding_dim_on_the_command_line(tmp_path):
    argv = ["train", "--task", "ndcg", "--top-k", "3", "--embedding-dim", "8", "--epochs", "1", "--limit-train", "64"]
    assert main([*argv, "--limit-test", "32", "--device", "cpu", "--out", str(tmp_path / "b"), "--no-progress"]) == 0


def test_the_retrieval_suite_has_each_metric_with_the_contrastive_loss_and_every_metric_learning_peer():
    settings_ = suite_settings("retrieval-fashion-mnist")
    names = ["precision_at_k-fashion-mnist", "recall_at_k-fashion-mnist", "ndcg-fashion-mnist"]
    assert setting_names(settings_) == names
    assert {(config.top_k, config.embedding_dim, config.hidden) for config in settings_} == {(10, 64, (256,))}
    assert suite_lrs("retrieval-fashion-mnist") == [(1e-3, 3e-3)] * 3
    for setting, rows in zip(settings_, suite_losses("retrieval-fashion-mnist"), strict=True):
        assert list(rows) == [
            "uniloss", "baseline", "uniloss-plus-task", "pml_contrastive", "pml_triplet", "pml_smooth_ap", "pml_fast_ap"
        ]  # fmt: skip
        for row in rows.values():
            setting.replace(**row)


def test_the_quick_form_of_the_retrieval_setting_runs_on_digits(tmp_path):
    (setting, *_) = suite_settings("retrieval-fashion-mnist", quick=True)
    rows = {name: row for name, row in suite_losses("retrieval-fashion-mnist")[0].items() if "pml" not in name}
    grid = suite_lrs("retrieval-fashion-mnist", quick=True)[0][:1]
    digits = setting.replace(dataset="digits")
    results = run_comparison([digits], [0], tmp_path, progress=False, lrs=[grid], losses=[rows])
    (entry,) = results["settings"]
    assert entry["selected_on"] == "validation"
    assert {run["loss"] for run in entry["runs"]} == set(rows)


@needs_pml
@pytest.mark.parametrize("name", ["pml_contrastive", "pml_triplet", "pml_smooth_ap", "pml_fast_ap"])
def test_each_metric_learning_peer_gives_a_finite_loss_and_gradient_on_an_unbalanced_batch(name):
    from uniloss_lab.train.peers import build_peer

    embeddings, labels = _batch(13, classes=3)
    embeddings.requires_grad_()
    loss = build_peer(name)(embeddings, labels)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(embeddings.grad).all()


@needs_pml
def test_smooth_ap_sees_the_first_m_examples_of_each_class_grouped_by_class():
    from pytorch_metric_learning import losses

    from uniloss_lab.train.peers import MetricLearningLoss

    embeddings, labels = _batch(9, classes=3, seed=4)
    counts = torch.bincount(labels)
    keep = int(counts.min())
    chosen = torch.cat([torch.nonzero(labels == value).flatten()[:keep] for value in range(3)])
    expected = losses.SmoothAPLoss()(embeddings[chosen], labels[chosen])
    torch.testing.assert_close(MetricLearningLoss("SmoothAPLoss")(embeddings, labels), expected)
    single = MetricLearningLoss("SmoothAPLoss")(embeddings[:3], torch.tensor([0, 1, 1]))
    assert float(single) == 0.0  # one example of class 0: no positive pair


@needs_pml
def test_an_unknown_metric_learning_loss_is_refused():
    from uniloss_lab.train.peers import MetricLearningLoss

    with pytest.raises(ValueError, match=r"pytorch_metric_learning\.losses"):
        MetricLearningLoss("NoSuchLoss")


@pytest.mark.slow
def test_the_quick_form_of_the_retrieval_suite_runs_through_the_cli(tmp_path):
    if not FASHION.exists() or not HAS_PML:
        pytest.skip("needs Fashion-MNIST (apt-get install dataset-fashion-mnist) and pytorch-metric-learning")
    out = tmp_path / "compare"
    argv = ["compare", "--suite", "retrieval-fashion-mnist", "--quick", "--seeds", "0", "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    assert "chosen on the validation split" in (out / "results.md").read_text()


@pytest.mark.parametrize("name", ["precision_at_k", "recall_at_k", "ndcg"])
def test_retrieval_metric_on_its_shortlist_equals_the_exact_metric_on_every_pair_with_ties(name):
    from uniloss import exact

    generator = torch.Generator().manual_seed(3)
    embeddings = torch.randint(-1, 2, (40, 2), generator=generator).float()  # 8 directions: many ties
    embeddings[embeddings.abs().sum(1) == 0] = 1.0
    labels = torch.randint(0, 3, (40,), generator=generator)
    for k in (1, 4, 39):
        scores, relevance, groups = query_pairs(embeddings, labels)
        metric = {"precision_at_k": exact.precision_at_k, "recall_at_k": exact.recall_at_k, "ndcg": exact.ndcg}[name]
        expected = metric(scores, relevance, groups, top_k=k)
        assert float(retrieval_metric(name, embeddings, labels, top_k=k)) == pytest.approx(float(expected), abs=1e-6)


def test_one_example_gives_zero_for_the_metric_and_the_baseline_with_a_zero_gradient():
    embeddings = torch.randn(1, 4, requires_grad=True)
    assert float(retrieval_metric("ndcg", embeddings.detach(), torch.tensor([0]), top_k=3)) == 0.0
    loss = contrastive_loss(embeddings, torch.tensor([0]))
    loss.backward()
    assert float(loss) == 0.0
    assert torch.equal(embeddings.grad, torch.zeros(1, 4))


def test_a_retrieval_task_on_several_processes_is_refused():
    with pytest.raises(ValueError, match="`nproc` must be 1 for task 'ndcg'"):
        TrainConfig(task="ndcg", nproc=2)
