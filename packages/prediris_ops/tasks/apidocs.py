"""`invoke postman`: regenerate docs/postman/ from the OpenAPI description."""

from prediris_ops.core.paths import ROOT
from prediris_ops.tasks.exits import task


@task(name="postman")
def postman_collection(c):
    """Write the Postman collection generated from the OpenAPI description (docs/postman/)."""
    from prediris_ops.apidocs import postman

    changed = postman.write()
    shown = postman.COLLECTION_PATH.relative_to(ROOT)
    print(f"{shown}: {'written' if changed else 'already up to date'}")
