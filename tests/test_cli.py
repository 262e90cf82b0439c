"""The command line as documented (issue #18 items 8-10): --version, one name per option, help
texts that keep every word, explore's wall-clock budget, and every `twolevel ...` line of README.md
and docs/*.md parsed against the real commands and options."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from twolevel import __version__
from twolevel.cli import app
from twolevel.explore import explore
from twolevel.landscapes import random_double_wells

ROOT = Path(__file__).resolve().parents[1]
CLI = typer.main.get_command(app)


def _is_group(cmd) -> bool:
    return hasattr(cmd, "commands")  # typer 0.29 vendors click: no isinstance against click's Group


def _is_option(p) -> bool:
    return getattr(p, "param_type_name", "") == "option"


def _commands(group=CLI, path: tuple = ()):
    for name, cmd in group.commands.items():
        if _is_group(cmd):
            yield from _commands(cmd, path + (name,))
        else:
            yield path + (name,), cmd


def _option_names(cmd) -> set[str]:
    names = {"--help"}
    for p in cmd.params:
        if _is_option(p):
            names |= set(p.opts) | set(p.secondary_opts)
    return names


def test_version():
    r = CliRunner().invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"twolevel {__version__}"


def test_one_name_per_option():
    """--out everywhere (never a visible --output), and -n is no command's short option: it meant
    minimisations, images or samples depending on the command."""
    for path, cmd in _commands():
        visible = {o for p in cmd.params if _is_option(p) and not p.hidden for o in p.opts}
        assert "--output" not in visible, path
        assert "-n" not in visible, path
    cool = dict(_commands())[("lattice", "cool")]
    assert "--out" in _option_names(cool) and "--output" in _option_names(cool)  # old name still accepted


def test_help_texts_keep_bracketed_words():
    """rich markup swallowed "[study]" in "(default: [study] output, ...)": every help text that has
    a bracketed word shows it in the rendered --help."""
    runner = CliRunner()
    checked = 0
    for path, cmd in _commands():
        helps = [p.help for p in cmd.params if _is_option(p) and p.help and "[" in p.help]
        if not helps:
            continue
        out = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "400"}).output
        for h in helps:
            for word in re.findall(r"\\?\[([A-Za-z_./]+)\]", h):
                assert f"[{word}]" in out, (path, word)
                checked += 1
    assert checked >= 2


def test_explore_stops_on_its_wall_clock_budget(tmp_path):
    """explore(stop_seconds=...) (`twolevel explore --time`): stops, resumably, after the first
    minimisation past the deadline; a second call finishes the exploration."""
    wells = random_double_wells(3, seed=1, delta_v=(0.0, 0.2), barrier=(0.3, 0.5))
    _, xs, _ = wells.minima()
    kw = dict(temperature=0.25, tau_cg=0.5, n_cg=50, runs=2, seed=1, dt=0.05)
    r1 = explore(wells, xs[0], tmp_path, stop_seconds=1e-9, **kw)
    assert not r1.complete and r1.summary["regular_minimisations"] == 1
    r2 = explore(wells, xs[0], tmp_path, **kw)
    assert r2.complete and r2.summary["regular_minimisations"] == 100


# ------------------------------------------------------------------ docs against the parser
def _doc_lines():
    """(file, line) of every `twolevel ...` command in a code block of README.md and docs/*.md."""
    for f in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        inside = False
        text = re.sub(r"\\\n\s*", " ", f.read_text())  # join continued lines
        for line in text.splitlines():
            if line.lstrip().startswith("```"):
                inside = not inside
                continue
            s = line.strip()
            if inside and re.match(r"^(\$ )?(\S*/)?twolevel(\s|$)", s):
                yield f.name, s


DOC_LINES = list(_doc_lines())


def _resolve(tokens: list[str]):
    """The command a token list names, and the tokens after it."""
    cmd = CLI
    rest = list(tokens)
    while _is_group(cmd) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        assert name in cmd.commands, f"no command {name!r}"
        cmd = cmd.commands[name]
    return cmd, rest


@pytest.mark.parametrize("where,line", DOC_LINES, ids=[f"{w}:{i}" for i, (w, _) in enumerate(DOC_LINES)])
def test_documented_command_exists(where, line):
    """Commands and option names of every documented line exist (usage synopses such as
    `[--out DIR]` and `A | B` included); values are not checked."""
    s = line.split(" #")[0].removeprefix("$ ")
    try:
        tokens = shlex.split(s)
    except ValueError:
        tokens = s.split()
    tokens = [t.strip("[](),|") for t in tokens[1:]]
    cmd, rest = _resolve([t for t in tokens if t])
    if _is_group(cmd):
        return  # `twolevel --help`, `twolevel lattice`
    names = _option_names(cmd)
    for t in rest:
        if re.match(r"^--?[A-Za-z]", t):
            opt = t.split("=")[0]
            assert opt in names, f"{where}: `{line}`: {cmd.name} has no option {opt}"


def test_docs_have_commands_and_readme_paths_match_the_demo():
    assert len(DOC_LINES) >= 20
    readme = (ROOT / "README.md").read_text()
    from twolevel.layout import REPORT

    demo = dict(_commands())[("demo",)]
    out = next(p.default for p in demo.params if p.name == "out")
    for path in re.findall(r"`?((?:runs|demo-run)/\S*?index\.html)", readme):
        assert path == f"{Path(out).as_posix()}/{REPORT}/index.html", path
