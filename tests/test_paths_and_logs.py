"""Where the home is chosen from, and where logs go."""

from __future__ import annotations

import logging

from app.logs import configure
from app.paths import HOME_ENV, resolve_home


def test_home_flag_beats_environment_beats_default(monkeypatch, tmp_path):
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))
    assert resolve_home(tmp_path / "flag").root == tmp_path / "flag"
    assert resolve_home(None).root == tmp_path / "from-env"
    monkeypatch.delenv(HOME_ENV)
    assert "AudienceStudio" in str(resolve_home(None).root)


def test_home_keeps_store_and_cache_side_by_side(tmp_path):
    home = resolve_home(tmp_path)
    assert home.store_path.parent == home.cache_path.parent == tmp_path


def test_logs_go_to_a_rotating_file_and_to_the_console_only_when_verbose(tmp_path, capsys):
    root = logging.getLogger()
    saved_level = root.level
    try:
        path = configure(verbose=False, directory=tmp_path)
        logging.getLogger("app.test").info("quiet line")
        assert "quiet line" in path.read_text()
        assert "quiet line" not in capsys.readouterr().err
        configure(verbose=True, directory=tmp_path)
        logging.getLogger("app.test").debug("loud line")
        assert "loud line" in capsys.readouterr().err
        assert sum(getattr(h, "_audience_studio", False) for h in root.handlers) == 2
    finally:
        for handler in root.handlers[:]:
            if getattr(handler, "_audience_studio", False):
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved_level)
