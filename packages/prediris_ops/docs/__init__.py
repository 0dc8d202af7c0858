"""The manual: tables generated from the code for the MkDocs site, its build hook and its commands."""
