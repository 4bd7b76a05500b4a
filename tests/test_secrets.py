import pytest

from embedtune.secrets import read_api_key


class Missing(Exception):
    pass


def test_key_from_the_named_variable_stays_secret(monkeypatch):
    monkeypatch.setenv("EMBEDTUNE_TEST_KEY", "sk-test-123")
    key = read_api_key("generation", zenml_secret=None, env_var="EMBEDTUNE_TEST_KEY", error=Missing)
    assert key.get_secret_value() == "sk-test-123"
    assert "sk-test-123" not in repr(key) and "sk-test-123" not in str(key)


def test_unset_variable_names_the_config_field_and_the_hint(monkeypatch):
    monkeypatch.delenv("EMBEDTUNE_TEST_KEY", raising=False)
    with pytest.raises(Missing, match=r"argilla\.api_key_env names \$EMBEDTUNE_TEST_KEY.*run argilla-up"):
        read_api_key("argilla", zenml_secret=None, env_var="EMBEDTUNE_TEST_KEY", error=Missing,
                     hint="run argilla-up")


def test_nothing_named_means_no_key():
    assert read_api_key("generation", zenml_secret=None, env_var=None, error=Missing) is None


def test_missing_zenml_secret_says_how_to_create_it():  # the session store (tests/conftest.py)
    with pytest.raises(Missing, match=r"'no-such-secret' \(generation\.zenml_secret\) does not exist.*"
                                      r"zenml secret create no-such-secret"):
        read_api_key("generation", zenml_secret="no-such-secret", env_var=None, error=Missing)
