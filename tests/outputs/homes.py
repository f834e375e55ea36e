"""Homes for output tests: profiles imported through the real importer, and an active audience over them."""

from __future__ import annotations

from app.engines.home import OpenHome
from tests.builder.test_compiler_examples import NOW, doc, profile
from tests.builder.workspaces import load

GOLD = doc({"id": "gold", "type": "user_attribute", "attribute": "loyalty_tier", "operator": "equals", "value": "gold"})


def idfa(n: int) -> str:
    """An IDFA as devices report it: upper case (partners want it lowercased)."""
    return f"{n:08X}-ABCD-4000-8000-{n:012X}"


def email(n: int) -> str:
    """An email as a CRM might hold it: padded and capitalised (partners want it trimmed and lowercased)."""
    return f" Member{n}@Example.COM"


def gold_member(n: int, *, tier: str = "gold", with_email: bool = False) -> dict:
    fields = {"user_attributes": {"loyalty_tier": tier}}
    if with_email:
        fields["user_identities"] = {"email": email(n)}
    return profile(n, device={"ios_advertising_id": idfa(n)}, **fields)


def identity_example(home: OpenHome):
    """The issue's example: 100 matching profiles all with an IDFA, 65 of them with an email.

    The IDFAs come from the US workspace the audience reads; the 65 emails were collected in the EU
    workspace for the same profiles (same mpid). 20 silver members, not in the audience, have both.
    """
    us = home.workspaces.create("US", [("platform", "iOS")])
    eu = home.workspaces.create("EU", [("platform", "iOS")])
    batches = [(us.id, gold_member(n)) for n in range(1, 101)]
    batches += [(eu.id, profile(n, user_identities={"email": email(n)})) for n in range(1, 66)]
    batches += [(us.id, gold_member(n, tier="silver", with_email=True)) for n in range(101, 121)]
    load(home.cache, batches)
    audience = home.audiences.create("Gold members", workspace_ids=[us.id], criteria=GOLD)
    home.audiences.activate(audience.id)
    return us, eu, home.audiences.get(audience.id)


def change_tiers(home: OpenHome, workspace_id: int, tiers: dict[int, str]) -> None:
    """Later batches that move profiles in or out of the gold audience."""
    load(home.cache, [(workspace_id, gold_member(n, tier=tier)) for n, tier in tiers.items()])


__all__ = ["NOW", "GOLD", "identity_example", "change_tiers", "idfa", "email", "gold_member"]
