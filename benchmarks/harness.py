"""Timing helpers the benchmarks share: repeated requests and their latency summary."""

from __future__ import annotations

import statistics
import time


def measure(client, url: str, requests: int) -> list[float]:
    """Seconds taken by each of ``requests`` GETs of ``url`` after one warm-up request."""
    client.get(url)
    times = []
    for _ in range(requests):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
    return times


def percentile(ms: list[float], q: float) -> float:
    ordered = sorted(ms)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def latency(times: list[float], quantiles: tuple[float, ...] = (0.95,)) -> str:
    """``median … ms  p95 … ms`` for a list of durations in seconds."""
    ms = [t * 1000 for t in times]
    parts = [f"median {statistics.median(ms):7.1f} ms"]
    parts += [f"p{round(q * 100)} {percentile(ms, q):7.1f} ms" for q in quantiles]
    return "   ".join(parts)
