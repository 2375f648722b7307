"""S3 storage: objects in one bucket, downloaded straight from the object store through presigned URLs.

Needs the `s3` extra (boto3). Works with AWS S3 and S3-compatible stores (SeaweedFS, MinIO, ...):
path-style addressing and signature v4 throughout.

Retention: each domain's expiry sweep deletes its expired objects itself (delete_prefix, delete_older_than); on
top of it `ensure_bucket` puts one lifecycle rule per prefix of `pixmill.adapters.storage.keys.PREFIXES` on the
bucket as a backstop. S3 lifecycle rules count in whole days from an object's creation, so a lifetime is rounded up
to whole days; objects can outlive their retention by up to a day (plus the store's own lifecycle scan delay) when
only the lifecycle rules remove them.
"""

from __future__ import annotations

import functools
import logging
import math
import mimetypes
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO, ParamSpec, TypeVar
from urllib.parse import quote

from pixmill.adapters.storage import ObjectNotFound, StorageUnavailable
from pixmill.adapters.storage.keys import Retention, check_key, expiring_prefixes, lifecycle_days
from pixmill.config import Settings

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as S3ConnectionError
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the S3 storage needs boto3: install pixmill with the s3 extra (pip install 'pixmill[s3]')"
    ) from exc

log = logging.getLogger("pixmill.storage.s3")

MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # S3's limit for a signature v4 presigned URL
_RULE_ID_PREFIX = "pixmill-expire-"
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
_NO_BUCKET = {"404", "NoSuchBucket", "NotFound"}
_DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or an error it was raised from) says the store is down: no connection, a timeout, a 5xx."""
    seen: BaseException | None = exc
    for _ in range(5):  # boto3's transfer manager wraps the client's error (S3UploadFailedError from it)
        if seen is None:
            return False
        if isinstance(seen, (S3ConnectionError, HTTPClientError)):  # EndpointConnectionError, ReadTimeoutError ...
            return True
        if isinstance(seen, ClientError):
            return int(seen.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0) >= 500
        seen = seen.__cause__ or seen.__context__
    return False


_P = ParamSpec("_P")
_R = TypeVar("_R")


def port_error(exc: Exception) -> Exception:
    """The port's StorageUnavailable (a transient error) for an error that says the store is down, else `exc`."""
    if not unreachable(exc):
        return exc
    return StorageUnavailable(f"the object store is unreachable ({type(exc).__name__}: {exc})")


def _outage_is_typed(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Raise StorageUnavailable where the store cannot be reached, so callers need not know botocore's errors."""

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            typed = port_error(exc)
            if typed is exc:
                raise
            raise typed from exc

    return wrapper


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _content_disposition(filename: str) -> str:
    """An inline Content-Disposition naming `filename`, with an RFC 5987 form for non-ASCII names."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
    value = f'inline; filename="{plain}"'
    if plain != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


class S3Storage:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        retention: Retention | None = None,
    ) -> None:
        self.bucket = bucket
        self.region = region
        self.retention = retention or Retention()
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        return cls(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            retention=Retention.from_settings(settings),
        )

    # -- the Storage protocol ------------------------------------------------------------------------------------

    @_outage_is_typed
    def put(self, key: str, data: bytes, media_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=media_type)

    @_outage_is_typed
    def put_file(self, key: str, fh: BinaryIO, media_type: str) -> None:
        from boto3.s3.transfer import TransferConfig

        fh.seek(0)
        # a single PUT up to 16 MB, multipart above it, one part in memory at a time
        transfer = TransferConfig(
            multipart_threshold=16 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, use_threads=False
        )
        self.client.upload_fileobj(
            fh, self.bucket, check_key(key), ExtraArgs={"ContentType": media_type}, Config=transfer
        )

    @_outage_is_typed
    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                raise ObjectNotFound(key) from None
            raise
        body = response["Body"]
        try:
            data: bytes = body.read()
        finally:
            body.close()
        return data

    @_outage_is_typed
    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                return False
            raise
        return True

    @_outage_is_typed
    def delete_prefix(self, prefix: str) -> int:
        """Delete the object named `prefix` and every object under `prefix/` (like a file or a directory)."""
        base = check_key(prefix.rstrip("/"))
        return self._delete([obj["Key"] for obj in self._under(base)])

    @_outage_is_typed
    def delete_older_than(self, prefix: str, cutoff: datetime) -> int:
        """Delete the objects under `prefix/` last written before `cutoff`."""
        base = check_key(prefix.rstrip("/"))
        limit = _utc(cutoff)
        return self._delete(
            [obj["Key"] for obj in self._under(base) if obj["Key"] != base and _utc(obj["LastModified"]) < limit]
        )

    def signed_url(self, key: str, expires_at: datetime, base_url: str, filename: str | None = None) -> str:
        """A presigned GET URL valid until `expires_at` (at most 7 days, S3's limit); `base_url` is not used.

        Made anew on every call: a presigned URL's lifetime runs from its signing time.
        """
        seconds = math.ceil((_utc(expires_at) - datetime.now(UTC)).total_seconds())
        params: dict[str, str] = {"Bucket": self.bucket, "Key": check_key(key)}
        if filename:
            params["ResponseContentDisposition"] = _content_disposition(filename)
            media_type = mimetypes.guess_type(filename)[0]
            if media_type:
                params["ResponseContentType"] = media_type
        url: str = self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=min(max(seconds, 1), MAX_PRESIGN_SECONDS)
        )
        return url

    @_outage_is_typed
    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    # -- setup ---------------------------------------------------------------------------------------------------

    @_outage_is_typed
    def ensure_bucket(self) -> bool:
        """Create the bucket if it is missing and put pixmill's expiry rules on it.

        Returns whether the lifecycle rules are in place: a store that refuses lifecycle configuration only
        gets a warning logged (the cleanup task still deletes expired objects).
        """
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if _code(exc) not in _NO_BUCKET:
                raise
            self._create_bucket()
        return self._put_lifecycle()

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        """pixmill's expiry rules: one per expiring prefix of storage.keys, in whole days (S3 has no finer unit)."""
        return [
            {
                "ID": _RULE_ID_PREFIX + prefix.name,
                "Status": "Enabled",
                "Filter": {"Prefix": prefix.path},
                "Expiration": {"Days": lifecycle_days(lifetime)},
            }
            for prefix, lifetime in expiring_prefixes(self.retention)
        ]

    # -- helpers -------------------------------------------------------------------------------------------------

    def _create_bucket(self) -> None:
        args: dict[str, Any] = {"Bucket": self.bucket}
        if self.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(**args)
        except ClientError as exc:
            if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        log.info("created bucket", extra={"bucket": self.bucket})

    def _put_lifecycle(self) -> bool:
        try:
            existing = self.client.get_bucket_lifecycle_configuration(Bucket=self.bucket).get("Rules", [])
        except ClientError:
            existing = []  # none yet (NoSuchLifecycleConfiguration), or the store cannot say
        kept = [rule for rule in existing if not str(rule.get("ID", "")).startswith(_RULE_ID_PREFIX)]
        wanted = kept + self.lifecycle_rules()
        if wanted == existing:  # every worker process starts with this: no write when nothing changes
            return True
        try:
            self.client.put_bucket_lifecycle_configuration(Bucket=self.bucket, LifecycleConfiguration={"Rules": wanted})
        except ClientError as exc:
            log.warning(
                "the object store refused the lifecycle rules; expired objects are removed by the cleanup task only",
                extra={"bucket": self.bucket, "error": _code(exc) or str(exc)},
            )
            return False
        return True

    def _under(self, base: str) -> Iterator[dict[str, Any]]:
        """The objects named `base` or under `base/`."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
            for obj in page.get("Contents", []):
                if obj["Key"] == base or obj["Key"].startswith(base + "/"):
                    yield obj

    def _delete(self, keys: list[str]) -> int:
        deleted = 0
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            response = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise OSError(f"could not delete {len(errors)} object(s), e.g. {first.get('Key')}: {first.get('Code')}")
            deleted += len(batch)
        return deleted
