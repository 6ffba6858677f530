"""Token-signing keys: generated here, stored by ``idp.store`` with the private part
encrypted by the data cipher. ES256 (P-256) by default."""

from __future__ import annotations

import json
from dataclasses import dataclass

from authlib.jose import JsonWebKey


@dataclass(frozen=True)
class GeneratedKey:
    kid: str
    alg: str
    public_jwk: str
    private_pem: str


def generate(alg: str = "ES256") -> GeneratedKey:
    if alg == "ES256":
        key = JsonWebKey.generate_key("EC", "P-256", is_private=True)
    elif alg == "RS256":
        key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    kid = key.thumbprint()
    public = key.as_dict(is_private=False)
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    pem = key.as_pem(is_private=True).decode("ascii")
    return GeneratedKey(kid=kid, alg=alg, public_jwk=json.dumps(public), private_pem=pem)
