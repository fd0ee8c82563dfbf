import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits as sklearn_load_digits

from uniloss_lab.data.digits import load_digits


def _rows(images, labels):
    return np.concatenate([labels.numpy()[:, None], images.reshape(len(labels), -1).numpy() * 16], axis=1)


def test_images_are_float32_n_1_8_8_in_unit_range_and_labels_int64():
    images, labels = load_digits("train")
    assert images.dtype == torch.float32
    assert images.shape[1:] == (1, 8, 8)
    assert labels.dtype == torch.int64
    assert labels.shape == (images.shape[0],)
    assert images.min() == 0.0
    assert images.max() == 1.0
    assert set(labels.tolist()) == set(range(10))


def test_splits_are_disjoint_and_together_are_the_1797_embedded_images():
    train, test = load_digits("train"), load_digits("test")
    assert len(train[1]) + len(test[1]) == 1797
    bunch = sklearn_load_digits()
    expected = np.concatenate([bunch.target[:, None], bunch.images.reshape(1797, -1)], axis=1)
    ours = np.concatenate([_rows(*train), _rows(*test)])
    np.testing.assert_array_equal(np.unique(ours, axis=0), np.unique(expected, axis=0))
    assert sorted(map(tuple, ours)) == sorted(map(tuple, expected.astype(np.float32)))


def test_split_is_stratified_with_a_fifth_of_each_class_in_test():
    _, test_labels = load_digits("test")
    class_sizes = np.bincount(sklearn_load_digits().target)
    np.testing.assert_array_equal(np.bincount(test_labels.numpy()), np.round(0.2 * class_sizes))


def test_same_seed_gives_the_same_split_and_another_seed_a_different_one():
    first, again, other = load_digits("test", seed=3), load_digits("test", seed=3), load_digits("test", seed=4)
    assert torch.equal(first[0], again[0])
    assert torch.equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_unknown_split_is_rejected():
    with pytest.raises(ValueError, match=r"`split` must be one of 'train', 'test', but got 'val'\."):
        load_digits("val")
