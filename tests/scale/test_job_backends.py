"""Choosing the job backend and the job DB's journal mode from the environment."""

import sqlite3

import pytest

from services.celery_jobs import job_backend, redis_url
from services.jobs import JobStore


def test_backend_defaults_to_local_and_names_bad_values(monkeypatch):
    monkeypatch.delenv("MISCOPE_JOBS", raising=False)
    assert job_backend() == "local"
    monkeypatch.setenv("MISCOPE_JOBS", " Celery ")
    assert job_backend() == "celery"
    monkeypatch.setenv("MISCOPE_JOBS", "rq")
    with pytest.raises(
        ValueError, match=r"MISCOPE_JOBS must be one of \['local', 'celery'\], got 'rq'"
    ):
        job_backend()


def test_redis_url_must_be_a_redis_url(monkeypatch):
    monkeypatch.setenv("MISCOPE_REDIS_URL", "redis://queue.lab:6380/2")
    assert redis_url() == "redis://queue.lab:6380/2"
    monkeypatch.setenv("MISCOPE_REDIS_URL", "http://queue.lab")
    with pytest.raises(ValueError, match="MISCOPE_REDIS_URL must be a redis:// URL"):
        redis_url()


@pytest.mark.parametrize(("setting", "expected"), [(None, "wal"), ("delete", "delete")])
def test_job_db_journal_mode_follows_the_environment(tmp_path, monkeypatch, setting, expected):
    if setting:
        monkeypatch.setenv("MISCOPE_JOB_DB_JOURNAL", setting)
    else:
        monkeypatch.delenv("MISCOPE_JOB_DB_JOURNAL", raising=False)
    JobStore(tmp_path / "jobs.sqlite")
    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == expected
    db.close()


def test_bad_journal_mode_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("MISCOPE_JOB_DB_JOURNAL", "memory")
    with pytest.raises(ValueError, match="MISCOPE_JOB_DB_JOURNAL must be one of"):
        JobStore(tmp_path / "jobs.sqlite")
