"""Identity preparation against the partners' own published examples (Meta's "Hashing and normalization" for
Custom Audiences, Google Ads' "normalize and hash" for Customer Match)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.connectors import identity_prep as prep
from app.connectors.identity_prep import E164, E164_DIGITS, GOOGLE, META, Rules


def test_sha256_is_lower_hex_of_utf8_known_vector():
    # FIPS 180-2 test vector: SHA-256("abc").
    assert prep.sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize("raw, normal", [
    ("  John_Smith@Gmail.com ", "john_smith@gmail.com"),   # Meta: trim leading/trailing whitespace, lower-case
    ("Test@Example.com", "test@example.com"),
])
def test_meta_email_is_trimmed_and_lower_cased(raw, normal):
    assert prep.normal_form("email", raw, META) == normal
    assert prep.prepare("email", raw, META) == hashlib.sha256(normal.encode()).hexdigest()


@pytest.mark.parametrize("raw, normal", [
    (" Jane.Doe@gmail.com ", "janedoe@gmail.com"),          # Google: dots before @gmail.com are removed
    ("J.a.n.e@GoogleMail.com", "jane@googlemail.com"),
    ("jane.doe@example.com", "jane.doe@example.com"),       # ...only for Gmail addresses
])
def test_google_email_removes_gmail_dots_only_for_gmail(raw, normal):
    assert prep.normal_form("email", raw, GOOGLE) == normal


def test_meta_keeps_gmail_dots():
    assert prep.normal_form("email", "Jane.Doe@gmail.com", META) == "jane.doe@gmail.com"


@pytest.mark.parametrize("raw", ["", "not an email", "a@b", "two@@signs.com", ".@gmail.com"])
def test_what_is_not_an_email_is_left_out(raw):
    assert prep.prepare("email", raw, GOOGLE) is None


@pytest.mark.parametrize("raw, meta, google", [
    ("+1 (616) 954-78 88", "16169547888", "+16169547888"),   # Meta's example number
    ("+1 800 5550101", "18005550101", "+18005550101"),       # Google Ads' Customer Match example number
    ("+44 20 7946 0958", "442079460958", "+442079460958"),
    ("0044 20 7946 0958", "442079460958", "+442079460958"),  # 00 is the international prefix
])
def test_phone_formats_per_partner(raw, meta, google):
    assert prep.normal_form("mobile_number", raw, META) == meta
    assert prep.normal_form("mobile_number", raw, GOOGLE) == google
    assert prep.prepare("mobile_number", raw, META) == hashlib.sha256(meta.encode()).hexdigest()
    assert prep.prepare("mobile_number", raw, GOOGLE) == hashlib.sha256(google.encode()).hexdigest()


def test_number_without_country_code_needs_a_default_country():
    assert prep.phone("(415) 555-0100") is None
    assert prep.phone("(415) 555-0100", default_region="US") == "+14155550100"
    assert prep.prepare("mobile_number", "(415) 555-0100", Rules(default_region="US")) == \
        prep.prepare("mobile_number", "+1 415 555 0100", GOOGLE)


@pytest.mark.parametrize("raw", ["12345", "+1 000 000 0000", "call me", "+999 1234567"])
def test_invalid_numbers_are_left_out(raw):
    assert prep.phone(raw) is None


def test_device_ids_are_lower_cased_and_zero_ids_left_out():
    assert prep.device_id(" 6D92078A-8246-4BA4-AE5B-76104861E7DC ") == "6d92078a-8246-4ba4-ae5b-76104861e7dc"
    assert prep.device_id("00000000-0000-0000-0000-000000000000") is None
    assert prep.device_id("6D92078A-nope") is None
    assert prep.prepare("ios_idfa", "6D92078A-8246-4BA4-AE5B-76104861E7DC", META) == \
        hashlib.sha256(b"6d92078a-8246-4ba4-ae5b-76104861e7dc").hexdigest()


def test_an_already_hashed_value_passes_as_it_is_to_a_hashing_partner():
    digest = hashlib.sha256(b"test@example.com").hexdigest()
    assert prep.prepare("email", digest.upper(), GOOGLE) == digest
    # A partner that takes plain values gets no digest dressed as an email.
    assert prep.prepare("email", digest, Rules(hashed=False)) is None


def test_unknown_phone_format_is_refused():
    with pytest.raises(ValueError):
        Rules(phone_format="national")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["+1 415 555 0100", "+44 20 7946 0958", "+33 1 23 45 67 89", "+49 30 901820"]),
       st.sampled_from([E164, E164_DIGITS]))
def test_phone_normal_form_is_stable(raw, phone_format):
    once = prep.phone(raw, phone_format=phone_format)
    assert once is not None
    again = prep.phone(once if phone_format == E164 else "+" + once, phone_format=phone_format)
    assert again == once


@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9._]{1,12}@(gmail|googlemail|example)\.com", fullmatch=True),
       st.text(alphabet=" \t", max_size=3))
def test_email_normal_form_is_stable_and_ignores_spacing_and_case(address, pad):
    for rules in (META, GOOGLE):
        normal = prep.normal_form("email", pad + address.upper() + pad, rules)
        if normal is None:  # e.g. only dots before @gmail.com
            continue
        assert normal == normal.strip().lower()
        assert prep.normal_form("email", normal, rules) == normal
