"""Async task runner: pulls jobs from ZMQ, queues them in Redis."""
import asyncio
import json

import redis.asyncio as aioredis
import zmq.asyncio

from .settings import load_settings


async def main() -> None:
    settings = load_settings()
    queue = aioredis.from_url(settings["redis_url"])
    socket = zmq.asyncio.Context().socket(zmq.PULL)
    socket.bind(settings["bind"])
    while True:
        job = json.loads(await socket.recv())
        await queue.lpush("pc2:jobs", json.dumps(job))


if __name__ == "__main__":
    asyncio.run(main())
