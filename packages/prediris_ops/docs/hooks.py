"""The MkDocs hook (mkdocs.yml `hooks:`): replace each `<!-- generated: NAME -->` marker of a page with
the table `prediris_ops.docs.tables` builds from the code. An unknown marker fails the build."""

import re
from pathlib import Path

from mkdocs.exceptions import PluginError

from prediris_ops.docs.tables import DocsError, generators

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)


def expand(markdown: str, docs_dir: Path, where: str = "page") -> str:
    """Return `markdown` with every marker replaced by its generated Markdown."""
    available = generators(docs_dir)

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in available:
            raise DocsError(f"{where}: unknown marker <!-- generated: {name} -->; use one of {', '.join(sorted(available))}")
        return available[name]()

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown, page, config, files):  # MkDocs passes every argument by name
    try:
        return expand(markdown, Path(config["docs_dir"]), page.file.src_uri)
    except DocsError as error:
        raise PluginError(str(error)) from None
