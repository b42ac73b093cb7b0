"""Callout signatures are Standard Webhooks signatures: the reference library accepts them."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from asyncgate.notifications.callout_settings import generate_signing_secret
from asyncgate.notifications.signing import signature_headers

BODY = b'{"createTime":"2021-10-03T10:33:12Z","state":"succeeded"}'


class TestSignatureHeaders:
    def test_the_reference_verifier_accepts_a_signed_callout(self):
        secret = generate_signing_secret()
        headers = signature_headers([secret], "msg_1", int(time.time()), BODY)

        assert Webhook(secret).verify(BODY, headers) == {
            "createTime": "2021-10-03T10:33:12Z",
            "state": "succeeded",
        }
        assert headers["webhook-id"] == "msg_1"

    def test_each_secret_in_its_grace_period_signs_too(self):
        current, previous = generate_signing_secret(), generate_signing_secret()
        headers = signature_headers([current, previous], "msg_2", int(time.time()), BODY)

        assert len(headers["webhook-signature"].split(" ")) == 2
        for secret in (current, previous):
            Webhook(secret).verify(BODY, headers)

    def test_another_secret_or_another_body_is_refused(self):
        headers = signature_headers([generate_signing_secret()], "msg_3", int(time.time()), BODY)

        with pytest.raises(WebhookVerificationError):
            Webhook(generate_signing_secret()).verify(BODY, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(generate_signing_secret()).verify(BODY + b" ", headers)

    def test_without_secrets_nothing_is_signed(self):
        assert signature_headers([], "msg_4", int(time.time()), BODY) == {}
