"""With JWT_PUBLIC_KEY set, tokens are verified as RS256 and HS256 tokens are refused."""

import dataclasses
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from falcon import testing

from api.app import create_app
from jobs.tokens import issue_token
from tests.conftest import SETTINGS


@pytest.fixture(scope="module")
def rsa_keys():
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public_pem.decode()


@pytest.fixture
def rs256_client(rsa_keys, redis_client):
    app = create_app(dataclasses.replace(SETTINGS, jwt_public_key=rsa_keys[1]), redis_client)
    yield testing.TestClient(app)
    app.close()


def test_an_rs256_token_from_the_identity_provider_is_accepted(rs256_client, rsa_keys):
    # Given a token signed with the provider's private key
    token = jwt.encode({"sub": str(uuid.uuid4()), "exp": int(time.time()) + 60}, rsa_keys[0],
                       algorithm="RS256")
    # When it is used, Then the API authenticates the caller (404: no profile yet, not 401)
    response = rs256_client.simulate_get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404 and response.json["code"] == "no_profile"


def test_an_hs256_token_is_refused_when_rs256_is_configured(rs256_client):
    token = issue_token(SETTINGS, str(uuid.uuid4()))
    response = rs256_client.simulate_get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.json["code"] == "unauthorized"
