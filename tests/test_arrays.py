"""The array helpers equal numpy's own answers (they only take another way to them)."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from spatial.arrays import in_sorted, in_threads, unique

keys = arrays(np.int64, st.integers(0, 300), elements=st.integers(-(2**40), 2**40))


@given(keys)
def test_unique_equals_numpys(values):
    got = unique(values)
    assert got.dtype == values.dtype and np.array_equal(got, np.unique(values))


@given(keys, keys)
def test_in_sorted_equals_isin(values, members):
    assert np.array_equal(in_sorted(values, unique(members)), np.isin(values, members))


def test_unique_flattens_and_keeps_an_empty_array_empty():
    assert np.array_equal(unique(np.array([[3, 1], [3, 2]])), [1, 2, 3])
    assert unique(np.empty(0, dtype=np.int64)).shape == (0,)


def test_in_threads_gives_the_one_thread_answer_in_order():
    rng = np.random.default_rng(2)
    shapes = shapely.buffer(shapely.points(rng.uniform(0, 100, (60_001, 2))), 1.0, quad_segs=2)
    bow = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])  # self-intersecting: invalid
    shapes[[7, 30_000, 60_000]] = bow
    valid = in_threads(shapely.is_valid, shapes)
    assert valid.dtype == bool and len(valid) == 60_001
    assert np.array_equal(np.flatnonzero(~valid), [7, 30_000, 60_000])
    assert np.array_equal(in_threads(shapely.is_valid, shapes[:10]), shapely.is_valid(shapes[:10]))
