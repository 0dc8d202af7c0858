"""`python -m prediris_api`: serve the API (see prediris_api.serving.server)."""

import sys

from prediris_api.serving.server import main

sys.exit(main())
