"""prediris tasks: this file only composes the task modules; defaults live in invoke.yaml.

Run `invoke --list` for a one-line help of each task, `invoke --help TASK` for its options.
"""

from invoke import Collection

from prediris_ops.tasks import checks, model, serve

ns = Collection(
    model.train,
    serve.up,
    serve.smoke,
    checks.lint,
    checks.test,
)
