"""One seam for independent jobs: in this process, a local worker pool, or a Ray cluster.

A job is ``fn(shared, job) -> result`` with ``fn`` a module-level function (workers import it
by name), ``shared`` what every job of a batch needs (model, start weights, data: sent once
per worker, ``ray.put`` once per batch) and ``job`` a small picklable request. The driver
gets ``on_done(index, result)`` as each job lands, in any order, and is the only writer of
the result store: workers return arrays and metadata, never touch the store.

Executors:
    local    every job in this process, one after another (the default; today's behaviour).
    process  a pool of N spawned worker processes, each with ``threads`` intra-op threads
             (TF, OMP, oneDNN) so that N workers do not fight over the cores; a worker that
             dies (killed, out of memory) breaks the pool: the jobs that had not landed are
             sent again to a fresh pool, up to ``max_retries`` times.
    ray      Ray tasks (``ray.remote(max_retries=...)``, ``ray.wait``): Ray itself retries a
             task whose worker died. ``ray_address`` joins an existing cluster
             (``ray start --head`` prints it); without one a local Ray is started with
             ``workers`` CPUs. The ``pruning`` package travels to the workers as a Ray
             ``py_modules`` entry; each node needs the packages of requirements.txt.

Determinism: retraining is bit-identical given its seed *and its intra-op thread count*
(TF shards some reductions, e.g. a convolution's filter gradient, by thread, which changes
the order of float additions). Every executor runs a job with the thread count it reports
in ``threads``; a local run uses the process's own. Equal thread counts give equal bits on
every executor (tested).
"""

from __future__ import annotations

import logging
import os
import pickle
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ._tf import import_tensorflow_quietly

EXECUTORS = ("local", "process", "ray")
Task = Callable[[Any, Any], Any]
Done = Callable[[int, Any], None]
THREAD_ENV = ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class ExecutorError(RuntimeError):
    """Jobs that could not run as asked (Ray missing or unreachable, a job failing every retry)."""


@dataclass(frozen=True)
class ExecutorConfig:
    """Where jobs run.

    Args:
        kind: 'local', 'process' or 'ray'.
        workers: worker processes (process) or CPUs of a local Ray (ray); default 1.
        ray_address: an existing Ray cluster ('auto', 'ray://host:10001', 'host:6379');
            None starts a local Ray.
        threads: intra-op threads per worker; default ``cores // workers`` (at least 1), or 1
            on an existing Ray cluster.
        max_retries: how often a job whose worker died is sent again (default 3).
    """

    kind: str = "local"
    workers: int = 1
    ray_address: str | None = None
    threads: int | None = None
    max_retries: int = 3

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {self.kind!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads per worker must be >= 1, got {self.threads}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")

    @property
    def worker_threads(self) -> int:
        """Intra-op threads each worker runs with (one per task on an existing Ray cluster,
        where each task holds one CPU; else this machine's cores shared by the workers)."""
        if self.threads:
            return self.threads
        if self.kind == "ray" and self.ray_address:
            return 1
        return max(1, (os.cpu_count() or 1) // self.workers)

    @classmethod
    def from_env(cls, **override: Any) -> "ExecutorConfig":
        """``PRUNING_EXECUTOR``, ``PRUNING_WORKERS``, ``PRUNING_RAY_ADDRESS`` (the dashboard's
        settings); keyword arguments that are not None win."""
        workers = os.environ.get("PRUNING_WORKERS") or "1"
        if not workers.strip().isdigit():
            raise ValueError(f"PRUNING_WORKERS must be a whole number >= 1, got {workers!r}")
        env = {"kind": os.environ.get("PRUNING_EXECUTOR") or "local", "workers": int(workers),
               "ray_address": os.environ.get("PRUNING_RAY_ADDRESS") or None}
        return cls(**{**env, **{k: v for k, v in override.items() if v is not None}})

    def describe(self) -> str:
        """One line for logs and captions."""
        if self.kind == "local":
            return "local (in this process)"
        where = f"cluster {self.ray_address}" if self.kind == "ray" and self.ray_address else (
            f"{self.workers} worker{'s' * (self.workers != 1)}")
        return f"{self.kind}: {where}, {self.worker_threads} thread(s) each"


def set_threads(threads: int) -> int:
    """Limit this process's TF to ``threads`` intra-op threads (and 1 inter-op), before its
    first op; returns the count TF will use (unchanged when TF had already started)."""
    for name in THREAD_ENV:
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    import_tensorflow_quietly()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # the context exists already: keep what it has
        pass
    return thread_count()


def thread_count() -> int:
    """Intra-op threads TF runs with in this process (its default is one per core)."""
    import tensorflow as tf

    configured = tf.config.threading.get_intra_op_parallelism_threads()
    env = os.environ.get("TF_NUM_INTRAOP_THREADS", "")
    return configured or (int(env) if env.isdigit() and int(env) > 0 else (os.cpu_count() or 1))


def run_jobs(config: ExecutorConfig, fn: Task, shared: Any, jobs: Sequence[Any],
             on_done: Done | None = None) -> list[Any]:
    """Run ``fn(shared, job)`` for every job on the configured executor.

    ``on_done(index, result)`` runs in the calling thread as each job lands (any order);
    returns the results in job order. A job that raises stops the batch with its error
    (results already delivered to ``on_done`` stay delivered).
    """
    results: list[Any] = [None] * len(jobs)

    def land(i: int, result: Any) -> None:
        results[i] = result
        if on_done is not None:
            on_done(i, result)

    if jobs:
        {"local": _run_local, "process": _run_process, "ray": _run_ray}[config.kind](
            config, fn, shared, list(jobs), land)
    return results


def _run_local(config: ExecutorConfig, fn: Task, shared: Any, jobs: list, land: Done) -> None:
    for i, job in enumerate(jobs):
        land(i, fn(shared, job))


# --- process pool ---------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(threads: int, payload: bytes) -> None:
    set_threads(threads)
    _WORKER["fn"], _WORKER["shared"] = pickle.loads(payload)


def _call_in_worker(job: Any) -> Any:
    return _WORKER["fn"](_WORKER["shared"], job)


def _run_process(config: ExecutorConfig, fn: Task, shared: Any, jobs: list, land: Done) -> None:
    import multiprocessing

    payload = pickle.dumps((fn, shared), protocol=pickle.HIGHEST_PROTOCOL)
    todo = dict(enumerate(jobs))
    for attempt in range(config.max_retries + 1):
        pool = ProcessPoolExecutor(min(config.workers, len(todo)), multiprocessing.get_context("spawn"),
                                   _init_worker, (config.worker_threads, payload))
        try:
            futures = {pool.submit(_call_in_worker, job): i for i, job in todo.items()}
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    try:
                        result = f.result()
                    except BrokenProcessPool:
                        continue  # its worker died: sent again to the next pool
                    i = futures[f]
                    del todo[i]
                    land(i, result)
            if not todo:
                return
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    raise ExecutorError(f"{len(todo)} job(s) lost their worker {config.max_retries + 1} times; "
                        "giving up (out of memory? lower --workers)")


# --- Ray --------------------------------------------------------------------------------------

def _ray_call(threads: int, fn: Task, shared: Any, job: Any) -> Any:
    set_threads(threads)
    return fn(shared, job)


def connect_ray(config: ExecutorConfig):
    """``ray.init`` for this config unless Ray is already initialized; returns the module."""
    try:
        import ray
    except ImportError:
        raise ExecutorError("the ray executor needs Ray: pip install ray==2.52.1 "
                            "(requirements.txt)") from None
    if not ray.is_initialized():
        threads = str(config.worker_threads)
        runtime_env = {"py_modules": [str(Path(__file__).resolve().parent)],
                       "env_vars": {**{n: threads for n in THREAD_ENV}, "TF_NUM_INTEROP_THREADS": "1",
                                    "TF_CPP_MIN_LOG_LEVEL": "2"}}
        os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # no GPU env rewriting, no warning
        kwargs: dict[str, Any] = {"runtime_env": runtime_env, "log_to_driver": False,
                                  "include_dashboard": False, "logging_level": logging.WARNING}
        if config.ray_address:
            kwargs["address"] = config.ray_address
        else:
            kwargs["num_cpus"] = config.workers
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ExecutorError(f"cannot start or reach Ray at {config.ray_address or 'a local cluster'}: "
                                f"{e}") from None
    return ray


def _run_ray(config: ExecutorConfig, fn: Task, shared: Any, jobs: list, land: Done) -> None:
    ray = connect_ray(config)
    task = ray.remote(num_cpus=1, max_retries=config.max_retries)(_ray_call)
    shared_ref = ray.put(shared)
    refs = {task.remote(config.worker_threads, fn, shared_ref, job): i for i, job in enumerate(jobs)}
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayTaskError as e:
                raise e.as_instanceof_cause() from None
            except ray.exceptions.WorkerCrashedError as e:
                raise ExecutorError(f"a job's worker died {config.max_retries + 1} times: {e}") from None
            land(refs[ready[0]], result)
    finally:
        for ref in pending:  # interrupted: stop the rest; the landed jobs are in the store
            ray.cancel(ref, force=True)
