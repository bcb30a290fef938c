#!/bin/sh
# Written for the pipeline, never wired into the image or compose.
python -c "import redis, os; redis.from_url(os.environ['REDIS_URL']).ping()"
