from pc2_code.settings import load_settings


def test_defaults(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("bind: tcp://127.0.0.1:5570\n")
    assert load_settings(str(config))["bind"].startswith("tcp://")
