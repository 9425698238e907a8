"""Unit constants. The one place where units are defined.

Conventions (see docs/glossary.md):
- Decimal prefixes (KB, MB, GB, TB) are powers of 1000; binary prefixes (KiB, MiB, GiB) are powers of 1024.
  Every quantity name carries its unit (``weights_gib``, ``hbm_bandwidth_bytes_per_s``) and the two
  families are never mixed without an explicit conversion through these constants.
- FLOP/s: TFLOPS = 1e12 FLOP/s, PFLOPS = 1e15 FLOP/s.
- Power: W, kW (1e3 W), MW (1e6 W). Energy: J, kWh (3.6e6 J).
- Time: s, ms (1e-3 s); an hour is 3600 s; a (Julian) year is 8766 h; a month is a twelfth of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import numpy as np

# bytes
KB = 1e3
MB = 1e6
GB = 1e9
TB = 1e12
KIB = 2**10
MIB = 2**20
GIB = 2**30
TIB = 2**40

# rates
GB_PER_S = 1e9
TB_PER_S = 1e12
TFLOPS = 1e12
PFLOPS = 1e15
GBIT_PER_S = 1e9 / 8  # bytes per second in one Gbit/s

# power and energy
KW = 1e3
MW = 1e6
KWH_J = 3.6e6

# time
MS_PER_S = 1e3
S_PER_HOUR = 3600.0
HOURS_PER_YEAR = 8766.0  # 365.25 days
HOURS_PER_MONTH = HOURS_PER_YEAR / 12.0
S_PER_DAY = 86400.0
DAYS_PER_MONTH = 365.25 / 12.0

# tokens
MTOK = 1e6

# a quantity to convert: a number, or a NumPy array of them (converted element-wise, same kind out)
_Q = TypeVar("_Q", float, "np.ndarray")


def bytes_to_gib(n_bytes: _Q) -> _Q:
    return n_bytes / GIB


def bytes_to_gb(n_bytes: _Q) -> _Q:
    return n_bytes / GB


def gib_to_bytes(n_gib: _Q) -> _Q:
    return n_gib * GIB


def gb_to_bytes(n_gb: _Q) -> _Q:
    return n_gb * GB
