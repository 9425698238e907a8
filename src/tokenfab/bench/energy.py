"""GPU energy during a benchmark, from NVML's total-energy counter (optional extra ``nvidia-ml-py``).

Method:

* NVML's ``nvmlDeviceGetTotalEnergyConsumption`` is a per-GPU counter of millijoules since the driver loaded
  (Volta and later). Energy over an interval is the difference of two readings, summed over the GPUs measured.
  It measures the GPU board only (not CPU, network, cooling): the "all-in" power of InferenceX's tokens/s per MW
  is a separate, provisioned figure (see :mod:`tokenfab.economics.tco`).
* Idle baseline: the same counter over ``idle_s`` seconds before the run, with no load, as watts.
* Steady-state window: from the start of a level (after warm-up) to the start of ramp-down: in a closed loop the
  moment the first worker finds no request left (from then on fewer than C are in flight), in an open loop the
  moment the last request is sent. Tokens in the window are the output chunks whose arrival time falls in it (each
  request's usage-based output count spread over its chunks) plus the input tokens of requests whose first token falls
  in it.
* Reported: joules per output token and per token (input + output), gross and net of the idle baseline, and their
  inverses (tokens per joule), and the mean board power in the window.

This needs the benchmark to run on the same host as the GPUs. When NVML is not there the result says
``energy not measured`` and why; nothing else changes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tokenfab.bench import metrics

MAX_GPU_INDEX = 1023  # NVML device indices a --gpu-index may name: far beyond the GPUs of any one host


def not_measured(reason: str) -> dict:
    return {"measured": False, "reason": f"energy not measured: {reason}"}


class EnergyMeter:
    """Reads the NVML energy counters of the selected GPUs (all when ``gpu_indices`` is None).

    ``nvml`` may be given (a module with the pynvml API) for tests; otherwise ``pynvml`` from nvidia-ml-py.
    ``available`` says whether it works and ``reason`` why not.
    """

    def __init__(self, gpu_indices: Sequence[int] | None = None, nvml: Any = None) -> None:
        self.available = False
        self.reason = ""
        self._nvml: Any = None  # the pynvml module (or a stand-in with its API)
        self._handles: list = []
        if nvml is None:
            try:
                import pynvml  # provided by nvidia-ml-py
            except ImportError:
                self.reason = "nvidia-ml-py is not installed (pip install 'tokenfab[energy]')"
                return
            nvml = pynvml
        try:
            nvml.nvmlInit()
        except Exception as e:  # noqa: BLE001 - NVMLError_* or a missing library: all mean "no NVML"
            self.reason = f"NVML did not initialise ({type(e).__name__}: {e}); no NVIDIA driver on this host?"
            return
        self._nvml = nvml
        try:
            count = nvml.nvmlDeviceGetCount()
            idx = list(range(count)) if gpu_indices is None else list(gpu_indices)
            bad = [i for i in idx if not 0 <= i < count]
            if bad or not idx:
                self.reason = f"GPU index {bad or idx} not among the {count} GPUs NVML sees"
                return
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in idx]
            self.read_mj()  # not supported before Volta: fail here, not mid-run
        except Exception as e:  # noqa: BLE001
            self.reason = f"NVML energy counter unavailable ({type(e).__name__}: {e})"
            self._handles = []
            return
        self.gpu_indices = idx
        self.available = True

    @property
    def gpus(self) -> int:
        return len(self._handles)

    def read_mj(self) -> int:
        """Sum of the selected GPUs' total-energy counters, in millijoules."""
        return sum(int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self._handles)

    def mark(self) -> tuple[float, int]:
        """(wall-clock time, counter mJ) now."""
        return time.time(), self.read_mj()

    def idle_baseline_w(self, seconds: float) -> float:
        """Mean power of the selected GPUs (all of them together) over ``seconds`` of no load, in W."""
        t0, e0 = self.mark()
        time.sleep(seconds)
        t1, e1 = self.mark()
        return energy_j(e0, e1) / (t1 - t0) if t1 > t0 else 0.0

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):  # shutting down: a failing driver call changes nothing
                self._nvml.nvmlShutdown()
            self._nvml = None


# ---- pure functions ------------------------------------------------------------------------------------------


def energy_j(counter_start_mj: int, counter_end_mj: int) -> float:
    """Joules between two readings of NVML's millijoule counter."""
    return (counter_end_mj - counter_start_mj) / 1000.0


def tokens_in_window(records: Iterable[Mapping], t0: float, t1: float) -> tuple[float, float]:
    """(output tokens, input + output tokens) produced in the wall-clock window [t0, t1] by successful requests."""
    out_tok = in_tok = 0.0
    for r in records:
        if r.get("status") != "ok":
            continue
        times = metrics.token_times_s(r)
        if not times:
            continue
        inside = sum(1 for t in times if t0 <= t <= t1)
        out_tok += (r.get("output_tokens") or 0) * inside / len(times)
        if t0 <= times[0] <= t1:
            in_tok += r.get("input_tokens") or 0
    return out_tok, in_tok + out_tok


def energy_summary(
    window_energy_j: float, window_s: float, idle_w: float | None, output_tokens: float, total_tokens: float, gpus: int
) -> dict:
    """J/token and tokens/J over the window, gross and net of the idle baseline (idle W x window seconds)."""
    net_j = window_energy_j - (idle_w or 0.0) * window_s if idle_w is not None else None

    def per(j: float | None, tok: float) -> float | None:
        return j / tok if j is not None and tok > 0 else None

    def inv(j: float | None, tok: float) -> float | None:
        return tok / j if j is not None and j > 0 else None

    return {
        "measured": True,
        "method": "NVML total-energy counter (GPU boards only) over the steady-state window",
        "gpus": gpus,
        "window_s": window_s,
        "energy_j": window_energy_j,
        "mean_power_w_per_gpu": window_energy_j / window_s / gpus if window_s > 0 and gpus else None,
        "idle_power_w_total": idle_w,
        "energy_net_of_idle_j": net_j,
        "output_tokens_in_window": output_tokens,
        "total_tokens_in_window": total_tokens,
        "j_per_output_token": per(window_energy_j, output_tokens),
        "j_per_token": per(window_energy_j, total_tokens),
        "j_per_output_token_net_of_idle": per(net_j, output_tokens),
        "output_tokens_per_j": inv(window_energy_j, output_tokens),
        "tokens_per_j": inv(window_energy_j, total_tokens),
    }
