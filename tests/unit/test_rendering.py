"""The template filters users read: statuses as worded badges."""

import pytest

from imagin.domain.status import PartStatus
from imagin.rendering import status_badge


@pytest.mark.parametrize("status", list(PartStatus))
def test_every_status_is_a_badge_with_its_words(status):
    badge = status_badge(status)
    assert badge == f'<span class="status status--{status.value}">{status.label}</span>'


def test_a_stored_value_gives_the_same_badge_as_the_status():
    assert status_badge("a_corriger") == status_badge(PartStatus.TO_CORRECT)
    assert "À corriger" in status_badge("a_corriger")


def test_an_unknown_value_is_refused_not_rendered():
    with pytest.raises(ValueError):
        status_badge('"><script>')
