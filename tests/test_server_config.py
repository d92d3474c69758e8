"""The served app's Streamlit settings (.streamlit/config.toml) are real options that
Streamlit reads: no file watcher over the checkout, no full garbage collection after each
script run (a class server's largest cost, BENCHMARKS section 14)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_streamlit_reads_the_class_server_settings(monkeypatch):
    from streamlit import config

    monkeypatch.chdir(ROOT)
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("runner.postScriptGC") is False
        assert config.get_option("server.fileWatcherType") == "none"
        assert config.get_option("server.runOnSave") is False
        assert config.get_option("server.maxUploadSize") == 200
    finally:
        monkeypatch.undo()
        config.get_config_options(force_reparse=True)
