from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_lessons.augmentation import augment_sequences, crop, mask, reorder
from tests.conftest import make_ratings

sequences = st.lists(st.integers(0, 50), min_size=1, max_size=30)
ratios = st.floats(0.05, 1.0)
seeds = st.integers(0, 2**32 - 1)


def is_contiguous_part(part, whole) -> bool:
    whole, part = list(whole), list(part)
    return any(whole[start : start + len(part)] == part for start in range(len(whole) + 1))


def is_subsequence(part, whole) -> bool:
    remaining = iter(whole)
    return all(any(item == candidate for candidate in remaining) for item in part)


@settings(max_examples=60, deadline=None)
@given(sequence=sequences, keep=ratios, seed=seeds)
def test_crop_keeps_a_contiguous_part_of_the_right_length(sequence, keep, seed):
    cropped = crop(sequence, keep, np.random.default_rng(seed))
    assert len(cropped) == max(1, round(keep * len(sequence)))
    assert is_contiguous_part(cropped, sequence)


@settings(max_examples=60, deadline=None)
@given(sequence=sequences, share=ratios, seed=seeds)
def test_mask_drops_items_and_keeps_the_order(sequence, share, seed):
    masked = mask(sequence, share, np.random.default_rng(seed))
    hidden = min(round(share * len(sequence)), len(sequence) - 1)
    assert len(masked) == len(sequence) - hidden >= 1
    assert is_subsequence(masked, sequence)


@settings(max_examples=60, deadline=None)
@given(sequence=sequences, share=ratios, seed=seeds)
def test_reorder_shuffles_one_contiguous_part_only(sequence, share, seed):
    reordered = reorder(sequence, share, np.random.default_rng(seed))
    assert Counter(reordered.tolist()) == Counter(sequence)
    changed = np.flatnonzero(reordered != np.asarray(sequence))
    if len(changed):
        assert changed[-1] - changed[0] + 1 <= round(share * len(sequence))


def test_crop_example():
    assert crop([1, 2, 3, 4, 5], keep=0.6, rng=np.random.default_rng(0)).tolist() == [3, 4, 5]


@pytest.mark.parametrize("function", [crop, mask, reorder])
@pytest.mark.parametrize("ratio", [0, -0.5, 1.5, True, "half"])
def test_ratios_outside_zero_one_are_rejected(function, ratio):
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        function([1, 2, 3], ratio, np.random.default_rng(0))


@pytest.mark.parametrize("function", [crop, mask, reorder])
def test_numpy_ratios_are_numbers_too(function):
    for ratio in (np.float32(0.5), np.int64(1)):
        as_numpy = function([1, 2, 3, 4], ratio, np.random.default_rng(0))
        as_python = function([1, 2, 3, 4], float(ratio), np.random.default_rng(0))
        assert as_numpy.tolist() == as_python.tolist()


def test_two_dimensional_sequences_are_rejected():
    with pytest.raises(ValueError, match="one-dimensional"):
        crop([[1, 2], [3, 4]], 0.5, np.random.default_rng(0))


@pytest.fixture(scope="module")
def ratings():
    return make_ratings(num_users=12, num_items=30, density=0.4, seed=2)


def histories(frame: pd.DataFrame) -> dict:
    ordered = frame.sort_values(["user_id", "timestamp", "item_id"], kind="stable")
    return {user: group["item_id"].tolist() for user, group in ordered.groupby("user_id")}


def test_augmented_users_are_new_and_hold_variants_of_real_histories(ratings):
    # A rating that names its row (user · 10000 + item) shows where each augmented row came from.
    labelled = ratings.assign(rating=ratings["user_id"] * 10000.0 + ratings["item_id"])
    augmented = augment_sequences(labelled, copies=2, seed=0)
    assert list(augmented.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert augmented["user_id"].min() > ratings["user_id"].max()
    assert (augmented["rating"] % 10000 == augmented["item_id"]).all()
    originals = histories(ratings)
    for _, version in augmented.groupby("user_id"):
        owners = (version["rating"] // 10000).unique()
        assert len(owners) == 1  # every item of a version comes from one real user
        assert len(version) >= 2
        assert set(version["item_id"]) <= set(originals[owners[0]])
    # Every real user here has at least 3 items, so each gets 2 versions.
    assert augmented["user_id"].nunique() == 2 * len(originals)


def test_one_method_gives_its_own_kind_of_variant(ratings):
    # A rating equal to the user id shows which real history each version was made from, so
    # every version is checked against its own history and that history's length.
    labelled = ratings.assign(rating=ratings["user_id"].astype(float))
    originals = histories(ratings)
    rules = {
        # A crop is one contiguous run of max(1, round(keep · n)) of the n items.
        "crop": (0.6, lambda length, keep: max(1, round(keep * length)), is_contiguous_part),
        # A mask drops round(share · n) items (keeping at least one) and keeps the order.
        "mask": (0.3, lambda length, share: length - min(round(share * length), length - 1),
                 is_subsequence),
    }
    for method, (ratio, expected_length, check) in rules.items():
        augmented = augment_sequences(labelled, methods=method, ratios={method: ratio}, seed=1)
        versions = [(int(rows["rating"].iloc[0]), rows.sort_values("timestamp")["item_id"].tolist())
                    for _, rows in augmented.groupby("user_id")]
        # Every history here has at least 3 items, so each real user gets its one version;
        # the count also keeps the loop below from passing on an empty table.
        assert len(versions) == len(originals)
        for owner, version in versions:
            assert len(version) == expected_length(len(originals[owner]), ratio), (method, owner)
            assert check(version, originals[owner]), (method, owner)


def test_augmentation_is_seeded(ratings):
    first = augment_sequences(ratings, seed=5)
    pd.testing.assert_frame_equal(first, augment_sequences(ratings, seed=5))
    assert not first.equals(augment_sequences(ratings, seed=6))


def test_short_histories_are_left_alone(ratings):
    lengths = ratings.groupby("user_id").size()
    augmented = augment_sequences(ratings, min_length=int(lengths.max()), seed=0)
    assert augmented["user_id"].nunique() == int((lengths == lengths.max()).sum())
    empty = augment_sequences(ratings, min_length=10_000)
    assert empty.empty and list(empty.columns) == ["user_id", "item_id", "rating", "timestamp"]


def test_implicit_data_has_no_rating_column(ratings):
    augmented = augment_sequences(ratings.drop(columns="rating"), seed=0)
    assert list(augmented.columns) == ["user_id", "item_id", "timestamp"]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"methods": ("crop", "shuffle")}, "methods must be"),
    ({"methods": ()}, "methods must be"),
    ({"copies": 0}, "copies"),
    ({"ratios": {"crop": 2.0}}, r"in \(0, 1\]"),
    ({"ratios": {"rotate": 0.5}}, "unknown method"),
    ({"first_user_id": 3}, "first_user_id must be an integer above every user id"),
])
def test_bad_arguments_raise_clear_errors(ratings, arguments, message):
    with pytest.raises(ValueError, match=message):
        augment_sequences(ratings, **arguments)


def test_needs_timestamps_and_integer_user_ids(ratings):
    with pytest.raises(ValueError, match="timestamp"):
        augment_sequences(ratings.drop(columns="timestamp"))
    with pytest.raises(ValueError, match="integers"):
        augment_sequences(ratings.assign(user_id=ratings["user_id"].astype(str)))


def test_new_ids_can_start_above_users_found_only_elsewhere(ratings):
    # A temporal split's test set can hold users that training lacks; their ids stay theirs.
    first = int(ratings["user_id"].max()) + 100
    augmented = augment_sequences(ratings, seed=0, first_user_id=first)
    assert augmented["user_id"].min() == first
    default = augment_sequences(ratings, seed=0)
    np.testing.assert_array_equal(augmented["user_id"] - first,
                                  default["user_id"] - default["user_id"].min())


def test_new_ids_may_start_right_above_the_largest_and_fill_the_dtype(ratings):
    # The smallest allowed first_user_id is the largest id + 1, which is also the default.
    next_id = int(ratings["user_id"].max()) + 1
    pd.testing.assert_frame_equal(augment_sequences(ratings, seed=0, first_user_id=next_id),
                                  augment_sequences(ratings, seed=0))
    # 12 users numbered 232..243: their 12 new versions take ids up to 255, uint8's largest.
    dense = pd.factorize(ratings["user_id"], sort=True)[0] + 232
    augmented = augment_sequences(ratings.assign(user_id=dense.astype("uint8")), seed=0)
    assert augmented["user_id"].max() == 255 and augmented["user_id"].nunique() == 12


def test_new_ids_that_do_not_fit_the_id_dtype_are_refused(ratings):
    # 12 users numbered 240..251: their 24 new versions would need ids up to 275.
    dense = pd.factorize(ratings["user_id"], sort=True)[0] + 240
    small = ratings.assign(user_id=dense.astype("uint8"))
    with pytest.raises(ValueError, match="more than user_id's dtype uint8 holds"):
        augment_sequences(small, copies=2, seed=0)


def test_a_mix_of_methods_draws_each_method_and_numbers_the_positions(ratings):
    labelled = ratings.assign(rating=ratings["user_id"].astype(float))
    lengths = ratings.groupby("user_id").size()
    augmented = augment_sequences(labelled, methods=("crop", "reorder"), copies=10, seed=0)
    versions = augmented.groupby("user_id")
    # A crop at the default 0.6 keeps fewer than n items (n ≥ 3 here), a reorder all n; 120
    # draws of one method only would have probability 2 · 2⁻¹²⁰.
    kept_all = [len(rows) == lengths[int(rows["rating"].iloc[0])] for _, rows in versions]
    assert any(kept_all) and not all(kept_all)
    # Each version's timestamps are its positions 0, 1, 2, …, which keep the order made.
    for _, rows in versions:
        assert rows["timestamp"].tolist() == list(range(len(rows)))


def test_versions_of_a_single_item_are_left_out(ratings):
    # A crop of 5 % keeps max(1, round(0.05 · n)) = 1 item of every history here (n < 30),
    # and a one-item version has no order to learn from.
    assert ratings.groupby("user_id").size().max() < 30
    assert augment_sequences(ratings, methods="crop", ratios={"crop": 0.05}, seed=0).empty


def test_mask_and_reorder_choose_their_positions_at_random():
    sequence = np.arange(10)
    dropped, first_changed = set(), []
    for seed in range(200):
        dropped |= set(sequence) - set(mask(sequence, 0.3, np.random.default_rng(seed)))
        changed = np.flatnonzero(reorder(sequence, 0.3, np.random.default_rng(seed)) != sequence)
        if len(changed):
            first_changed.append(changed[0])
    # Each position survives one mask with probability 0.7, all 200 with 0.7²⁰⁰ ≈ 1e-31.
    assert dropped == set(sequence)
    # The reordered window of 3 starts anywhere from 0 to 7, so it can reach the last item;
    # a seed moves that item with probability 1/8 · 2/3, so 200 seeds miss it with ≈ 1e-8.
    assert max(first_changed) >= 6
    assert any(reorder(sequence, 0.3, np.random.default_rng(seed))[-1] != sequence[-1]
               for seed in range(200))


def test_a_window_of_two_is_shuffled_too():
    # round(0.3 · 6) = 2: the two items swap with probability 1/2 for each seed.
    sequence = np.arange(6)
    assert any((reorder(sequence, 0.3, np.random.default_rng(seed)) != sequence).any()
               for seed in range(50))
