"""Load: Taurus/JMeter load tests and their reports, the serving benchmark, the soak test, a load generator."""
