"""Flower's own FedAvg, for bench/learning.py: run with the Python of a separate virtual
environment that has `flwr` (it pins another protobuf than HugMood's). Reads rounds from stdin
(a header line "clients parameters round", then the sample counts as int64 and the updates as
float64) and writes Flower's aggregate (float64) to stdout."""

from __future__ import annotations

import sys

import numpy as np
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.strategy import FedAvg


def main() -> None:
    strategy = FedAvg()
    source, sink = sys.stdin.buffer, sys.stdout.buffer
    while header := source.readline():
        clients, parameters, number = (int(v) for v in header.split())
        samples = np.frombuffer(source.read(8 * clients), dtype=np.int64)
        updates = np.frombuffer(source.read(8 * clients * parameters), dtype=np.float64)
        results = [
            (
                None,
                FitRes(
                    Status(Code.OK, ""),
                    ndarrays_to_parameters([row]),
                    int(n),
                    {},
                ),
            )
            for row, n in zip(updates.reshape(clients, parameters), samples, strict=True)
        ]
        aggregated, _ = strategy.aggregate_fit(number, results, [])  # type: ignore[arg-type]
        assert aggregated is not None
        sink.write(parameters_to_ndarrays(aggregated)[0].astype(np.float64).tobytes())
        sink.flush()


if __name__ == "__main__":
    main()
