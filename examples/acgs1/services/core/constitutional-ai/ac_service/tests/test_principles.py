from app.main import Principle


def test_principle_model():
    assert Principle(title="t", body="b").title == "t"
