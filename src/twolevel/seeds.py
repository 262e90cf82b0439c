"""One seed scheme for the whole package (../shared/DESIGN.md: "randomness flows from one seed").

Every random stream is seeded by ``task_seed(study_seed, key)``: numpy's SeedSequence with the
study seed as entropy and a SHA-256 hash of the task's identity as spawn key. It depends only on
the seed and the key, so it is the same on any executor, any number of workers and any
completion order, distinct keys give independent streams, and no two (seed, key) pairs collide
by arithmetic (unlike ``seed * M + k``).

Keys name what a stream is for. A sample's key is ``sample_key(label, T_f, k)`` =
``"<label>/Tf_<T_f>/sample_<k>"`` (the same spelling as its run directory), and a stage of that
sample appends ``"/<stage>"``: so ``twolevel prepare --seed S`` and ``twolevel run`` with study
seed S give sample k the same seed, hence the same glass with the same parameters.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["call_seed", "format_tf", "sample_key", "stable_hash", "task_seed", "stage_seed"]


def format_tf(tf: float) -> str:
    """The directory spelling of a T_f: the shortest round-trip repr (0.062 -> '0.062')."""
    return repr(float(tf))


def sample_key(label: str, T_f: float, k: int) -> str:
    """``<label>/Tf_<T_f>/sample_<k>``: a sample's identity and its path below the run directory."""
    return f"{label}/Tf_{format_tf(T_f)}/sample_{int(k)}"


def stable_hash(text: str) -> tuple[int, ...]:
    """Eight 32-bit words of SHA-256(text): a hash that is the same in every process and Python."""
    h = hashlib.sha256(text.encode("utf-8")).digest()
    return tuple(int.from_bytes(h[i : i + 4], "little") for i in range(0, 32, 4))


def task_seed(study_seed: int, key: str) -> int:
    """The seed of one task: numpy SeedSequence(study_seed, spawn_key=hash(key)) -> 63-bit int."""
    ss = np.random.SeedSequence(int(study_seed), spawn_key=stable_hash(key))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def stage_seed(study_seed: int, label: str, T_f: float, k: int, stage: str) -> int:
    """The seed of ``stage`` for sample k of (label, T_f): ``task_seed(seed, sample_key(...)/stage)``."""
    return task_seed(study_seed, f"{sample_key(label, T_f, k)}/{stage}")


def call_seed(seed: int, what: str, *index: int) -> int:
    """The seed of one call inside a task, e.g. the k-th MD segment of a relaxation measurement or
    the segment of run r starting at MD step s of an exploration: ``task_seed(seed, "<what>/<i>/<j>")``.
    Distinct (seed, index) never collide by arithmetic (``seed * 1000003 + k`` gave (0, 1000004)
    and (1, 1) the same seed)."""
    return task_seed(seed, "/".join([what, *(str(int(i)) for i in index)]))
