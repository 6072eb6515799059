"""The fetch stage: verified sources, refusal of bad files, nothing left behind."""

import shutil
from pathlib import Path

import pytest

from reprozoo.data import fetch, registry
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
