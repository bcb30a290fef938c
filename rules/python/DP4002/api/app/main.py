"""The service. `import pandas` in this docstring does not count."""
import aiohttp
import yaml
from sklearn.linear_model import LinearRegression  # import numpy: a comment does not count
from . import helpers

try:
    import acme_tm
except ImportError:
    acme_tm = None


def load():
    from dotenv import load_dotenv
    return load_dotenv()
