"""One place that makes the logger, tracer and metrics every function shares."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "AgentTasks"

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace=NAMESPACE)
