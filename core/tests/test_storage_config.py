"""The environment picks the default storage; a missing setting fails with one line."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from core.storage import CLOUDINARY, GCS, LOCAL, S3, default_storage_config

pytest_plugins = ["core.tests.storage_servers"]


def given_env(monkeypatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_local_disk_is_the_default(clean_storage_env):
    config = default_storage_config()

    assert config == {"BACKEND": LOCAL.path}


def test_local_disk_when_cloud_storage_is_off_even_with_a_provider(clean_storage_env):
    given_env(clean_storage_env, USE_CLOUD_STORAGE="false", CLOUD_STORAGE_PROVIDER="s3")

    config = default_storage_config()

    assert config["BACKEND"] == LOCAL.path


def test_s3_reads_bucket_keys_endpoint_and_region(clean_storage_env):
    given_env(
        clean_storage_env,
        USE_CLOUD_STORAGE="true",
        CLOUD_STORAGE_PROVIDER="S3",
        CLOUD_STORAGE_BUCKET="files",
        CLOUD_STORAGE_ACCESS_KEY="key",
        CLOUD_STORAGE_SECRET_KEY="secret",
        CLOUD_STORAGE_ENDPOINT_URL="https://account.r2.cloudflarestorage.com",
        CLOUD_STORAGE_REGION="auto",
    )

    config = default_storage_config()

    client_config = config["OPTIONS"].pop("client_config")
    assert config == {
        "BACKEND": S3.path,
        "OPTIONS": {
            "bucket_name": "files",
            "access_key": "key",
            "secret_key": "secret",
            "endpoint_url": "https://account.r2.cloudflarestorage.com",
            "region_name": "auto",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 900,
            "file_overwrite": False,
        },
    }
    assert client_config.signature_version == "s3v4"
    assert client_config.s3 == {"addressing_style": None}


def test_s3_falls_back_to_the_aws_key_variables(clean_storage_env):
    given_env(
        clean_storage_env,
        USE_CLOUD_STORAGE="true",
        CLOUD_STORAGE_PROVIDER="s3",
        CLOUD_STORAGE_BUCKET="files",
        AWS_ACCESS_KEY_ID="aws-key",
        AWS_SECRET_ACCESS_KEY="aws-secret",
    )

    options = default_storage_config()["OPTIONS"]

    assert (options["access_key"], options["secret_key"]) == ("aws-key", "aws-secret")
    assert options["endpoint_url"] is None


def test_s3_reads_the_original_templates_key_and_secret_names(clean_storage_env):
    given_env(
        clean_storage_env,
        USE_CLOUD_STORAGE="true",
        CLOUD_STORAGE_PROVIDER="s3",
        CLOUD_STORAGE_BUCKET="files",
        CLOUD_STORAGE_KEY="template-key",
        CLOUD_STORAGE_SECRET="template-secret",
    )

    options = default_storage_config()["OPTIONS"]

    assert (options["access_key"], options["secret_key"]) == (
        "template-key",
        "template-secret",
    )


def test_s3_urls_are_presigned_for_file_url_expire_seconds(clean_storage_env):
    given_env(
        clean_storage_env,
        USE_CLOUD_STORAGE="true",
        CLOUD_STORAGE_PROVIDER="s3",
        CLOUD_STORAGE_BUCKET="files",
        CLOUD_STORAGE_ACCESS_KEY="key",
        CLOUD_STORAGE_SECRET_KEY="secret",
        CLOUD_STORAGE_ADDRESSING_STYLE="path",
        FILE_URL_EXPIRE_SECONDS="60",
    )

    options = default_storage_config()["OPTIONS"]

    assert (options["querystring_auth"], options["querystring_expire"]) == (True, 60)
    assert options["client_config"].s3 == {"addressing_style": "path"}


def test_s3_calls_are_bounded_by_safe_defaults(clean_storage_env):
    given_env(clean_storage_env, **S3_BASE)

    client_config = default_storage_config()["OPTIONS"]["client_config"]

    assert (client_config.connect_timeout, client_config.read_timeout) == (5, 10)
    assert client_config.retries == {"total_max_attempts": 2, "mode": "standard"}


def test_storage_timeouts_come_from_the_environment(clean_storage_env):
    given_env(
        clean_storage_env,
        **S3_BASE,
        CLOUD_STORAGE_CONNECT_TIMEOUT="2",
        CLOUD_STORAGE_TIMEOUT="3",
        CLOUD_STORAGE_ATTEMPTS="1",
    )

    client_config = default_storage_config()["OPTIONS"]["client_config"]

    assert (client_config.connect_timeout, client_config.read_timeout) == (2, 3)
    assert client_config.retries["total_max_attempts"] == 1


def test_gcs_takes_the_storage_timeouts_from_the_environment(
    clean_storage_env, gcs_key
):
    given_env(
        clean_storage_env,
        **GCS_BASE,
        GOOGLE_APPLICATION_CREDENTIALS=str(gcs_key[0]),
        CLOUD_STORAGE_CONNECT_TIMEOUT="2",
        CLOUD_STORAGE_TIMEOUT="3",
        CLOUD_STORAGE_ATTEMPTS="4",
    )

    options = default_storage_config()["OPTIONS"]

    assert (options["connect_timeout"], options["read_timeout"]) == (2, 3)
    assert options["attempts"] == 4


def test_a_zero_storage_timeout_is_refused(clean_storage_env):
    given_env(clean_storage_env, **S3_BASE, CLOUD_STORAGE_TIMEOUT="0")

    with pytest.raises(SystemExit) as refused:
        default_storage_config()

    assert "CLOUD_STORAGE_TIMEOUT" in str(refused.value)


def test_gcs_reads_bucket_key_file_and_custom_domain(clean_storage_env, gcs_key):
    key_file, _public_key = gcs_key
    given_env(
        clean_storage_env,
        USE_CLOUD_STORAGE="true",
        CLOUD_STORAGE_PROVIDER="gcs",
        CLOUD_STORAGE_BUCKET="files",
        GOOGLE_APPLICATION_CREDENTIALS=str(key_file),
        CLOUD_STORAGE_CUSTOM_DOMAIN="files.example.com",
    )

    config = default_storage_config()

    credentials = config["OPTIONS"].pop("credentials")
    assert credentials.service_account_email == (
        "gatehouse@gatehouse-test.iam.gserviceaccount.com"
    )
    assert config == {
        "BACKEND": GCS.path,
        "OPTIONS": {
            "bucket_name": "files",
            "custom_endpoint": "https://files.example.com",
            "default_acl": None,
            "querystring_auth": True,
            "expiration": timedelta(seconds=900),
            "file_overwrite": False,
            "connect_timeout": 5,
            "read_timeout": 10,
            "attempts": 2,
        },
    }


def test_gcs_refuses_credentials_without_a_private_key(clean_storage_env, tmp_path):
    user_credentials = tmp_path / "adc.json"
    user_credentials.write_text(
        '{"type": "authorized_user", "client_id": "c", "client_secret": "s",'
        ' "refresh_token": "r"}'
    )
    given_env(
        clean_storage_env,
        **GCS_BASE,
        GOOGLE_APPLICATION_CREDENTIALS=str(user_credentials),
    )

    with pytest.raises(SystemExit) as refused:
        default_storage_config()

    assert "service-account key" in str(refused.value)


def test_cloudinary_reads_cloudinary_url(clean_storage_env):
    given_env(
        clean_storage_env,
        USE_CLOUD_STORAGE="true",
        CLOUD_STORAGE_PROVIDER="cloudinary",
        CLOUDINARY_URL="cloudinary://1234:abcd@my-cloud",
    )

    config = default_storage_config()

    assert config == {
        "BACKEND": CLOUDINARY.path,
        "OPTIONS": {
            "cloud_name": "my-cloud",
            "api_key": "1234",
            "api_secret": "abcd",
            "url_expire_seconds": 900,
            "timeout": 10,
        },
    }


def test_cloudinary_url_path_names_a_private_cdn(clean_storage_env):
    given_env(
        clean_storage_env,
        USE_CLOUD_STORAGE="true",
        CLOUD_STORAGE_PROVIDER="cloudinary",
        CLOUDINARY_URL="cloudinary://1234:abcd@my-cloud/media.example.com",
    )

    options = default_storage_config()["OPTIONS"]

    assert options["private_cdn"] is True
    assert options["secure_distribution"] == "media.example.com"


def test_cloudinary_reads_separate_variables(clean_storage_env):
    given_env(
        clean_storage_env,
        USE_CLOUD_STORAGE="true",
        CLOUD_STORAGE_PROVIDER="cloudinary",
        CLOUDINARY_CLOUD_NAME="my-cloud",
        CLOUDINARY_API_KEY="1234",
        CLOUDINARY_API_SECRET="abcd",
        CLOUDINARY_UPLOAD_PREFIX="https://api-eu.cloudinary.com",
    )

    options = default_storage_config()["OPTIONS"]

    assert options == {
        "cloud_name": "my-cloud",
        "api_key": "1234",
        "api_secret": "abcd",
        "upload_prefix": "https://api-eu.cloudinary.com",
        "url_expire_seconds": 900,
        "timeout": 10,
    }


def test_cloudinary_reads_the_original_templates_key_and_secret_names(
    clean_storage_env,
):
    given_env(
        clean_storage_env,
        USE_CLOUD_STORAGE="true",
        CLOUD_STORAGE_PROVIDER="cloudinary",
        CLOUDINARY_CLOUD_NAME="my-cloud",
        CLOUD_STORAGE_KEY="1234",
        CLOUD_STORAGE_SECRET="abcd",
    )

    options = default_storage_config()["OPTIONS"]

    assert (options["api_key"], options["api_secret"]) == ("1234", "abcd")


S3_BASE = {
    "USE_CLOUD_STORAGE": "true",
    "CLOUD_STORAGE_PROVIDER": "s3",
    "CLOUD_STORAGE_BUCKET": "files",
    "CLOUD_STORAGE_ACCESS_KEY": "key",
    "CLOUD_STORAGE_SECRET_KEY": "secret",
}
GCS_BASE = {
    "USE_CLOUD_STORAGE": "true",
    "CLOUD_STORAGE_PROVIDER": "gcs",
    "CLOUD_STORAGE_BUCKET": "files",
}
CLOUDINARY_BASE = {"USE_CLOUD_STORAGE": "true", "CLOUD_STORAGE_PROVIDER": "cloudinary"}


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"USE_CLOUD_STORAGE": "true"}, "CLOUD_STORAGE_PROVIDER"),
        ({**S3_BASE, "CLOUD_STORAGE_PROVIDER": "azure"}, "'azure'"),
        ({**S3_BASE, "CLOUD_STORAGE_BUCKET": ""}, "CLOUD_STORAGE_BUCKET"),
        ({**S3_BASE, "CLOUD_STORAGE_ACCESS_KEY": ""}, "CLOUD_STORAGE_ACCESS_KEY"),
        ({**S3_BASE, "CLOUD_STORAGE_SECRET_KEY": ""}, "AWS_SECRET_ACCESS_KEY"),
        ({**S3_BASE, "CLOUD_STORAGE_ENDPOINT_URL": "minio:9000"}, "ENDPOINT_URL"),
        ({**S3_BASE, "CLOUD_STORAGE_ADDRESSING_STYLE": "dns"}, "ADDRESSING_STYLE"),
        (
            {**S3_BASE, "CLOUD_STORAGE_CUSTOM_DOMAIN": "cdn.example.com"},
            "CLOUD_STORAGE_CUSTOM_DOMAIN",
        ),
        ({**S3_BASE, "FILE_URL_EXPIRE_SECONDS": "0"}, "FILE_URL_EXPIRE_SECONDS"),
        ({**GCS_BASE, "CLOUD_STORAGE_BUCKET": ""}, "CLOUD_STORAGE_BUCKET"),
        (GCS_BASE, "GOOGLE_APPLICATION_CREDENTIALS"),
        (
            {**GCS_BASE, "CLOUD_STORAGE_ENDPOINT_URL": "http://127.0.0.1:9023"},
            "STORAGE_EMULATOR_HOST",
        ),
        (
            {**GCS_BASE, "GOOGLE_APPLICATION_CREDENTIALS": "/nowhere/key.json"},
            "GOOGLE_APPLICATION_CREDENTIALS",
        ),
        (CLOUDINARY_BASE, "CLOUDINARY_CLOUD_NAME"),
        (
            {
                **CLOUDINARY_BASE,
                "CLOUDINARY_CLOUD_NAME": "c",
                "CLOUDINARY_API_KEY": "k",
            },
            "CLOUDINARY_API_SECRET",
        ),
        ({**CLOUDINARY_BASE, "CLOUDINARY_URL": "https://k:s@c"}, "CLOUDINARY_URL"),
        (
            {**CLOUDINARY_BASE, "CLOUDINARY_URL": "cloudinary://k:s@c?secure=false"},
            "secure",
        ),
    ],
    ids=[
        "no-provider",
        "unknown-provider",
        "s3-no-bucket",
        "s3-no-key",
        "s3-no-secret",
        "s3-endpoint-without-scheme",
        "s3-bad-addressing-style",
        "s3-custom-domain",
        "url-expiry-zero",
        "gcs-no-bucket",
        "gcs-no-credentials",
        "gcs-endpoint-variable",
        "gcs-credentials-file-missing",
        "cloudinary-nothing",
        "cloudinary-no-secret",
        "cloudinary-url-wrong-scheme",
        "cloudinary-url-unknown-option",
    ],
)
def test_incomplete_cloud_settings_refuse_with_one_line_naming_the_variable(
    clean_storage_env, env, named
):
    given_env(clean_storage_env, **env)

    with pytest.raises(SystemExit) as refused:
        default_storage_config()

    message = str(refused.value)
    assert message.startswith("Gatehouse refuses to start:")
    assert named in message
    assert "\n" not in message


def test_settings_refuse_to_start_when_cloud_storage_is_incomplete(clean_storage_env):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}

    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=Path(settings.BASE_DIR),
        env={**env, "USE_CLOUD_STORAGE": "true", "CLOUD_STORAGE_PROVIDER": "s3"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Gatehouse refuses to start: CLOUD_STORAGE_BUCKET is not set; "
        "CLOUD_STORAGE_PROVIDER=s3 needs it."
    ]
