"""Secret hashing: bcrypt over an HMAC keyed by the pepper."""

import bcrypt
import pytest

from cgos import passwords

PEPPER = "pepper"


def test_a_hash_verifies_its_secret_only():
    hashed = passwords.hash_secret("482915", PEPPER, 4)
    assert passwords.verify_secret("482915", hashed, PEPPER)
    assert not passwords.verify_secret("482916", hashed, PEPPER)


def test_the_database_alone_does_not_yield_the_pin():
    """Without the pepper, trying all million PINs with bcrypt finds nothing."""
    hashed = passwords.hash_secret("482915", PEPPER, 4)
    assert not bcrypt.checkpw(b"482915", hashed.encode())
    assert not passwords.verify_secret("482915", hashed, "another pepper")


def test_the_configured_cost_is_used():
    assert passwords.hash_secret("1", PEPPER, 5).startswith("$2b$05$")


def test_secrets_of_one_agent_can_share_a_salt():
    personal = passwords.hash_secret("482915", PEPPER, 4)
    provisional = passwords.hash_secret("739154", PEPPER, 4, salt_of=personal)
    assert provisional[:29] == personal[:29]
    computed = passwords.compute_with_salt_of("739154", PEPPER, personal)
    assert passwords.same_hash(computed, provisional)
    assert not passwords.same_hash(computed, personal)


@pytest.mark.parametrize("secret", ["", "a" * 200, "\x00abc", "é€"])
def test_any_secret_can_be_hashed(secret):
    hashed = passwords.hash_secret(secret, PEPPER, 4)
    assert passwords.verify_secret(secret, hashed, PEPPER)


def test_long_secrets_are_not_truncated_by_bcrypt():
    base = "x" * 80
    hashed = passwords.hash_secret(base + "1", PEPPER, 4)
    assert not passwords.verify_secret(base + "2", hashed, PEPPER)


def test_keyed_digest_depends_on_pepper_and_purpose():
    assert passwords.keyed_digest("1", PEPPER, "nir") == passwords.keyed_digest("1", PEPPER, "nir")
    assert passwords.keyed_digest("1", PEPPER, "nir") != passwords.keyed_digest("1", "other", "nir")
    assert passwords.keyed_digest("1", PEPPER, "nir") != passwords.keyed_digest("1", PEPPER, "x")
