"""TLS material for the inter-node transport (issue 13): one self-signed certificate per cluster, made at
``init`` in ``<cluster folder>/tls/`` (never committed: results/ and tmp folders only).

The certificate names the cluster's host (an IP SAN) and ``testbed.internal`` (DNS SAN); every node serves
it on its transport listener (HTTP/2 over TLS and HTTP/3 over QUIC) and every node trusts exactly it. The
key file is written 0600; the harness's driver lists the key's text among the secrets redacted from
evidence.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

SERVER_NAME = "testbed.internal"
VALID_DAYS = 30


def make_cluster_tls(directory: Path, host: str) -> dict[str, str]:
    """Write ``cert.pem`` and ``key.pem`` (EC P-256) under ``directory/tls``; returns their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = directory / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    alt: list[x509.GeneralName] = [x509.DNSName(SERVER_NAME)]
    try:
        alt.append(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt.append(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    return {"cert": str(cert_path.resolve()), "key": str(key_path.resolve()), "server_name": SERVER_NAME}
