"""The API."""
from fastapi import FastAPI
import aiohttp

app = FastAPI()
