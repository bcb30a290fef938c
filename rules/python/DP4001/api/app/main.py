import fastapi
import aiohttp
