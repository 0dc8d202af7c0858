"""What the invoke tasks drive: model training, the local server, smoke checks, and (in later
modules) docker, Azure, load tests and observability. Nothing in the service imports this."""
