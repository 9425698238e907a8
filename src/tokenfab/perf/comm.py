"""Collective communication: all-reduce by algorithm, expert-parallel dispatch/combine, pipeline hand-off.

Pure, NumPy-vectorized time models (seconds) over a group of ``n`` chips with per-chip unidirectional link bandwidth
``B`` (bytes/s, already scaled by the fitted link efficiency) and a per-collective latency ``alpha`` (s). The forms are
the standard alpha-beta costs of the algorithms (Thakur, Rabenseifner & Gropp, "Optimization of Collective
Communication Operations in MPICH", IJHPCA 2005; NCCL's ring/tree/NVLS algorithms, github.com/NVIDIA/nccl):

- ring:     2 (n-1) alpha_hop + 2 (n-1)/n M / B       (reduce-scatter + all-gather around a ring)
- two-shot: 2 alpha + 2 (n-1)/n M / B                  (direct reduce-scatter then all-gather; custom all-reduce
  kernels of TensorRT-LLM / vLLM / SGLang, AMD quick-reduce)
- one-shot: alpha + (n-1) M / B                        (every rank reads every peer's whole buffer: latency-optimal,
  bandwidth-poor; the kernel engines pick for small decode messages)
- NVLS:     alpha + M / B                              (NVLink SHARP: the switch reduces in the network, so each
  rank sends and receives the message once; Hopper/Blackwell NVSwitch systems)

An engine runs the cheapest algorithm its kernels implement on the fabric (engines.yaml ``allreduce``), which is what
the AUTO strategies of TensorRT-LLM and vLLM's custom all-reduce choose by message size. On a fully connected mesh
(AMD xGMI, Gaudi) a group of n of the N chips of a node uses only n-1 of the N-1 links each chip has:
the usable bandwidth is B (n-1)/(N-1) (:func:`group_bandwidth`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

ALGORITHMS = ("ring", "two_shot", "one_shot", "nvls")
# which algorithms a scale-up fabric supports (hardware.yaml ``scaleup_fabric``)
FABRIC_ALGORITHMS: dict[str, tuple[str, ...]] = {
    "nvswitch-sharp": ("ring", "two_shot", "one_shot", "nvls"),
    "nvswitch": ("ring", "two_shot", "one_shot"),
    "mesh": ("ring", "two_shot", "one_shot"),
    "pcie": ("ring", "two_shot"),
    "torus": ("ring",),
    "direct": ("ring", "two_shot"),
    "none": ("ring",),
}
# scale-out (RDMA NICs between nodes): NCCL's ring / tree
SCALEOUT_ALGORITHMS = ("ring",)
# latency of one hop of a ring relative to a collective's launch latency (a ring step is a point-to-point transfer;
# NCCL's LL protocol costs a few microseconds per hop on NVLink: github.com/NVIDIA/nccl-tests, docs/PERFORMANCE.md)
RING_HOP_LATENCY_FRACTION = 0.25


def group_bandwidth(
    n: ArrayLike, per_chip_bytes_per_s: ArrayLike, domain: ArrayLike, fabric_is_mesh: ArrayLike
) -> np.ndarray:
    """Per-chip bandwidth a group of ``n`` chips can use: all of it on a switch; on a fully connected mesh of
    ``domain`` chips only the links to the n-1 peers of the group: B (n-1)/(domain-1)."""
    n = np.asarray(n, dtype=float)
    b = np.asarray(per_chip_bytes_per_s, dtype=float)
    dom = np.maximum(np.asarray(domain, dtype=float), 2.0)
    share = np.where(np.asarray(fabric_is_mesh, dtype=bool), np.clip((n - 1.0) / (dom - 1.0), 0.0, 1.0), 1.0)
    return b * share


def allreduce_algorithm_times(
    message_bytes: ArrayLike, n: ArrayLike, bandwidth_bytes_per_s: ArrayLike, alpha_s: ArrayLike
) -> np.ndarray:
    """Time (s) of each algorithm in ALGORITHMS, stacked on a leading axis (zero for a group of one)."""
    m = np.asarray(message_bytes, dtype=float)
    n = np.asarray(n, dtype=float)
    b = np.maximum(np.asarray(bandwidth_bytes_per_s, dtype=float), 1.0)
    a = np.asarray(alpha_s, dtype=float)
    frac = np.where(n > 1, (n - 1.0) / np.maximum(n, 1.0), 0.0)
    ring = 2.0 * (n - 1.0) * a * RING_HOP_LATENCY_FRACTION + 2.0 * frac * m / b
    two = 2.0 * a + 2.0 * frac * m / b
    one = a + (n - 1.0) * m / b
    nvls = a + m / b
    stack = np.stack(np.broadcast_arrays(ring, two, one, nvls))
    return np.where(n > 1, stack, 0.0)


def allreduce_time_s(
    message_bytes: ArrayLike,
    n: ArrayLike,
    bandwidth_bytes_per_s: ArrayLike,
    alpha_s: ArrayLike,
    allowed: ArrayLike | tuple[str, ...] | list[str],
) -> np.ndarray:
    """The cheapest allowed algorithm's time. ``allowed``: boolean array (len(ALGORITHMS), *shape) or a tuple of
    algorithm names for all points."""
    times = allreduce_algorithm_times(message_bytes, n, bandwidth_bytes_per_s, alpha_s)
    if isinstance(allowed, tuple | list):
        mask = np.array([a in allowed for a in ALGORITHMS]).reshape((len(ALGORITHMS),) + (1,) * (times.ndim - 1))
    else:
        mask = np.asarray(allowed, dtype=bool)
    return np.min(np.where(mask, times, np.inf), axis=0)


def alltoall_time_s(
    bytes_per_rank: ArrayLike, n: ArrayLike, bandwidth_bytes_per_s: ArrayLike, alpha_s: ArrayLike
) -> np.ndarray:
    """All-to-all where each rank sends ``bytes_per_rank`` spread over the group: (n-1)/n of it leaves the rank."""
    n = np.asarray(n, dtype=float)
    b = np.maximum(np.asarray(bandwidth_bytes_per_s, dtype=float), 1.0)
    t = np.where(n > 1, (n - 1.0) / np.maximum(n, 1.0), 0.0) * np.asarray(bytes_per_rank, dtype=float) / b
    return np.where(n > 1, t + np.asarray(alpha_s, dtype=float), 0.0)


def allgather_time_s(
    bytes_per_rank: ArrayLike, n: ArrayLike, bandwidth_bytes_per_s: ArrayLike, alpha_s: ArrayLike
) -> np.ndarray:
    """All-gather (or reduce-scatter) of ``bytes_per_rank`` from each of n ranks: each receives (n-1) shares."""
    n = np.asarray(n, dtype=float)
    b = np.maximum(np.asarray(bandwidth_bytes_per_s, dtype=float), 1.0)
    t = (n - 1.0) * np.asarray(bytes_per_rank, dtype=float) / b
    return np.where(n > 1, t + np.asarray(alpha_s, dtype=float), 0.0)


def p2p_time_s(message_bytes: ArrayLike, bandwidth_bytes_per_s: ArrayLike, alpha_s: ArrayLike) -> np.ndarray:
    """One point-to-point transfer (a pipeline-stage hand-off, a KV-cache transfer)."""
    b = np.maximum(np.asarray(bandwidth_bytes_per_s, dtype=float), 1.0)
    return np.asarray(alpha_s, dtype=float) + np.asarray(message_bytes, dtype=float) / b
