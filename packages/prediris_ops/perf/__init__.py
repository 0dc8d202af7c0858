"""Load tests with Taurus: JMeter provisioning, runs, results, reports and replica watching."""
