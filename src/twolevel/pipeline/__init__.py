"""Orchestration of a study: config, executors, resumable runs, provenance, progress.

``run_study(config, executor)`` / :class:`Study` (``twolevel run``); see
docs/pipeline.md.
"""

from .config import StudyConfig, load_config, parse_config, render_markdown
from .executors import DaskExecutor, Executor, InProcessExecutor, ProcessPoolExecutor, Task, TaskResult, make_executor, task_seed
from .stages import STAGES, Stage, default_stages
from .study import RunResult, Study, read_log, run_study

__all__ = [
    "StudyConfig", "load_config", "parse_config", "render_markdown",
    "Executor", "InProcessExecutor", "ProcessPoolExecutor", "DaskExecutor", "Task", "TaskResult", "make_executor",
    "task_seed", "Stage", "STAGES", "default_stages", "Study", "run_study", "RunResult", "read_log",
]
