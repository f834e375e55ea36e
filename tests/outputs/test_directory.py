"""The partner directory, settings validation and the identity normal forms partners match on."""

from __future__ import annotations

import hashlib

import pytest

from app.connectors.outputs.custom_audiences import hashed
from app.connectors.outputs.directory import PARTNERS, categories, find_partners, partner
from app.connectors.outputs.identities import normal_advertising_id, normal_email, normal_phone
from app.connectors.outputs.settings import SettingsProblems, clean_settings
from app.errors import InvalidInput, NotFound


def keys(partners) -> list[str]:
    return [p.key for p in partners]


def test_the_directory_ships_the_generic_and_named_partners_each_declaring_settings_auth_and_identity_types():
    assert keys(PARTNERS) == ["webhook", "file_export", "email_list", "custom_audiences", "oauth2", "oauth2_entra",
                              "meta_custom_audiences", "google_customer_match",
                              "mailchimp", "mailchimp_oauth", "klaviyo", "braze", "hubspot"]
    for declared in PARTNERS:
        assert declared.identity_types and declared.max_batch > 0 and declared.description
        assert all(f.kind == "secret" for f in declared.secret_fields)
        assert not any(f.kind == "secret" for f in declared.configuration_fields)


def test_filters_by_name_category_auth_and_identity_type():
    assert keys(find_partners(name="email list")) == ["email_list"]
    assert keys(find_partners(name="hashes")) == ["custom_audiences", "meta_custom_audiences", "google_customer_match"]
    assert keys(find_partners(category="advertising")) == ["custom_audiences", "meta_custom_audiences",
                                                           "google_customer_match"]
    assert keys(find_partners(auth="oauth2")) == ["oauth2", "oauth2_entra", "meta_custom_audiences",
                                                  "google_customer_match", "mailchimp_oauth", "hubspot"]
    assert keys(find_partners(name="mailchimp")) == ["email_list", "mailchimp", "mailchimp_oauth"]
    assert keys(find_partners(identity_type="customer_id", category="Email")) == ["klaviyo"]
    assert keys(find_partners(category="crm")) == ["hubspot"]
    assert keys(find_partners(auth="none")) == ["file_export"]
    assert "email_list" not in keys(find_partners(identity_type="ios_idfa"))
    assert keys(find_partners(identity_type="android_advertising_id", category="Advertising")) == [
        "custom_audiences", "meta_custom_audiences"]
    assert categories() == ["Advertising", "CRM", "Developer", "Email", "Files", "Messaging"]
    with pytest.raises(InvalidInput, match="oauth1"):
        find_partners(auth="oauth1")
    with pytest.raises(NotFound, match="facebook"):
        partner("facebook")


def test_settings_are_checked_field_by_field_with_messages():
    fields = partner("custom_audiences").all_configuration_fields
    with pytest.raises(SettingsProblems) as refused:
        clean_settings(fields, {"ad_account_id": "act_12", "api_url": "http://graph.example.com", "colour": "red",
                                "identity_types": "email,customer_id"})
    assert refused.value.problems == {
        "colour": "not a setting of this partner (known: ad_account_id, api_url, identity_types)",
        "ad_account_id": "Ad account ID is the account's number, without the act_ prefix",
        "api_url": "API URL must use https (plain http is only accepted for 127.0.0.1 or localhost)",
        "identity_types": "customer_id is not among: email, mobile_number, ios_idfa, android_advertising_id",
    }
    cleaned = clean_settings(fields, {"ad_account_id": " 123456 ", "identity_types": ["ios_idfa", "android_advertising_id"]})
    assert cleaned == {"ad_account_id": "123456", "api_url": "https://graph.facebook.com/v19.0",
                       "identity_types": ["ios_idfa", "android_advertising_id"]}


def test_required_fields_and_secrets_in_settings_are_refused():
    with pytest.raises(SettingsProblems) as refused:
        clean_settings(partner("webhook").all_configuration_fields + partner("webhook").secret_fields,
                       {"signing_secret": "s3cret"})
    assert refused.value.problems == {"url": "Endpoint URL is required",
                                      "signing_secret": "is a secret: it is kept in the keyring, not in settings"}


def test_file_export_defaults_to_csv_and_needs_an_absolute_folder():
    fields = partner("file_export").all_configuration_fields
    assert clean_settings(fields, {"folder": "/srv/exports"})["format"] == "csv"
    with pytest.raises(SettingsProblems, match="absolute folder"):
        clean_settings(fields, {"folder": "exports"})
    with pytest.raises(SettingsProblems, match="csv, parquet"):
        clean_settings(fields, {"folder": "/srv", "format": "xlsx"})


@pytest.mark.parametrize(("raw", "normal"), [
    ("  Ada@Example.COM ", "ada@example.com"), ("not-an-email", None), ("a@b", None),
])
def test_emails_are_trimmed_and_lowercased(raw, normal):
    assert normal_email(raw) == normal


@pytest.mark.parametrize(("raw", "normal"), [
    ("+1 (415) 555-0100", "14155550100"), ("0044 20 7946 0958", "442079460958"), ("415-555-0100", None),
    ("+1 415", None), ("+0 123456789", None),
    # Shaped like a number but not one any country issues: left out (libphonenumber's metadata, not a pattern).
    ("+12345678", None), ("+1 123 456 7890", None),
])
def test_phones_become_e164_digits(raw, normal):
    assert normal_phone(raw) == normal


def test_advertising_ids_are_lowercased_and_the_zero_id_is_left_out():
    assert normal_advertising_id("607258D9-C28B-43AD-95ED-E9593025D5A1") == "607258d9-c28b-43ad-95ed-e9593025d5a1"
    assert normal_advertising_id("00000000-0000-0000-0000-000000000000") is None
    assert normal_advertising_id("not-an-id") is None


def test_custom_audiences_receive_sha256_of_the_normal_form_only():
    assert hashed("email", " Ada@Example.com") == hashlib.sha256(b"ada@example.com").hexdigest()
    assert hashed("mobile_number", "+1 415 555 0100") == hashlib.sha256(b"14155550100").hexdigest()
    assert hashed("ios_idfa", "607258D9-C28B-43AD-95ED-E9593025D5A1") == hashlib.sha256(
        b"607258d9-c28b-43ad-95ed-e9593025d5a1").hexdigest()
    assert hashed("email", "nobody") is None


def test_a_preset_carries_its_sign_in_so_the_admin_enters_only_what_the_partner_issues(opened):
    from app.connectors.outputs.oauth_api import MICROSOFT_ENTRA

    entra = partner("oauth2_entra")
    assert entra.auth == "oauth2" and entra.oauth_endpoints is MICROSOFT_ENTRA
    asked = [f.key for f in entra.configuration_fields]
    assert asked == ["client_id", "scopes", "api_url"] and not entra.secret_fields
    output = opened.outputs.create("Our API", "oauth2_entra", {"client_id": "0f1e2d3c-aaaa-bbbb-cccc-123456789abc",
                                                              "api_url": "https://api.example.com/batches"})
    assert output.settings["scopes"] == "offline_access"  # the preset's scopes, editable
    client = opened.output_sign_in.oauth_client(output)
    assert (client.authorize_url, client.token_url) == (MICROSOFT_ENTRA.authorize_url, MICROSOFT_ENTRA.token_url)
    assert client.scopes == ("offline_access",) and client.client_id.startswith("0f1e2d3c")
    with pytest.raises(InvalidInput, match="authorize_url: not a setting of this partner"):
        opened.outputs.create("Elsewhere", "oauth2_entra", {"client_id": "x", "api_url": "https://a.example.com/b",
                                                           "authorize_url": "https://evil.example.com/auth"})
