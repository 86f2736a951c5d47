"""``ClientConfig`` built directly: a bad key or base URL is refused without echoing the key."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_provider_codat.client import ClientConfig

TOKEN = "c2stbGl2ZS1UT1BTRUNSRVQ="


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"api_key": f"Basic {TOKEN}\u00e9"}, "api_key"),
        ({"api_key": f"Basic {TOKEN}\nX-Forwarded-For: 1"}, "api_key"),
        ({"api_key": f"Basic {TOKEN}", "base_url": f"https://Basic {TOKEN}.example"}, "base_url"),
    ],
)
def test_a_refusal_names_the_field_and_not_the_key(settings: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ClientConfig(**settings)
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]
    text = f"{caught.value} {caught.value!r}"
    assert TOKEN not in text
