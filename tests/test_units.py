"""Unit constants: decimal and binary prefixes are distinct and conversions round-trip."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenfab.core import units as U


def test_decimal_and_binary_prefixes_differ():
    assert U.GB == 1e9 and U.GIB == 2**30
    assert U.bytes_to_gib(80 * U.GIB) == pytest.approx(80.0)
    assert U.bytes_to_gb(80 * U.GIB) == pytest.approx(85.899345920)  # an "80 GB" HBM stack is 85.9 decimal GB


def test_time_constants():
    assert U.HOURS_PER_YEAR == 365.25 * 24
    assert pytest.approx(U.HOURS_PER_YEAR) == U.HOURS_PER_MONTH * 12
    assert U.GBIT_PER_S == 1.25e8  # 1 Gbit/s = 125 MB/s


@given(st.floats(0, 1e6))
def test_conversions_round_trip(x):
    assert U.bytes_to_gib(U.gib_to_bytes(x)) == pytest.approx(x)
    assert U.bytes_to_gb(U.gb_to_bytes(x)) == pytest.approx(x)
