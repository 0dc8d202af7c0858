"""The model runtime: the verified model, loaded once, and its exact fast kernel."""
