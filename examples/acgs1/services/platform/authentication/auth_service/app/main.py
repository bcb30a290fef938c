"""Authentication: password login and JWT issuing."""
import jwt
import uvicorn
from fastapi import FastAPI, HTTPException
from passlib.context import CryptContext

app = FastAPI()
PASSWORDS = CryptContext(schemes=["bcrypt"])
USERS: dict = {}


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/login")
def login(username: str, password: str) -> dict:
    if not PASSWORDS.verify(password, USERS.get(username, "")):
        raise HTTPException(status_code=401)
    return {"token": jwt.encode({"sub": username}, "secret", algorithm="HS256")}


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8000)
