"""The publisher's sign-on with an RSA key pair (RS256): a site with `sso_public_key` takes RS256
tokens verified with it and nothing else — not HS256 signed with the public key as a secret
(algorithm confusion), not its shared secret, not `alg: none`, not another key's token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import func, select
from starlette.testclient import TestClient

from townsquare.config import SiteSettings
from townsquare.domain import sso
from townsquare.errors import Invalid
from townsquare.site_config import check
from townsquare.store.tables import identities, reader_sessions

from .conftest import LENIENT
from .moderation_support import add_site, moderation_app

SECRET = "publisher-shared-secret-of-at-least-32-chars"


def pem(key) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = pem(PRIVATE)


def claims(site="daily") -> dict:
    now = int(time.time())
    return {"sub": "u-9", "name": "Rae Reporter", "aud": site, "iat": now, "exp": now + 600, "badges": ["editor"]}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with(secret: bytes, body: dict) -> str:
    """An HS256 token made by hand with any bytes as the secret (PyJWT refuses a PEM key as one)."""
    signing = b64(orjson.dumps({"alg": "HS256", "typ": "JWT"})) + "." + b64(orjson.dumps(body))
    return signing + "." + b64(hmac.new(secret, signing.encode(), hashlib.sha256).digest())


def unsigned(body: dict) -> str:
    return b64(orjson.dumps({"alg": "none", "typ": "JWT"})) + "." + b64(orjson.dumps(body)) + "."


@pytest.fixture
def app(engine, settings):
    # Both set: the key decides, and the shared secret no longer signs anyone in.
    add_site(engine, "daily", moderation_rules=LENIENT, sso_public_key=PUBLIC_PEM, sso_secret=SECRET)
    with TestClient(moderation_app(settings, engine), base_url="http://testserver") as c:
        c.engine = engine
        yield c


def sign_in(app, token):
    return app.post("/api/v1/auth/sso", json={"site": "daily", "token": token})


def stored(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(identities)).scalar_one(),
                conn.execute(select(func.count()).select_from(reader_sessions)).scalar_one())


def test_an_rs256_token_signed_with_the_private_key_signs_in(app):
    resp = sign_in(app, jwt.encode(claims(), PRIVATE, algorithm="RS256"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["user"]["name"] == "Rae Reporter" and resp.json()["user"]["badges"] == ["editor"]


@pytest.mark.parametrize("forged", [
    pytest.param(lambda: hs256_with(PUBLIC_PEM.encode(), claims()), id="hs256-with-the-public-key-as-secret"),
    pytest.param(lambda: hs256_with(PUBLIC_PEM.strip().encode(), claims()), id="hs256-with-the-trimmed-public-key"),
    pytest.param(lambda: jwt.encode(claims(), SECRET, algorithm="HS256"), id="hs256-with-the-shared-secret"),
    pytest.param(lambda: unsigned(claims()), id="alg-none"),
    pytest.param(lambda: jwt.encode(claims(), OTHER, algorithm="RS256"), id="rs256-by-another-key"),
    pytest.param(lambda: jwt.encode(claims(), PRIVATE, algorithm="RS512"), id="rs512"),
    pytest.param(lambda: jwt.encode(claims(), PRIVATE, algorithm="PS256"), id="ps256"),
    pytest.param(lambda: jwt.encode(claims("other"), PRIVATE, algorithm="RS256"), id="another-site"),
])
def test_every_other_token_is_refused_with_a_401_and_nothing_stored(app, forged):
    resp = sign_in(app, forged())
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert stored(app.engine) == (0, 0)


def test_the_algorithm_confusion_is_refused_by_the_verifier_itself():
    with pytest.raises(sso.SsoError, match="must be signed with RS256"):
        sso.verify(hs256_with(PUBLIC_PEM.encode(), claims()), public_key_pem=PUBLIC_PEM, secret=SECRET, site="daily")
    # Without a key the secret is HS256's, and RS256 tokens are refused there.
    with pytest.raises(sso.SsoError, match="must be signed with HS256"):
        sso.verify(jwt.encode(claims(), PRIVATE, algorithm="RS256"), secret=SECRET, site="daily")
    assert sso.verify(jwt.encode(claims(), PRIVATE, algorithm="RS256"), public_key_pem=PUBLIC_PEM,
                      site="daily").subject == "u-9"


@pytest.mark.parametrize("value, words", [
    ("not a key", "not a PEM public key"),
    (pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)), "at least 2048 bits"),
    (pem(ec.generate_private_key(ec.SECP256R1())), "RSA public key"),
    ("x" * 10_001, "at most 10000 characters"),
])
def test_a_site_key_that_is_not_a_usable_rsa_public_key_is_refused(value, words):
    with pytest.raises(Invalid, match=words):
        check(SiteSettings(), {"sso_public_key": value})
    assert check(SiteSettings(), {"sso_public_key": PUBLIC_PEM}).sso_public_key == PUBLIC_PEM
