"""`python -m prediris_api`: serve the API (see prediris_api.server)."""

import sys

from prediris_api.server import main

sys.exit(main())
