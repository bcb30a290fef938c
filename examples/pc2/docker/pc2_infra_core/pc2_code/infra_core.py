"""Infra agents: system health exporter and service registry heartbeat."""
import time

import psutil
import requests
import zmq
from prometheus_client import Gauge, start_http_server

CPU = Gauge("pc2_cpu_percent", "CPU usage")


def main() -> None:
    start_http_server(9100)
    registry = zmq.Context().socket(zmq.PUB)
    registry.connect("tcp://pc2_async_pipeline:5571")
    while True:
        CPU.set(psutil.cpu_percent())
        registry.send_json({"agent": "infra_core", "ts": time.time()})
        requests.get("http://pc2_web_interface:8080/health", timeout=2)
        time.sleep(5)


if __name__ == "__main__":
    main()
