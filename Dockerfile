# prediris: the Iris KNN API on granian, as a small non-root image.
#   docker build -t efreiprediris:latest .                (plain build, no proxy)
#   invoke build                                           (lint, pinned model, CA secret, tags, size report)
# Behind a TLS-intercepting proxy, give pip the proxy's CA as a BuildKit secret (never stored in a layer):
#   DOCKER_BUILDKIT=1 docker build --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt -t efreiprediris .
#
# Stages: python (Debian's python3) -> builder (venv from the lock) -> model (trained with that venv)
#         -> app (the service's code, byte-compiled) -> runtime (python + venv + model + code, non-root).

# Debian's python3 (3.11) rather than a python:* image: the same interpreter whether the base image is
# pulled or built locally with debootstrap (see `invoke base-image`).
# Pinned by digest: the tag moves with every Debian point release, the digest never does. To update it,
# see docs/security.md, "Supply chain". A base built locally by `invoke base-image` has no
# registry digest: `invoke build` then passes it explicitly and says the pin is bypassed.
ARG BASE_IMAGE=debian:bookworm-slim@sha256:88200866dfff7ea7f5cbcb6ec7c8a701889efe6fe859fe64d6990e4b07ea4171

FROM ${BASE_IMAGE} AS python
RUN apt-get update \
 && apt-get install --yes --no-install-recommends \
        python3 \
 && rm -rf /var/lib/apt/lists/*


FROM python AS builder
RUN apt-get update \
 && apt-get install --yes --no-install-recommends \
        python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
COPY requirements/runtime.lock /tmp/runtime.lock
# Exactly the locked distributions, as wheels (no compiler in the image, nothing unlisted pulled in),
# each checked against the lock's SHA-256 (--require-hashes): a wheel with other bytes fails the build.
# The CA bundle is a secret mounted for this step only; without one, pip uses its default trust store.
RUN --mount=type=secret,id=ca_bundle,required=false \
    if [ -s /run/secrets/ca_bundle ]; then export PIP_CERT=/run/secrets/ca_bundle; fi \
 && /opt/venv/bin/pip install --disable-pip-version-check --progress-bar off --no-cache-dir \
        --require-hashes --no-deps --only-binary=:all: --requirement /tmp/runtime.lock \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools
# The libraries' own test suites (~65 MB in numpy, scipy and scikit-learn) are never imported by the service.
RUN find /opt/venv/lib -depth -type d -name tests -exec rm -rf {} +


# Train in the image, with the venv that will serve: no pickle version skew. Training is deterministic,
# so with the same library versions the file is byte-identical to `invoke train`'s; `invoke build`
# passes that digest as MODEL_SHA256 and the build fails if the model differs from it.
FROM builder AS model
ENV PYTHONPATH=/opt/prediris
COPY packages/prediris_model /opt/prediris/prediris_model
# The same settings as invoke.yaml's `model` section (invoke build passes them from there).
ARG MODEL_SEED=42
ARG MODEL_TEST_SIZE=0.25
ARG MODEL_CV_FOLDS=5
ARG MODEL_MIN_ACCURACY=0.90
ARG MODEL_SHA256=""
RUN ["/opt/venv/bin/python", "-c", "import os, prediris_model as m; e = os.environ; \
config = m.TrainingConfig(seed=int(e['MODEL_SEED']), test_size=float(e['MODEL_TEST_SIZE']), cv_folds=int(e['MODEL_CV_FOLDS']), min_accuracy=float(e['MODEL_MIN_ACCURACY'])); \
m.save(m.train(config), '/opt/model'); \
model = m.load('/opt/model', e['MODEL_SHA256'] or None); \
print('trained iris-knn', model.version, 'test accuracy', model.card['metrics']['test']['accuracy'])"]


FROM builder AS app
COPY packages/prediris_metrics /opt/prediris/prediris_metrics
COPY packages/prediris_model /opt/prediris/prediris_model
COPY packages/prediris_api /opt/prediris/prediris_api
# The server reports the version of the `prediris` distribution (its package metadata). The packages are
# copied, not installed, so the distribution's minimal metadata is written beside them.
ARG OCI_VERSION=0.1.0
RUN ["/opt/venv/bin/python", "-c", "import os, pathlib; v = os.environ['OCI_VERSION']; \
d = pathlib.Path('/opt/prediris', f'prediris-{v}.dist-info'); d.mkdir(); \
(d / 'METADATA').write_text(f'Metadata-Version: 2.1\\nName: prediris\\nVersion: {v}\\n')"]
# Byte-compile at build time: the root filesystem is read-only at run time.
RUN /opt/venv/bin/python -m compileall -q /opt/prediris


FROM python AS runtime
ARG BASE_IMAGE
# A fixed, unprivileged UID/GID that volume permissions and policies (runAsUser) can rely on.
RUN groupadd --system --gid 10001 prediris \
 && useradd --system --uid 10001 --gid prediris --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin prediris
COPY --from=builder /opt/venv /opt/venv
COPY --from=model /opt/model /opt/prediris/models
COPY --from=app /opt/prediris /opt/prediris
ARG MODEL_SHA256=""
# PATH: the venv's python first. PYTHONPATH: the service's three packages (not installed as a distribution,
# so no build backend is needed). PYTHONDONTWRITEBYTECODE: nothing to write on a read-only filesystem, the
# code is compiled above. PYTHONUNBUFFERED: logs reach `docker logs` at once. PREDIRIS_HOST: listen on every
# interface of the container (the service's own default is 127.0.0.1). PREDIRIS_MODEL_DIR: the model trained
# above. PREDIRIS_MODEL_SHA256: the digest the model must have (empty when the build did not pin one; the
# model is still verified against its card). PREDIRIS_EXPOSE_RUNTIME: library versions stay out of public
# answers (docs/security.md). The port is the service's default, 5000, or PORT.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/opt/prediris \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PREDIRIS_HOST=0.0.0.0 \
    PREDIRIS_MODEL_DIR=/opt/prediris/models \
    PREDIRIS_MODEL_SHA256=${MODEL_SHA256} \
    PREDIRIS_EXPOSE_RUNTIME=false
USER 10001:10001
WORKDIR /opt/prediris
EXPOSE 5000
# Python, not curl (the image has none): healthy once the model is loaded and verified.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('PREDIRIS_PORT') or os.environ.get('PORT') or '5000'; urllib.request.urlopen(f'http://127.0.0.1:{port}/health/ready', timeout=4)"]
# Docker and Azure stop containers with SIGTERM; the server, PID 1 by the exec form, exits 0 on it.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "prediris_api"]

# Last, so that a new revision or date changes only the image's metadata, not a cached layer.
ARG OCI_SOURCE=unknown
ARG OCI_REVISION=unknown
ARG OCI_VERSION=0.1.0
ARG OCI_CREATED=unknown
LABEL org.opencontainers.image.title="prediris" \
      org.opencontainers.image.description="Iris KNN classifier API (Flask on granian), model trained at build time" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${OCI_SOURCE}" \
      org.opencontainers.image.revision="${OCI_REVISION}" \
      org.opencontainers.image.version="${OCI_VERSION}" \
      org.opencontainers.image.created="${OCI_CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
