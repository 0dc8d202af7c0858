"""`invoke docs`: build the manual (docs/, mkdocs.yml) strictly, or serve it locally while you edit it."""

from prediris_ops.core.paths import ROOT
from prediris_ops.core.processes import run_in
from prediris_ops.docs.site import QUIET_ENV, build_argv, require_mkdocs, serve_argv
from prediris_ops.tasks.exits import task


@task(
    help={
        "serve": "Serve the site and rebuild it on every change instead of building it once.",
        "address": "HOST:PORT to serve on with --serve (default: docs.address, 127.0.0.1:8000).",
        "site-dir": "Where to write the built site (default: docs.site_dir, build/site).",
    }
)
def docs(c, serve=False, address=None, site_dir=None):
    """Build the manual with `mkdocs build --strict` (a broken link fails), or serve it with --serve."""
    require_mkdocs()
    if serve:
        address = address or c.docs.address
        print(f"docs: serving http://{address}/ (Ctrl-C stops)", flush=True)
        run_in(c, serve_argv(address), env=QUIET_ENV)
        return
    target = ROOT / (site_dir or c.docs.site_dir)
    run_in(c, build_argv(target), env=QUIET_ENV)
    print(f"docs: built {target / 'index.html'}")
