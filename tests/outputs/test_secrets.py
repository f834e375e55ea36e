"""Output secrets in the real Secret Service (gnome-keyring): split into parts, joined back, and never in plain text unasked."""

from __future__ import annotations

import stat
import time

import pytest
from keyring.backends import fail

from app.connectors.outputs.secrets import PART_CHARS, PLAINTEXT_ENV, KeyringUnavailable, SecretStore, service_name

TEN_KB_TOKEN = "".join(chr(ord("a") + i % 26) for i in range(10_240))


def test_a_short_secret_is_one_keyring_entry(secrets, secret_service):
    secrets.save("cfg-short", "api_key", "key-123-us6")
    assert secrets.load("cfg-short", "api_key") == "key-123-us6"
    assert secret_service.get_password(service_name("cfg-short"), "api_key") == "=key-123-us6"
    assert secret_service.get_password(service_name("cfg-short"), "api_key#1") is None


def test_a_10_kb_token_is_split_into_parts_that_fit_windows_and_joined_back(secrets, secret_service):
    secrets.save("cfg-long", "oauth_tokens", TEN_KB_TOKEN)
    assert secrets.load("cfg-long", "oauth_tokens") == TEN_KB_TOKEN
    service = service_name("cfg-long")
    parts = [secret_service.get_password(service, f"oauth_tokens#{i}") for i in range(1, 12)]
    assert secret_service.get_password(service, "oauth_tokens") == "parts:11"
    # Windows' Credential Manager holds 2,560 bytes of UTF-16: 1,280 characters.
    assert all(part is not None and len(part.encode("utf-16-le")) <= 2560 for part in parts)
    assert max(len(p) for p in parts) == PART_CHARS


def test_replacing_a_long_secret_with_a_short_one_leaves_no_stale_parts(secrets, secret_service):
    secrets.save("cfg-shrink", "oauth_tokens", TEN_KB_TOKEN)
    secrets.save("cfg-shrink", "oauth_tokens", "short")
    assert secrets.load("cfg-shrink", "oauth_tokens") == "short"
    assert secret_service.get_password(service_name("cfg-shrink"), "oauth_tokens#1") is None


def test_deleting_removes_every_part(secrets, secret_service):
    secrets.save("cfg-delete", "oauth_tokens", TEN_KB_TOKEN)
    secrets.delete("cfg-delete", "oauth_tokens")
    assert secrets.load("cfg-delete", "oauth_tokens") is None
    assert all(secret_service.get_password(service_name("cfg-delete"), f"oauth_tokens#{i}") is None for i in range(1, 12))
    secrets.delete("cfg-delete", "oauth_tokens")  # deleting what is gone is fine


def test_each_configuration_has_its_own_service(secrets):
    secrets.save("cfg-a", "api_key", "one")
    secrets.save("cfg-b", "api_key", "two")
    assert (secrets.load("cfg-a", "api_key"), secrets.load("cfg-b", "api_key")) == ("one", "two")


def test_without_a_keyring_the_app_says_what_to_do_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(PLAINTEXT_ENV, raising=False)
    file = tmp_path / "UNENCRYPTED-output-secrets.json"
    store = SecretStore(fail.Keyring(), plaintext_file=file)
    with pytest.raises(KeyringUnavailable, match="no usable keyring.*GNOME Keyring.*" + PLAINTEXT_ENV):
        store.save("cfg", "api_key", "s3cret")
    with pytest.raises(KeyringUnavailable):
        store.load("cfg", "api_key")
    assert list(tmp_path.iterdir()) == []
    assert store.describe() == "nowhere: no keyring is available"


def test_opting_in_keeps_secrets_in_a_file_only_its_owner_can_read(tmp_path, monkeypatch):
    monkeypatch.setenv(PLAINTEXT_ENV, "1")
    file = tmp_path / "UNENCRYPTED-output-secrets.json"
    store = SecretStore(fail.Keyring(), plaintext_file=file)
    store.save("cfg", "api_key", "s3cret")
    store.save("cfg", "oauth_tokens", TEN_KB_TOKEN)
    assert store.load("cfg", "api_key") == "s3cret"
    assert store.load("cfg", "oauth_tokens") == TEN_KB_TOKEN
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert "unencrypted file" in store.describe()
    store.delete("cfg", "api_key")
    assert store.load("cfg", "api_key") is None


def test_the_test_keyring_comes_back_unlocked_with_its_secrets_when_its_daemon_exits(secrets, secret_service_session):
    # The fixture behind every keyring test (tests/conftest.py): a daemon found gone is restarted, never
    # replaced by a locked one, and what was stored in the keyring files survives.
    service, _ = secret_service_session
    secrets.save("cfg-restart", "api_key", "kept")
    service.daemon.terminate()
    service.daemon.wait(timeout=10)
    said = service.ensure_running()
    assert said is not None and "had exited" in said
    assert service.ensure_running() is None  # running now: nothing to do
    for _ in range(100):  # the new daemon registers on the bus
        try:
            assert secrets.load("cfg-restart", "api_key") == "kept"
            break
        except KeyringUnavailable:
            time.sleep(0.1)
    else:
        pytest.fail("the restarted daemon never answered")
    secrets.save("cfg-restart", "api_key", "changed")
    assert secrets.load("cfg-restart", "api_key") == "changed"
