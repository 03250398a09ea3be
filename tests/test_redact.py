"""Redaction removes tokens and cloud keys, and its scanner finds what it missed (both ways)."""

from tier7.report.redact import MARK, find_secrets, redact


def test_known_and_shaped_secrets_are_removed():
    token = "tk.acme." + "a1" * 20
    text = (f'{{"admin_token": "adm-0123456789", "token": "{token}", "secret": "abcdef1234"}}\n'
            f"Authorization: Bearer {token}\nAKIAABCDEFGHIJKLMNOP aws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n"
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqF==;\n"
            "my-cluster-secret-value\n")
    clean = redact(text, ["my-cluster-secret-value"])
    for secret in (token, "adm-0123456789", "abcdef1234", "AKIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI/K7MDENG",
                   "Eby8vdM02xNOcqF==", "my-cluster-secret-value"):
        assert secret not in clean, secret
    assert clean.count(MARK) >= 7
    assert "AccountName=devstoreaccount1" in clean  # not a secret
    assert find_secrets(clean, ["my-cluster-secret-value"]) == []


def test_scanner_fails_on_unredacted_text():
    token = "tk.acme." + "0f" * 20
    assert find_secrets(f"leaked {token}") == [token]
    assert find_secrets("x my-cluster-secret-value", ["my-cluster-secret-value"]) == ["my-cluster-secret-value"]
