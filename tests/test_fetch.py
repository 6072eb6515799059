"""The fetch stage: verified sources, refusal of bad files, nothing left behind."""

import dataclasses
import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from reprozoo.data import fetch, mnist, registry
from reprozoo.data.registry import Dataset, FileSpec
from reprozoo.errors import DataError
from reprozoo.io import sha256_file


def fake_mirror(tmp_path: Path, real_mirror: Path, mutate=None) -> Path:
    """A copy of the SMS data set's mirror layout, optionally corrupted by `mutate`."""
    m = tmp_path / "mirror"
    (m / "sms-spam").mkdir(parents=True)
    target = m / "sms-spam" / "SMSSpamCollection"
    shutil.copyfile(real_mirror / "sms-spam" / "SMSSpamCollection", target)
    if mutate:
        mutate(target)
    return m


def test_mirror_fetch_verifies_and_writes_manifest(tmp_path, mirror):
    dest = tmp_path / "raw" / "sms-spam"
    sources = fetch.fetch(registry.get("sms-spam"), dest, mirror=mirror, offline=True)
    assert sources["SMSSpamCollection"].startswith("mirror")
    assert sha256_file(dest / "SMSSpamCollection") == registry.get("sms-spam").files[0].sha256
    manifest = (dest / "MANIFEST.json").read_text()
    assert "CC BY 4.0" in manifest and "mirror" not in manifest  # source-independent output


def test_every_registered_mirror_file_matches_its_pinned_hash(tmp_path, mirror):
    """The registry's SHA-256s are the mirror README's (all data sets fetch offline)."""
    for name in ("mnist-5k", "tatoeba", "movielens", "sms-spam", "groceries"):
        fetch.fetch(registry.get(name), tmp_path / name, mirror=mirror, offline=True)


@pytest.mark.parametrize("mutate, what", [
    (lambda p: p.write_bytes(p.read_bytes()[:1000]), "truncated"),
    (lambda p: p.write_bytes(p.read_bytes().replace(b"ham", b"spam", 1)), "corrupted"),
])
def test_bad_mirror_file_is_refused_and_nothing_is_left(tmp_path, mirror, mutate, what):
    m = fake_mirror(tmp_path, mirror, mutate)
    dest = tmp_path / "raw" / "sms-spam"
    with pytest.raises(DataError) as exc:
        fetch.fetch(registry.get("sms-spam"), dest, mirror=m, offline=True)
    msg = str(exc.value)
    spec = registry.get("sms-spam").files[0]
    assert "SMSSpamCollection" in msg and spec.sha256 in msg          # file and expected hash
    assert sha256_file(m / "sms-spam" / "SMSSpamCollection") in msg  # actual hash
    assert "mirror" in msg                                             # source
    assert list((tmp_path / "raw").iterdir()) == []                    # nothing behind


def test_failed_fetch_keeps_the_previous_good_copy(tmp_path, mirror):
    dest = tmp_path / "raw" / "sms-spam"
    fetch.fetch(registry.get("sms-spam"), dest, mirror=mirror, offline=True)
    bad = fake_mirror(tmp_path, mirror, lambda p: p.write_text("x"))
    with pytest.raises(DataError):
        fetch.fetch(registry.get("sms-spam"), dest, mirror=bad, offline=True)
    assert sorted(p.name for p in (tmp_path / "raw").iterdir()) == ["sms-spam"]
    assert sha256_file(dest / "SMSSpamCollection") == registry.get("sms-spam").files[0].sha256


def test_no_mirror_and_no_network_says_how_to_fix(tmp_path):
    with pytest.raises(DataError) as exc:
        fetch.fetch(registry.get("groceries"), tmp_path / "g", mirror=None, offline=True)
    assert "REPROZOO_DATA_MIRROR" in str(exc.value) and "online" in str(exc.value)


def test_unreachable_url_fails_after_retries_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "RETRY_WAIT_S", 0.01)
    ds = Dataset("x", "x", "x", (FileSpec("f.txt", sha256="0" * 64,
                                          urls=("http://127.0.0.1:9/f.txt",)),))
    with pytest.raises(DataError, match="download failed .*127.0.0.1:9.*REPROZOO_DATA_MIRROR"):
        fetch.fetch(ds, tmp_path / "x", mirror=None)
    assert not any(tmp_path.iterdir())


def test_mirror_that_is_not_a_directory(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        fetch.fetch(registry.get("groceries"), tmp_path / "g", mirror=tmp_path / "nope")


def test_fetch_stage_exits_1_with_one_line_error(tmp_path):
    from conftest import run_stage

    (tmp_path / "params.yaml").write_text("fetch: {mnist_variant: mnist-5k}\n")
    proc = run_stage("fetch.py", "groceries", "--offline", cwd=tmp_path,
                     env={"REPROZOO_DATA_MIRROR": ""})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: groceries.csv: no source")
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- full MNIST (payload hashes)
# The mirror's mnist/*.gz were recompressed (gzip -n -9): their bytes differ from the
# canonical downloads', their decompressed IDX bytes do not. The registry verifies those.

def mnist_files(*names: str) -> Dataset:
    """The registered full MNIST restricted to `names` (small files keep the tests fast)."""
    ds = registry.get("mnist")
    return dataclasses.replace(ds, files=tuple(s for s in ds.files if s.name in names))


def mnist_mirror(tmp_path: Path, real_mirror: Path, name: str, data: bytes) -> Path:
    """A mirror whose mnist/<name> holds `data` (bytes of a .gz)."""
    m = tmp_path / "mirror"
    (m / "mnist").mkdir(parents=True)
    (m / "mnist" / name).write_bytes(data)
    return m


def test_full_mnist_from_the_mirror_is_verified_by_its_decompressed_payload(tmp_path, mirror):
    dest = tmp_path / "raw" / "mnist"
    sources = fetch.fetch(registry.get("mnist"), dest, mirror=mirror, offline=True)
    assert set(sources) == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}
    assert all(s.startswith(f"mirror {mirror / 'mnist'}") for s in sources.values())
    manifest = json.loads((dest / "MANIFEST.json").read_text())
    for spec in registry.get("mnist").files:
        # stored as served; verified by the decompressed bytes (the mirror README's hashes)
        assert (dest / spec.name).read_bytes() == (mirror / "mnist" / spec.name).read_bytes()
        assert hashlib.sha256(gzip.decompress((dest / spec.name).read_bytes())).hexdigest() \
            == spec.payload_sha256
        assert manifest["files"][spec.name] == {"payload_sha256": spec.payload_sha256}
    x = mnist.read_idx(dest / "train-images-idx3-ubyte.gz")
    assert x.shape == (60000, 28, 28)


def test_recompressed_copy_with_the_same_payload_is_accepted_from_mirror_and_download(tmp_path, mirror):
    name = "t10k-labels-idx1-ubyte.gz"
    original = (mirror / "mnist" / name).read_bytes()
    again = gzip.compress(gzip.decompress(original), compresslevel=1, mtime=12345)
    assert again != original
    m = mnist_mirror(tmp_path, mirror, name, again)
    fetch.fetch(mnist_files(name), tmp_path / "a", mirror=m, offline=True)
    assert (tmp_path / "a" / name).read_bytes() == again
    # the canonical-download path, served from a file:// URL (no network needed)
    ds = mnist_files(name)
    ds = dataclasses.replace(ds, files=(dataclasses.replace(
        ds.files[0], mirror=None, urls=((m / "mnist" / name).as_uri(),)),))
    sources = fetch.fetch(ds, tmp_path / "b", mirror=None, offline=False)
    assert sources[name].startswith("file://")
    assert (tmp_path / "b" / name).read_bytes() == again


def test_altered_payload_is_refused_naming_the_file_and_both_hashes(tmp_path, mirror):
    name = "t10k-labels-idx1-ubyte.gz"
    payload = bytearray(gzip.decompress((mirror / "mnist" / name).read_bytes()))
    payload[100] ^= 1                                   # one label byte changed
    m = mnist_mirror(tmp_path, mirror, name, gzip.compress(bytes(payload), mtime=0))
    dest = tmp_path / "raw" / "mnist"
    with pytest.raises(DataError) as exc:
        fetch.fetch(mnist_files(name), dest, mirror=m, offline=True)
    msg = str(exc.value)
    assert "\n" not in msg
    assert msg.startswith(f"{name}: sha256 of the decompressed payload mismatch from mirror")
    assert mnist_files(name).files[0].payload_sha256 in msg              # expected
    assert hashlib.sha256(payload).hexdigest() in msg                   # actual
    assert list((tmp_path / "raw").iterdir()) == []                     # nothing behind


@pytest.mark.parametrize("cut", [0.5, -4])  # half the stream; only the trailer's size field
def test_truncated_gz_is_refused(tmp_path, mirror, cut):
    name = "t10k-images-idx3-ubyte.gz"
    data = (mirror / "mnist" / name).read_bytes()
    m = mnist_mirror(tmp_path, mirror, name, data[:int(len(data) * cut)] if cut > 0 else data[:cut])
    with pytest.raises(DataError) as exc:
        fetch.fetch(mnist_files(name), tmp_path / "raw" / "mnist", mirror=m, offline=True)
    msg = str(exc.value)
    expected = mnist_files(name).files[0].payload_sha256
    assert "\n" not in msg and msg.startswith(f"{name}: sha256 of the decompressed payload mismatch")
    assert f"expected {expected}, got " in msg and "not a complete gzip stream" in msg
    assert re.search(r"got [0-9a-f]{64} \(size \d+ bytes, \d+ decompressed", msg)  # actual
    assert list((tmp_path / "raw").iterdir()) == []
