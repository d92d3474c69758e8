"""The projector display option: taller charts with large, black axis numbers; larger type."""

from app_helpers import chart_specs, new_app, ok


def test_projector_option_enlarges_charts_and_type(demo):
    at = new_app().run()
    ok(at)
    normal = chart_specs(at)[0]["layout"]
    at.toggle(key="projector").set_value(True).run()
    ok(at)
    big = chart_specs(at)[0]["layout"]
    assert big["height"] >= max(560, normal.get("height", 0))
    for axis in ("xaxis", "yaxis"):
        assert big[axis]["tickfont"]["size"] >= 18 and big[axis]["tickfont"]["color"] == "#000"
    assert big["font"]["size"] >= 20
    css = " ".join(h.value for h in at.get("html"))
    assert "font-size: 1.25rem" in css and 'data-stale="true"' in css
