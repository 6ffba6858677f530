"""Token-signing keys: generated here (joserfc, authlib's JOSE library), stored by
``idp.store`` with the private part encrypted by the data cipher. ES256 by default."""

from __future__ import annotations

import json
from dataclasses import dataclass

from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey


@dataclass(frozen=True)
class GeneratedKey:
    kid: str
    alg: str
    public_jwk: str
    private_pem: str


def generate(alg: str = "ES256") -> GeneratedKey:
    key: ECKey | RSAKey
    if alg == "ES256":
        key = ECKey.generate_key("P-256")
    elif alg == "RS256":
        key = RSAKey.generate_key(2048)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    kid = key.thumbprint()
    public = dict(key.as_dict(private=False))
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    pem = key.as_pem(private=True).decode("ascii")
    return GeneratedKey(kid=kid, alg=alg, public_jwk=json.dumps(public), private_pem=pem)
