"""twolevel.seeds owns every seed: no stream is seeded by arithmetic that can collide."""

from __future__ import annotations

import inspect

from twolevel import dynamics, explore
from twolevel.seeds import call_seed


def test_call_seeds_do_not_collide_where_seed_times_m_plus_k_did():
    """relax_md seeded its k-th MD call with seed * 1000003 + k, so (0, 1000004) and (1, 1) ran the
    same noise; call_seed gives every (seed, call) its own seed."""
    pairs = [(s, k) for s in range(4) for k in (1, 2, 3, 1000004, 1000005, 2000007)]
    old = [s * 1000003 + k for s, k in pairs]
    assert len(set(old)) < len(pairs)  # the old scheme collides on this grid ...
    new = [call_seed(s, "relax_md", k) for s, k in pairs]
    assert len(set(new)) == len(pairs)  # ... the new one does not
    assert call_seed(0, "relax_md", 1) == call_seed(0, "relax_md", 1)  # and it is reproducible
    assert 0 <= min(new) and max(new) < 2**63


def test_segment_seeds_of_an_exploration_are_collision_free_for_large_seeds():
    """explore's segment seeds used SeedSequence([seed, run, step]), which splits a 63-bit study seed
    (the pipeline's task seeds are 63-bit) into 32-bit words: seed 2**32 at (run 0, step 0) met
    seed 0 at (run 1, step 0)."""
    import numpy as np

    def old(seed, run, step):
        return int(np.random.SeedSequence([seed, run, step]).generate_state(1)[0])

    a, b = (2**32, 0, 0), (0, 1, 0)
    assert old(*a) == old(*b)
    assert explore._seg_seed(*a) != explore._seg_seed(*b)


def test_no_module_seeds_by_arithmetic():
    for mod in (dynamics, explore):
        src = inspect.getsource(mod)
        assert "1000003" not in src and "SeedSequence([" not in src
        assert "call_seed(" in src
