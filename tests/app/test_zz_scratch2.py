import pytest
from app_helpers import new_app, ok
from zoo_models import SPECS

@pytest.fixture()
def no_demo(monkeypatch, tmp_path):
    import pruning.models
    monkeypatch.setattr(pruning.models, "WEIGHTS_DIR", tmp_path / "no-weights")

@pytest.mark.parametrize("name", list(SPECS))
def test_other_pages(name, no_demo, zoo):
    z = zoo[name]
    at = new_app().run()
    at.switch_page("pages/bring_your_own.py").run()
    at.file_uploader(key="byo_model").set_value((z.model_path.name, z.model_path.read_bytes(), "x"))
    at.file_uploader(key="byo_data").set_value([(z.data_path.name, z.data_path.read_bytes(), "x")])
    at.run()
    ok(at)
    for page in ("teach", "structured"):
        at.switch_page(f"pages/{page}.py").run()
        print(name, page, [e.message for e in at.exception], [e.value for e in at.error], [i.value for i in at.info][:2], [w.value for w in at.warning][:2])
