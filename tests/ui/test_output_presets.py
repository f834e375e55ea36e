"""The output form shows a partner's presets (defaults) in its text fields, so an admin sees and can change them."""

from __future__ import annotations

import pytest

from app.connectors.outputs import google_customer_match, meta_audiences
from app.connectors.outputs.directory import partner
from app.ui.connections.form import FieldsForm


@pytest.mark.parametrize("key, module", [("meta_custom_audiences", meta_audiences),
                                         ("google_customer_match", google_customer_match)])
def test_a_new_outputs_form_is_filled_with_the_sign_in_presets(qtbot, key, module):
    form = FieldsForm(partner(key).all_configuration_fields)
    qtbot.addWidget(form)
    values = form.values()
    assert (values["authorize_url"], values["token_url"], values["scopes"], values["api_url"]) == \
        (module.AUTHORIZE_URL, module.TOKEN_URL, module.SCOPES, module.API_URL)
    assert values["client_id"] == ""          # no preset: the admin's own app


def test_an_edited_outputs_own_value_wins_over_the_preset(qtbot):
    form = FieldsForm(partner("meta_custom_audiences").all_configuration_fields,
                      {"api_url": "http://127.0.0.1:8080/v21.0", "ad_account_id": "123456"})
    qtbot.addWidget(form)
    assert form.values()["api_url"] == "http://127.0.0.1:8080/v21.0"
