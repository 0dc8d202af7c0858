"""HTTP serving: waitress, its limits, admission control and the access log."""
