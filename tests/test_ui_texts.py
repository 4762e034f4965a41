"""The engine's own texts."""
from __future__ import annotations

from sfdoctor.ui_texts import ENGINE_CHECKS, UI, ui


def test_every_engine_text_has_both_languages():
    for key, text in UI.items():
        assert text.get("en") and text.get("ja"), key
    for text in ENGINE_CHECKS.values():
        assert text.get("en") and text.get("ja")


def test_ui_formats_the_text_in_the_language_asked():
    assert ui("looked.window_days", "en", days=7) == "last 7 days"
    assert ui("looked.window_days", "ja", days=7) == "直近 7 日間"
