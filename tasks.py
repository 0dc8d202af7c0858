"""prediris tasks: this file only composes the task modules; defaults live in invoke.yaml.

Run `invoke --list` for a one-line help of each task, `invoke --help TASK` for its options.
"""

from invoke import Collection

from prediris_ops.tasks import apidocs, bench, checks, deploy, docs, image, model, observe, perf, pipeline, serve, soak

ns = Collection(
    model.train,
    serve.up,
    serve.smoke,
    checks.lint,
    checks.test,
    apidocs.postman_collection,
    observe.observe,
    image.build,
    image.save,
    image.lock,
    image.base_image,
    deploy.push,
    deploy.deploy,
    deploy.provision,
    pipeline.pipeline,
    perf.perf,
    soak.soak,
    bench.bench,
    docs.docs,
)
