"""The one neighbour list (engine/neighbors.py) against a brute-force numpy list.

The reference below is written independently of the compiled search: every pair, the minimum
image of the (tilted) box written out with numpy, the cutoff x_c s_ij + skin from the model's own
numpy transcription of the mixing rule (models/base.py ``cutoff``)."""

import numpy as np
import pytest

from twolevel.engine import ParticleSystem
from twolevel.engine.neighbors import build_neighbors, build_neighbors_tilted, cell_grid, prune_neighbors
from twolevel.models import get_model


def brute_force(x, box, tilt, conf, model, skin):
    n, d = x.shape
    dx = x[:, None, :] - x[None, :, :]
    ny = np.rint(dx[..., 1] / box[1])
    dx[..., 0] -= tilt * ny
    dx[..., 1] -= box[1] * ny
    if d == 3:
        dx[..., 2] -= box[2] * np.rint(dx[..., 2] / box[2])
    dx[..., 0] -= box[0] * np.rint(dx[..., 0] / box[0])
    r = np.sqrt((dx ** 2).sum(-1))
    t, dia = conf.types, conf.diameters
    rl = model.cutoff(t[:, None], t[None, :], dia[:, None], dia[None, :]) + skin
    i, j = np.nonzero(np.triu(r < rl, 1))
    return set(zip(i.tolist(), j.tolist()))


def as_set(start, idx):
    return {(i, int(j)) for i in range(len(start) - 1) for j in idx[start[i]:start[i + 1]]}


def scattered(name, n, dim, seed):
    conf = get_model(name).random_configuration(n, dim=dim, seed=seed)
    rng = np.random.default_rng(seed)
    # far-away periodic images: the search must wrap them itself
    x = conf.positions + conf.box * rng.integers(-3, 4, size=conf.positions.shape)
    return conf, x


@pytest.mark.parametrize("name,n,dim", [("pss", 700, 3), ("tlj", 600, 3), ("ka", 500, 3),
                                        ("pss", 400, 2), ("ka", 300, 2), ("pss", 100, 3)])
def test_list_is_the_brute_force_list(name, n, dim):
    conf, x = scattered(name, n, dim, seed=3)
    ps = ParticleSystem(conf)
    start, idx = build_neighbors(x, ps.box, ps.types, ps.diam, ps.mp, ps.skin)
    assert as_set(start, idx) == brute_force(x, conf.box, 0.0, conf, ps.model, ps.skin)
    # rows sorted, half list: the order of summation does not depend on the cells
    for i in range(n):
        row = idx[start[i]:start[i + 1]]
        assert np.all(np.diff(row) > 0) and np.all(row > i)


@pytest.mark.parametrize("name,n,dim", [("pss", 700, 3), ("tlj", 600, 3), ("ka", 300, 2), ("pss", 400, 2)])
def test_pruned_list_is_the_brute_force_list(name, n, dim):
    """Dynamic pruning (the MD's two lists): the list of a larger skin, built at positions the
    particles have since left by less than (outer - skin)/2, pruned to the skin, is the list of
    the skin at the new positions, rows sorted, pair for pair."""
    conf, x = scattered(name, n, dim, seed=5)
    ps = ParticleSystem(conf)
    outer = 4 * ps.skin
    so, io = build_neighbors(x, ps.box, ps.types, ps.diam, ps.mp, outer)
    rng = np.random.default_rng(1)
    step = rng.normal(size=x.shape)
    step *= 0.49 * (outer - ps.skin) / 2 / np.sqrt((step ** 2).sum(1)).max()
    y = x + step
    start, idx = prune_neighbors(y, ps.box, ps.types, ps.diam, ps.mp, ps.skin, so, io)
    assert as_set(start, idx) == brute_force(y, conf.box, 0.0, conf, ps.model, ps.skin)
    ref = build_neighbors(y, ps.box, ps.types, ps.diam, ps.mp, ps.skin)
    assert np.array_equal(start, ref[0]) and np.array_equal(idx, ref[1])


@pytest.mark.parametrize("tilt_frac", [0.13, -0.5, 0.5])
@pytest.mark.parametrize("dim", [2, 3])
def test_tilted_box_list_is_the_brute_force_list(dim, tilt_frac):
    conf, x = scattered("pss", 600 if dim == 3 else 400, dim, seed=4)
    ps = ParticleSystem(conf)
    tilt = tilt_frac * conf.box[0]
    assert cell_grid(conf.box, tilt, 2.4)[0] > 0          # the cell search is exercised
    start, idx = build_neighbors_tilted(x, ps.box, tilt, ps.types, ps.diam, ps.mp, ps.skin)
    assert as_set(start, idx) == brute_force(x, conf.box, tilt, conf, ps.model, ps.skin)


def test_cells_are_wide_enough_in_a_tilted_box():
    """The x faces of a tilted cell are L_x L_y / sqrt(L_y^2 + xy^2) apart, closer than L_x."""
    box = np.array([10.0, 10.0, 10.0])
    assert cell_grid(box, 0.0, 2.0)[0] == 10
    assert cell_grid(box, 5.0, 2.0)[0] == int(np.floor(2 * 10 * 10 / np.hypot(10, 5) / 2.0))
    assert cell_grid(np.array([4.0, 4.0, 4.0]), 0.0, 2.0)[0] == 0      # too small: all pairs


def test_non_finite_positions_stay_inside_the_grid():
    """A blown-up MD step (inf, nan) must not index outside the cell arrays: the compiled MD loop
    rebuilds without Python's finiteness check, and reports the non-finite energy afterwards."""
    conf, x = scattered("pss", 700, 3, seed=6)
    ps = ParticleSystem(conf)
    x[5] = np.inf
    x[9, 1] = np.nan
    start, idx = build_neighbors(x, ps.box, ps.types, ps.diam, ps.mp, ps.skin)
    assert start[-1] == len(idx) and np.all((idx >= 0) & (idx < conf.n))
