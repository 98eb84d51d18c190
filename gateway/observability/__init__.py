"""What operators see: Prometheus metrics, OpenTelemetry spans, log formatting, and each
request's log line."""
