import os

import yaml


def load_settings(path="config.yaml"):
    with open(path) as handle:
        settings = yaml.safe_load(handle)
    settings.setdefault("redis_url", os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
    return settings
