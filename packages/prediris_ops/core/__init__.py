"""What every task builds on: processes, the repository's paths, task options, a local API."""
