"""Executors: retraining jobs per minute with 1 and 2 workers, the driver's own cost per job,
and the 240-job frontier's wall time on 1, 8 and 64 workers projected from those figures.

Run: ``python -m bench.bench_executors [--jobs 4] [--train 2000] [--executor process]``.

Workload: masked retraining of the bundled demo model at 90 % sparsity, 1 epoch on the first
``--train`` training images, val on 1,000 images, one job per seed. 1 worker runs with 2
intra-op threads (all cores), 2 workers with 1 thread each; both go through the same
executor, so process start and TF import are in both. The driver's own cost per job (sending
the job, receiving its weights, writing the result store) is measured with no-op jobs that
return the model's weight arrays, through the same executor.

Projection (Amdahl, no measurement on a cluster): wall(W) = start + ceil(240 / W) * t_job +
240 * t_driver, with t_job the per-job time of one 1-thread worker measured here (a cluster
worker is a core like these) and t_driver the driver's per-job cost.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import replace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _setup(n_train: int, n_val: int):
    """(model, data): the bundled model and its data cut to the bench's sizes."""
    from bench.common import dataset
    from pruning.models import bundled_weights, load_model
    from pruning.retrain import limit

    model = load_model(bundled_weights())
    data = replace(limit(dataset(), n_train, n_val), test=None)  # val selects; no test pass
    return model, data


def _grid(shared, kind: str, workers: int, threads: int, jobs: int, epochs: int, fn=None) -> dict:
    from pruning.batch import run_grid
    from pruning.executors import ExecutorConfig
    from pruning.jobs import train_job
    from pruning.retrain import Training
    from pruning.runs import RunRequest
    from pruning.store import ResultStore

    model, data = shared
    requests = [RunRequest("masked", 0.9, training=Training(epochs=epochs, patience=None), seed=k)
                for k in range(jobs)]
    landed: list[float] = []
    with tempfile.TemporaryDirectory() as d, ResultStore(d) as store:  # a fresh store: every job trains
        t = time.perf_counter()
        run_grid(requests, model, data, store=store, config=ExecutorConfig(kind, workers, threads=threads),
                 on_land=lambda i, r: landed.append(time.perf_counter() - t), fn=fn or train_job)
        wall = time.perf_counter() - t
    return {"executor": kind, "workers": workers, "threads": threads, "jobs": jobs, "wall_s": wall,
            "first_s": min(landed), "jobs_per_min": 60 * jobs / wall,
            # steady state: jobs after the first wave, over the time after the first landing
            "steady_per_job_s": (max(landed) - min(landed)) / max(1, jobs - workers) * workers
            if jobs > workers else math.nan}


def _driver_cost(shared, jobs: int) -> dict:
    """What the driver does per job, timed directly: receive a result (the model's weights
    and an info dict, pickled and unpickled as a worker's result is) and write it to the
    result store."""
    import pickle

    from pruning.store import ResultStore, RunKey

    arrays = [a.copy() for a in shared[0].get_weights()]
    result = {"arrays": arrays, "meta": {"sparsity": 0.9, "accuracy": 0.5, "history": [{}] * 10}}
    t = time.perf_counter()
    for _ in range(jobs):
        pickle.loads(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    transfer_s = (time.perf_counter() - t) / jobs
    with tempfile.TemporaryDirectory() as d, ResultStore(d) as store:
        t = time.perf_counter()
        for k in range(jobs):
            store.save_result(RunKey("b", "b", "m", str(k), "v"), arrays, {"seed": k})
        store_s = (time.perf_counter() - t) / jobs
    return {"jobs": jobs, "transfer_s": transfer_s, "store_write_s": store_s,
            "per_job_s": transfer_s + store_s, "weights_mib": sum(a.nbytes for a in arrays) / 2**20}


def project(t_job: float, t_driver: float, start: float, jobs: int = 240) -> dict:
    """wall(W) for W = 1, 8, 64 workers (Amdahl: the driver's part is serial)."""
    return {w: start + math.ceil(jobs / w) * t_job + jobs * t_driver for w in (1, 8, 64)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--val", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--executor", default="process", choices=("process", "ray"))
    ap.add_argument("--rounds", type=int, default=1, help="repeat the 1- and 2-worker pair")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    shared = _setup(args.train, args.val)
    cores = os.cpu_count() or 1
    pairs = []
    for _ in range(args.rounds):  # alternate, so load from other work hits both alike
        one = _grid(shared, args.executor, 1, cores, args.jobs, args.epochs)
        two = _grid(shared, args.executor, 2, max(1, cores // 2), args.jobs, args.epochs)
        pairs.append((one, two, two["jobs_per_min"] / one["jobs_per_min"]))
        print(f"1 worker x {cores} threads: {one['jobs_per_min']:.2f} jobs/min; 2 workers x "
              f"{max(1, cores // 2)}: {two['jobs_per_min']:.2f} jobs/min; ratio {pairs[-1][2]:.2f}x",
              file=sys.stderr)
    driver = _driver_cost(shared, 32)
    two = pairs[-1][1]
    t_job = two["wall_s"] * two["workers"] / two["jobs"]  # one 1-thread worker's time per job
    start = two["first_s"] - t_job
    proj = project(t_job, driver["per_job_s"], max(0.0, start))
    load = os.getloadavg()
    out = {"pairs": [{"one": a, "two": b, "ratio": r} for a, b, r in pairs], "driver": driver,
           "t_job_s": t_job, "start_s": start, "projection_s": proj, "loadavg": load,
           "args": vars(args)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    print(f"| workers x threads | jobs | wall | jobs/min |\n|---|---|---|---|")
    for a, b, r in pairs:
        for x in (a, b):
            print(f"| {x['workers']} x {x['threads']} | {x['jobs']} | {x['wall_s']:.1f} s | "
                  f"{x['jobs_per_min']:.2f} |")
        print(f"| ratio 2 / 1 | | | **{r:.2f}x** |")
    print(f"\ndriver per job (receive {driver['weights_mib']:.1f} MiB of weights + store write): "
          f"{1000 * driver['per_job_s']:.0f} ms ({1000 * driver['transfer_s']:.0f} + "
          f"{1000 * driver['store_write_s']:.0f} ms)")
    print(f"per-job time of one 1-thread worker: {t_job:.1f} s; start-up {start:.1f} s")
    print("240-job frontier, projected: " + ", ".join(
        f"{w} worker{'s' * (w > 1)} {s / 60:.1f} min" for w, s in proj.items()))
    print(f"load average during the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {cores} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
